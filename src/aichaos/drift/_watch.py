"""``watch``: probe a live system on an interval, store each run, alarm on degradation.

Every iteration runs a small probe set (the first ``sample`` golden cases through the
capability suite, no steady-state hypothesis, no faults) with the standard :class:`Runner`
and :class:`ResultStore`, so each iteration is an ordinary stored run (``aichaos compare``
works on them). Per iteration it reduces the cases to three figures (mean latency of the
answered requests in seconds, pass rate, error rate) and feeds each to a Page-Hinkley
detector (latency and errors: increases; pass rate: decreases). An alarm is POSTed as JSON to
the webhook and makes the exit code 1.

Its own Prometheus metrics are served on ``metrics_listen`` (loopback by default):
``aichaos_watch_iterations_total``, ``aichaos_watch_requests_total{outcome}``,
``aichaos_watch_latency_seconds`` (histogram of request latency), ``aichaos_watch_pass_rate``,
``aichaos_watch_error_rate``, ``aichaos_watch_mean_latency_seconds``,
``aichaos_watch_page_hinkley{metric}`` and ``aichaos_watch_alarms_total{metric}``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from aichaos.config import CapabilityLayer, Experiment, Layers
from aichaos.dataset import Case, load_dataset
from aichaos.drift._pagehinkley import PageHinkley
from aichaos.errors import ConfigError, TargetError
from aichaos.runner import CaseObserved, CaseResult, EventBus
from aichaos.session import arun_experiment
from aichaos.store import ResultStore

log = logging.getLogger(__name__)

#: metric -> (direction, sigma floor in the metric's unit)
DETECTED: dict[str, tuple[str, float]] = {
    "latency_s": ("up", 0.02),
    "pass_rate": ("down", 0.05),
    "error_rate": ("up", 0.05),
}


@dataclass(frozen=True, slots=True)
class IterationStats:
    """One watch iteration: its stored run and the figures fed to the detectors."""

    iteration: int
    run_id: str
    cases: int
    latency_s: float | None
    pass_rate: float | None
    error_rate: float
    alarms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Alarm:
    """A Page-Hinkley alarm: which metric, at which iteration and run, with what value."""

    metric: str
    iteration: int
    run_id: str
    value: float
    direction: str
    experiment: str
    time_s: float


@dataclass(slots=True)
class WatchOutcome:
    """What a watch did: every iteration, every alarm, webhook delivery failures."""

    iterations: list[IterationStats] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    webhook_errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when any alarm was raised, else 0."""
        return 1 if self.alarms else 0


