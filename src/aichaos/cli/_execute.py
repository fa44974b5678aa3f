"""Run an experiment with the standard listeners (store, console, reports) attached."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from rich.console import Console

from aichaos.cli._console import ConsoleProgress
from aichaos.cli._traffic_watch import TrafficWatch
from aichaos.config import Experiment
from aichaos.dataset import Case
from aichaos.report._writer import ReportWriter
from aichaos.runner import EventBus, Runner, RunOutcome
from aichaos.store import ResultStore, default_url
from aichaos.targets import Target


def secrets_of(experiment: Experiment) -> list[str]:
    """Literal secret values configured in the experiment (masked everywhere they appear)."""
    key = getattr(experiment.target, "api_key", None)
    return [key.get_secret_value()] if key is not None else []


async def _run_cancellable(runner: Runner) -> RunOutcome:
    """Run with SIGTERM (and SIGINT) cancelling the run task, so rollbacks still run."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        # not available off the main thread or on some platforms: Ctrl-C still cancels
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, task.cancel)
    try:
        return await runner.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def execute(
    experiment: Experiment,
    console: Console,
    *,
    results_dir: Path | None = None,
    target: Target | None = None,
    cases: list[Case] | None = None,
    quiet: bool = False,
    proxy_control: str | None = None,
    watch_traffic: bool = False,
) -> tuple[RunOutcome, Path]:
    """Run ``experiment`` with store, console progress and report writer listening.

    ``proxy_control`` (``host:port``) serves the chaos proxies' control API during the run
    and prints its address; ``watch_traffic`` also prints every proxied request.

    Returns:
        (outcome, directory holding journal.json and the reports).

    Raises:
        ConfigError, TargetUnreachable, StoreError: bad input (nothing was sent).
    """
    results = Path(results_dir or experiment.report.dir)
    bus = EventBus()
    store = ResultStore(experiment.store.url or default_url(results),
                        mask=experiment.store.mask_pii, secrets=secrets_of(experiment))
    store.attach(bus)
    formats = [f for f in experiment.report.formats if not (quiet and f == "terminal")]
    writer = ReportWriter(results, formats, console)
    writer.attach(bus)
    tracer = None
    if experiment.runtime.otlp_endpoint:
        from aichaos.telemetry import RunTracer

        tracer = RunTracer(experiment.runtime.otlp_endpoint)
        tracer.attach(bus)
    runner = Runner(experiment, bus, target=target, cases=cases, proxy_control=proxy_control)
    progress = ConsoleProgress(console)
    progress.attach(bus)
    watch = TrafficWatch(console, follow=watch_traffic)
    watch.attach(bus)
    try:
        with progress:
            outcome = asyncio.run(_run_cancellable(runner))
    finally:
        watch.close()
        store.close()
        if tracer is not None:
            tracer.shutdown()
    return outcome, results / outcome.run_id
