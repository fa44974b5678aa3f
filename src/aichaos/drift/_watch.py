"""``watch``: probe a live system on an interval, store each run, alarm on degradation.

Every iteration runs a small probe set (the first ``sample`` golden cases through the
capability suite, no steady-state hypothesis, no faults) with the standard :class:`Runner`
and :class:`ResultStore`, so each iteration is an ordinary stored run (``aichaos compare``
works on them). Per iteration it reduces the cases to the quality figures of
``aichaos.drift._quality`` (latency, pass, error, refusal and hallucination rates, answer
score, output length, and a bias disparity when the run stores one) and feeds each to a
Page-Hinkley detector whose threshold is calibrated by simulation on that metric's own
warm-up (``aichaos.drift._calibrate``), the family-wise false-alarm rate
``false_alarm_rate`` over ``horizon`` iterations split across the watched metrics (Šidák).
An alarm is POSTed as JSON to the webhook and makes the exit code 1; ``report`` is an HTML
page with a trend chart per metric and the change points found (``aichaos.drift.
_watch_report``), rewritten after every iteration.

Its own Prometheus metrics are served on ``metrics_listen`` (loopback by default):
``aichaos_watch_iterations_total``, ``aichaos_watch_requests_total{outcome}``,
``aichaos_watch_latency_seconds`` (histogram of request latency), ``aichaos_watch_pass_rate``,
``aichaos_watch_error_rate``, ``aichaos_watch_mean_latency_seconds``,
``aichaos_watch_metric{metric}`` (each tracked figure of the last iteration),
``aichaos_watch_page_hinkley{metric}`` and ``aichaos_watch_alarms_total{metric}``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from aichaos.config import CapabilityLayer, Experiment, Layers
from aichaos.dataset import Case, load_dataset
from aichaos.drift._calibrate import sidak
from aichaos.drift._quality import TRACKED, CaseValues, MetricDetector, iteration_values, mean
from aichaos.drift._watch_report import write_watch_report
from aichaos.errors import ConfigError, TargetError
from aichaos.runner import CaseObserved, CaseResult, EventBus
from aichaos.session import arun_experiment
from aichaos.store import ResultStore

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class IterationStats:
    """One watch iteration: its stored run and the figures fed to the detectors
    (``values``: every tracked metric that had a value, ``aichaos.drift._quality``)."""

    iteration: int
    run_id: str
    cases: int
    latency_s: float | None
    pass_rate: float | None
    error_rate: float
    alarms: tuple[str, ...] = ()
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alarm:
    """A Page-Hinkley alarm: which metric, at which iteration and run, with what value;
    ``change_iteration`` is the last iteration before the change (Hinkley 1971's estimate)
    and ``threshold`` the calibrated threshold (sigmas) that was crossed."""

    metric: str
    iteration: int
    run_id: str
    value: float
    direction: str
    experiment: str
    time_s: float
    change_iteration: int | None = None
    threshold: float | None = None


@dataclass(slots=True)
class WatchOutcome:
    """What a watch did: every iteration, every alarm, webhook delivery failures."""

    iterations: list[IterationStats] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    webhook_errors: list[str] = field(default_factory=list)
    thresholds: dict[str, float | None] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    per_metric_alpha: float | None = None

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
        self.metric = Gauge("aichaos_watch_metric", "each tracked figure of the last "
                            "iteration", ["metric"], registry=r)
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


def _stats(iteration: int, run_id: str, n: int, values: dict[str, CaseValues]
           ) -> IterationStats:
    means = {m: mean(v) for m, v in values.items()}
    return IterationStats(iteration, run_id, n, means.get("latency_s"), means.get("pass_rate"),
                          means.get("error_rate", 0.0 if n else 1.0), (), means)


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
    threshold: float | None = None,
    false_alarm_rate: float = 0.05,
    horizon: int = 50,
    report: str | Path | None = None,
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
        warmup: Page-Hinkley warm-up length (iterations); the thresholds are calibrated
            on it.
        threshold: a fixed Page-Hinkley threshold (sigmas) for every metric instead of the
            calibrated ones (None: calibrate).
        false_alarm_rate: family-wise probability of any false alarm over ``horizon``
            iterations after warm-up, across every watched metric.
        horizon: iterations the false-alarm rate is controlled over.
        report: path of the HTML trend report, rewritten after every iteration (None: off).
        cases: golden cases (default: loaded from ``experiment.dataset``).
        on_iteration: called after each iteration with its stats and the metrics.

    Raises:
        ConfigError: bad experiment, dataset, option or metrics address.
        TargetUnreachable: nothing answers at the target on the first iteration.
    """
    if iterations < 0 or interval_s < 0 or sample < 1:
        raise ConfigError("need --iterations >= 0, --interval >= 0 and --sample >= 1")
    if not 0.0 < false_alarm_rate < 1.0 or horizon < 1 or warmup < 2:
        raise ConfigError(f"need 0 < --false-alarm-rate < 1 (got {false_alarm_rate}), "
                          f"--horizon >= 1 (got {horizon}) and --warmup >= 2 (got {warmup})")
    if threshold is not None and threshold <= 0:
        raise ConfigError(f"--threshold: expected a positive number of sigmas, got {threshold}")
    probe = probe_experiment(experiment, sample)
    if cases is None:
        if not probe.dataset:
            raise ConfigError("dataset: required field is missing (a golden dataset path)")
        cases = load_dataset(probe.dataset)
    watcher = _Watcher(warmup, threshold, false_alarm_rate, horizon, seed=experiment.runtime.seed)
    metrics = WatchMetrics()
    if metrics_listen:
        log.info("watch metrics on %s", metrics.serve(metrics_listen))
    outcome = WatchOutcome()
    try:
        i = 0
        while iterations == 0 or i < iterations:
            i += 1
            started = time.monotonic()
            stats = await _iteration(i, probe, store, cases, watcher, metrics, webhook,
                                     outcome)
            outcome.iterations.append(stats)
            if report is not None:
                write_watch_report(outcome, probe.title, report, warmup=warmup)
            if on_iteration is not None:
                maybe = on_iteration(stats, metrics)
                if inspect.isawaitable(maybe):
                    await maybe
            if iterations == 0 or i < iterations:
                await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    finally:
        metrics.stop()
    return outcome


class _Watcher:
    """The detectors of one watch, created from the first iteration's metrics."""

    def __init__(self, warmup: int, threshold: float | None, alpha: float, horizon: int,
                 seed: int) -> None:
        self.warmup, self.threshold, self.alpha, self.horizon = warmup, threshold, alpha, horizon
        self.seed = seed
        self.detectors: dict[str, MetricDetector] | None = None

    def feed(self, i: int, values: dict[str, CaseValues], outcome: WatchOutcome
             ) -> list[tuple[str, str, int]]:
        if self.detectors is None:
            per_metric = sidak(self.alpha, len(values))
            outcome.per_metric_alpha = per_metric
            self.detectors = {m: MetricDetector(m, self.warmup, per_metric, self.horizon,
                                                self.threshold, seed=self.seed)
                              for m in TRACKED if m in values}
            outcome.skipped = [m for m in TRACKED if m not in values]
        fired = []
        for name, detector in self.detectors.items():
            if name in values:
                hit = detector.update(i, values[name])
                if hit is not None:
                    fired.append((name, *hit))
            outcome.thresholds[name] = detector.calibrated
        return fired


async def _iteration(i: int, probe: Experiment, store: ResultStore, cases: list[Case],
                     watcher: _Watcher, metrics: WatchMetrics,
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
        values: dict[str, CaseValues] = {"error_rate": {"all": 1.0}}
        stats = _stats(i, run_id, 0, values)
        metrics.iterations.inc()
    else:
        run_id = run.run_id
        metrics.observe(results)
        row = store.run(run_id)
        hallucination = any(c.context for c in cases) and await asyncio.to_thread(
            _hallucination_available)
        values = await asyncio.to_thread(  # embeddings: off the event loop
            iteration_values, results, cases, row["scorecard"] if row else None,
            hallucination=hallucination)
        stats = _stats(i, run_id, len(results), values)
    alarms = []
    for name, direction, change in watcher.feed(i, values, outcome):
        metrics.alarms.labels(name).inc()
        alarm = Alarm(name, i, run_id, stats.values[name], direction, probe.title,
                      time.time(), change, outcome.thresholds.get(name))
        outcome.alarms.append(alarm)
        alarms.append(name)
        if webhook:
            await _post(webhook, {"event": "aichaos.degradation", **asdict(alarm)}, outcome)
    assert watcher.detectors is not None
    for name, detector in watcher.detectors.items():
        metrics.statistic.labels(name).set(detector.statistic)
    for name, value in stats.values.items():
        metrics.metric.labels(name).set(value)
    metrics.pass_rate.set(stats.pass_rate if stats.pass_rate is not None else float("nan"))
    metrics.error_rate.set(stats.error_rate)
    metrics.mean_latency.set(stats.latency_s if stats.latency_s is not None else float("nan"))
    return replace(stats, alarms=tuple(alarms))


@functools.lru_cache(maxsize=1)
def _hallucination_available() -> bool:
    """The hallucination detector needs the sentence-embedding model (aichaos[semantic])."""
    from aichaos.errors import PluginError
    from aichaos.scoring import embedding_model

    try:
        embedding_model()
    except PluginError:
        log.warning("watch: hallucination_rate not tracked (no sentence-embedding model)")
        return False
    return True