class WatchMetrics:
    """The watcher's own Prometheus metrics on a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.iterations = Counter("aichaos_watch_iterations", "watch iterations run",
                                  registry=r)
        self.requests = Counter("aichaos_watch_requests", "probe requests sent",
                                ["outcome"], registry=r)
        self.latency = Histogram("aichaos_watch_latency_seconds",
                                 "E2E latency of answered probe requests, seconds", registry=r,
                                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
        self.pass_rate = Gauge("aichaos_watch_pass_rate", "pass rate of the last iteration",
                               registry=r)
        self.error_rate = Gauge("aichaos_watch_error_rate", "error rate of the last iteration",
                                registry=r)
        self.mean_latency = Gauge("aichaos_watch_mean_latency_seconds",
                                  "mean latency of the last iteration, seconds", registry=r)
        self.statistic = Gauge("aichaos_watch_page_hinkley", "Page-Hinkley statistic, sigmas",
                               ["metric"], registry=r)
        self.alarms = Counter("aichaos_watch_alarms", "Page-Hinkley alarms", ["metric"],
                              registry=r)
        self._server: Any = None
        self.url: str | None = None

    def serve(self, listen: str) -> str:
        """Serve ``/metrics`` on ``host:port`` (port 0 = free port); returns the URL.

        Raises:
            ConfigError: bad address or port in use.
        """
        host, sep, port = listen.rpartition(":")
        if not sep or not port.isdigit():
            raise ConfigError(f"--metrics-listen: expected host:port, got {listen!r}")
        try:
            self._server, _thread = start_http_server(int(port), addr=host,
                                                      registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"--metrics-listen: cannot listen on {listen}: "
                              f"{exc.strerror or exc}") from exc
        self.url = f"http://{host}:{self._server.server_port}/metrics"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def observe(self, results: list[CaseResult]) -> None:
        self.iterations.inc()
        for r in results:
            self.requests.labels("error" if r.error_class else "ok").inc()
            if not r.error_class and r.e2e_s is not None:
                self.latency.observe(r.e2e_s)


def probe_experiment(experiment: Experiment, sample: int) -> Experiment:
    """The experiment reduced to a watch probe: the first ``sample`` golden cases through the
    capability suite; no hypothesis, no other layers, no dependencies (no faults)."""
    capability = experiment.layers.capability or CapabilityLayer()
    probe = experiment.model_copy(deep=True)
    probe.layers = Layers(capability=capability.model_copy(update={"limit": sample,
                                                                    "enabled": True}))
    probe.steady_state_hypothesis = None
    probe.dependencies = {}
    return probe


def _stats(iteration: int, run_id: str, results: list[CaseResult]) -> IterationStats:
    n = len(results)
    ok = [r.e2e_s for r in results if not r.error_class and r.e2e_s is not None]
    scored = [r.passed for r in results if r.passed is not None]
    return IterationStats(
        iteration, run_id, n, sum(ok) / len(ok) if ok else None,
        sum(scored) / len(scored) if scored else None,
        sum(1 for r in results if r.error_class) / n if n else 0.0,
    )


async def _post(url: str, payload: dict[str, Any], outcome: WatchOutcome) -> None:
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            r = await client.post(url, json=payload)
        if r.status_code >= 300:
            outcome.webhook_errors.append(f"webhook answered HTTP {r.status_code}")
    except httpx.HTTPError as exc:
        outcome.webhook_errors.append(f"webhook failed: {type(exc).__name__}: {exc}")


async def watch(
    experiment: Experiment,
    store: ResultStore,
    *,
    iterations: int = 0,
    interval_s: float = 60.0,
    sample: int = 4,
    webhook: str | None = None,
    metrics_listen: str | None = "127.0.0.1:9464",
    warmup: int = 10,
    threshold: float = 8.0,
    cases: list[Case] | None = None,
    on_iteration: Callable[[IterationStats, WatchMetrics], Awaitable[None] | None] | None = None,
) -> WatchOutcome:
    """Probe the experiment's target every ``interval_s`` seconds and detect degradation.

    Args:
        experiment: the experiment whose target and golden cases are used.
        store: where each iteration's run is stored.
        iterations: iterations to run; 0 = until cancelled.
        interval_s: seconds between iteration starts.
        sample: golden cases per iteration.
        webhook: URL receiving a JSON POST per alarm (``{"event": "aichaos.degradation",
            ...}``).
        metrics_listen: ``host:port`` for the watcher's own ``/metrics``; None = off.
        warmup, threshold: Page-Hinkley warm-up length (iterations) and threshold (sigmas).
        cases: golden cases (default: loaded from ``experiment.dataset``).
        on_iteration: called after each iteration with its stats and the metrics.

    Raises:
        ConfigError: bad experiment, dataset, option or metrics address.
        TargetUnreachable: nothing answers at the target on the first iteration.
    """
    if iterations < 0 or interval_s < 0 or sample < 1:
        raise ConfigError("need --iterations >= 0, --interval >= 0 and --sample >= 1")
    probe = probe_experiment(experiment, sample)
    if cases is None:
        if not probe.dataset:
            raise ConfigError("dataset: required field is missing (a golden dataset path)")
        cases = load_dataset(probe.dataset)
    detectors = {m: PageHinkley(direction=d, warmup=warmup, threshold=threshold,
                                sigma_floor=floor) for m, (d, floor) in DETECTED.items()}
    metrics = WatchMetrics()
    if metrics_listen:
        log.info("watch metrics on %s", metrics.serve(metrics_listen))
    outcome = WatchOutcome()
    try:
        i = 0
        while iterations == 0 or i < iterations:
            i += 1
            started = time.monotonic()
            stats = await _iteration(i, probe, store, cases, detectors, metrics, webhook,
                                     outcome)
            outcome.iterations.append(stats)
            if on_iteration is not None:
                maybe = on_iteration(stats, metrics)
                if inspect.isawaitable(maybe):
                    await maybe
            if iterations == 0 or i < iterations:
                await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    finally:
        metrics.stop()
    return outcome


async def _iteration(i: int, probe: Experiment, store: ResultStore, cases: list[Case],
                     detectors: dict[str, PageHinkley], metrics: WatchMetrics,
                     webhook: str | None, outcome: WatchOutcome) -> IterationStats:
    bus = EventBus()
    results: list[CaseResult] = []
    bus.subscribe(CaseObserved, lambda e: results.append(e.result))
    try:
        run = (await arun_experiment(probe, cases=cases, store=store, bus=bus, reports=False,
                                     progress=False)).outcome
    except TargetError:
        if i == 1:  # unreachable from the start: bad input, not a degradation
            raise
        run_id = ""  # the target went away mid-watch: every request of this iteration failed
        stats = IterationStats(i, run_id, 0, None, None, 1.0)
        metrics.iterations.inc()
    else:
        run_id = run.run_id
        metrics.observe(results)
        stats = _stats(i, run_id, results)
    alarms = []
    for name, detector in detectors.items():
        value = getattr(stats, name)
        if value is None:
            continue
        fired = detector.update(float(value))
        metrics.statistic.labels(name).set(detector.statistic)
        if fired:
            metrics.alarms.labels(name).inc()
            alarm = Alarm(name, i, run_id, float(value), detector.direction, probe.title,
                          time.time())
            outcome.alarms.append(alarm)
            alarms.append(name)
            if webhook:
                await _post(webhook, {"event": "aichaos.degradation", **asdict(alarm)}, outcome)
    metrics.pass_rate.set(stats.pass_rate if stats.pass_rate is not None else float("nan"))
    metrics.error_rate.set(stats.error_rate)
    metrics.mean_latency.set(stats.latency_s if stats.latency_s is not None else float("nan"))
    return IterationStats(stats.iteration, stats.run_id, stats.cases, stats.latency_s,
                          stats.pass_rate, stats.error_rate, tuple(alarms))
