"""Run an experiment with the standard listeners (store, reports, tracer, console) attached.

The library's counterpart of chaostoolkit-lib's ``run_experiment``: the CLI, the demo and
``watch`` call it, and so can a pytest plugin or a notebook. It loads the experiment when
given a path, opens the results store, attaches the listeners to a fresh event bus, runs the
:class:`aichaos.runner.Runner` with SIGINT/SIGTERM cancelling the run (rollbacks still run),
and closes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from aichaos._events import CaseResult, EventBus, RunStarted
from aichaos.config import Experiment, load_experiment
from aichaos.dataset import Case, load_dataset
from aichaos.errors import AIChaosError, ConfigError
from aichaos.probes import RESUMABLE_LAYERS
from aichaos.report import ReportWriter
from aichaos.results import LAYERS
from aichaos.runner import Runner, RunOutcome, secrets_of
from aichaos.session._estimate import estimate_run, latency_guess, print_estimate
from aichaos.session._progress import ConsoleProgress
from aichaos.session._traffic import TrafficWatch
from aichaos.store import ResultStore, case_result, default_url
from aichaos.targets import Target


@dataclass(slots=True)
class ExperimentRun:
    """What :func:`run_experiment` produced.

    Attributes:
        outcome: the run's journal, scorecard and exit code.
        directory: ``<results_dir>/<run_id>``, holding journal.json and the reports.
        reports: format name -> file written (``journal`` included).
        resumed: stored cases reused instead of sent (0 unless ``resume`` was given).
    """

    outcome: RunOutcome
    directory: Path
    reports: dict[str, Path] = field(default_factory=dict)
    resumed: int = 0


def select_layers(experiment: Experiment, names: Sequence[str]) -> list[str]:
    """Validate a ``--layer`` selection against the experiment's enabled layers.

    Args:
        experiment: the experiment.
        names: layer keys (``capability``, ``safety``, ...) or numbers (``1``..``6``).

    Returns:
        the layer keys, in stack order.

    Raises:
        ConfigError: a name is not a layer, or names a layer the experiment does not enable.
    """
    keys = {key: number for number, (key, _) in LAYERS.items()}
    by_number = {str(number): key for number, (key, _) in LAYERS.items()}
    chosen: set[str] = set()
    for raw in names:
        name = raw.strip().lower().replace("-", "_")
        key = by_number.get(name, name)
        if key not in keys:
            raise ConfigError(f"--layer: unknown layer {raw!r} (expected one of "
                              f"{', '.join(keys)}, or 1-6)")
        config = getattr(experiment.layers, key)
        if config is None or not getattr(config, "enabled", True):
            where = experiment.source or "the experiment"
            raise ConfigError(f"--layer: {key} is not enabled in {where}")
        chosen.add(key)
    if not chosen:
        raise ConfigError("--layer: expected at least one layer name")
    return sorted(chosen, key=keys.__getitem__)


def _stored_for_resume(store: ResultStore, run_id: str, experiment: Experiment
                       ) -> tuple[list[CaseResult], list[int]]:
    """The stored cases a resumed run reuses, and the row ids of the others (their layers, or
    their masked text, are measured again; the session deletes them once the run starts).

    Raises:
        ConfigError: no such run, a run of another experiment, or a completed run.
    """
    row = store.run(run_id)
    if row is None:
        raise ConfigError(f"--resume {run_id}: no such run in the results store")
    if row["title"] != experiment.title:
        raise ConfigError(f"--resume {run_id}: that run is of {row['title']!r}, not of "
                          f"{experiment.title!r}")
    if row["status"] == "completed":
        raise ConfigError(f"--resume {run_id}: the run completed; nothing to resume")
    keep: list[CaseResult] = []
    drop: list[int] = []
    for stored in store.cases(run_id):
        result = case_result(stored)
        if stored["layer"] in RESUMABLE_LAYERS and not result.metadata.get("stored_masked"):
            keep.append(result)
        else:
            drop.append(int(stored["id"]))
    return keep, drop


def _print_estimate(console: Console, exp: Experiment, store: ResultStore,
                    cases: list[Case] | None, layers: list[str] | None) -> None:
    """Print the pre-run estimate (:mod:`aichaos.session._estimate`); a bad dataset or layer
    is left for the runner to report, in its own words."""
    try:
        golden = cases if cases is not None else load_dataset(exp.dataset) if exp.dataset \
            else None
        if golden is None:
            return
        latency, source = latency_guess(store, exp.title)
        print_estimate(console, estimate_run(exp, golden, layers, latency_s=latency,
                                             latency_source=source))
    except AIChaosError:
        return


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


async def arun_experiment(
    experiment: Experiment | str | Path,
    *,
    results_dir: str | Path | None = None,
    target: Target | None = None,
    cases: list[Case] | None = None,
    quiet: bool = False,
    console: Console | None = None,
    layers: Sequence[str] | None = None,
    resume: str | None = None,
    store: ResultStore | None = None,
    bus: EventBus | None = None,
    reports: bool = True,
    progress: bool = True,
    handle_signals: bool = False,
    proxy_control: str | None = None,
    watch_traffic: bool = False,
) -> ExperimentRun:
    """:func:`run_experiment` inside a running event loop (``aichaos watch`` runs one per
    iteration).

    Args beyond :func:`run_experiment`'s:
        store: an open store to write to; the caller keeps and closes it (default: the
            experiment's, opened and closed here).
        bus: the event bus to publish on, with the caller's own listeners (default: new).
        reports: write the journal and the report files.
        progress: show console progress (bars and one line per step).
        handle_signals: SIGINT/SIGTERM cancel the run (rollbacks still run); only from the
            main thread.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    console = console or Console()
    chosen = select_layers(exp, layers) if layers is not None else None
    results = Path(results_dir or exp.report.dir)
    bus = bus or EventBus()
    own_store = store is None
    if store is None:
        store = ResultStore(exp.store.url or default_url(results), mask=exp.store.mask_pii,
                            secrets=secrets_of(exp))
    tracer = None
    writer = None
    watch: TrafficWatch | None = None
    try:
        stored = None
        if resume is not None:
            stored, stale = _stored_for_resume(store, resume, exp)
            opened, run_id = store, resume

            def drop_stale(_: RunStarted) -> None:
                # once the target answered and the run began: a resume that cannot start
                # loses nothing
                opened.delete_cases(run_id, stale)

            bus.subscribe(RunStarted, drop_stale)
        store.attach(bus)
        if reports:
            formats = [f for f in exp.report.formats if not (quiet and f == "terminal")]
            writer = ReportWriter(results, formats, console)
            writer.attach(bus)
        if exp.runtime.otlp_endpoint:
            from aichaos.telemetry import RunTracer

            tracer = RunTracer(exp.runtime.otlp_endpoint)
            tracer.attach(bus)
        runner = Runner(exp, bus, target=target, cases=cases, run_id=resume, layers=chosen,
                        resume=stored, proxy_control=proxy_control)
        if progress:
            _print_estimate(console, exp, store, cases, chosen)
        watch = TrafficWatch(console, follow=watch_traffic)
        watch.attach(bus)
        run = _run_cancellable(runner) if handle_signals else runner.run()
        if progress:
            bars = ConsoleProgress(console)
            bars.attach(bus)
            with bars:
                outcome = await run
        else:
            outcome = await run
    finally:
        if watch is not None:
            watch.close()
        if own_store:
            store.close()
        if tracer is not None:
            tracer.shutdown()
    reused = runner.stored.taken if runner.stored is not None else 0
    return ExperimentRun(outcome, results / outcome.run_id,
                         writer.written if writer is not None else {}, reused)


def run_experiment(
    experiment: Experiment | str | Path,
    *,
    results_dir: str | Path | None = None,
    target: Target | None = None,
    cases: list[Case] | None = None,
    quiet: bool = False,
    console: Console | None = None,
    layers: Sequence[str] | None = None,
    resume: str | None = None,
    proxy_control: str | None = None,
    watch_traffic: bool = False,
) -> ExperimentRun:
    """Run an experiment with store, report writer, tracer and console progress listening.

    SIGINT and SIGTERM cancel the run (when called from the main thread): rollbacks still
    run, the journal says ``interrupted``, and what was measured is stored.

    Args:
        experiment: a validated experiment, or the path of its YAML file.
        results_dir: where the store (``aichaos.db``) and the run directories go (default:
            the experiment's ``report.dir``).
        target: an already-built target (tests, demo); built from the experiment otherwise.
        cases: golden cases; loaded from the experiment's dataset otherwise.
        quiet: skip the terminal report (progress lines still print).
        console: where progress and the terminal report go (default: a new stdout console).
        layers: layer keys or numbers to run (a subset of the enabled ones; see
            :func:`select_layers`); None runs every enabled layer.
        resume: the id of an interrupted run to continue: the run keeps that id, and every
            case it already stored in a resumable layer is reused, not sent again.
        proxy_control: ``host:port`` (loopback) where the run's chaos proxies serve their
            control API, printed at start (:func:`control_address` turns the CLI flags into
            it); None for none.
        watch_traffic: also print every request the proxies see while the run works.

    Returns:
        The :class:`ExperimentRun` (outcome and results directory).

    Raises:
        ConfigError: bad experiment, dataset, layer selection or resume id (nothing sent).
        TargetUnreachable: nothing answers at the target (nothing was sent).
        StoreError: the results store cannot be opened or written.
    """
    return asyncio.run(arun_experiment(
        experiment, results_dir=results_dir, target=target, cases=cases, quiet=quiet,
        console=console, layers=layers, resume=resume, handle_signals=True,
        proxy_control=proxy_control, watch_traffic=watch_traffic))
