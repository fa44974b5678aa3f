"""Resource growth per request (layer 6): memory, open files and threads over a bounded series.

The probe samples the system under test before, during (after every ``sample_every``
requests) and after a bounded series of ``requests`` requests, from one of two sources:

* a local process by PID, with psutil: RSS and VMS (``memory_info``), PSS, USS and swap
  (``memory_full_info``, Linux ``/proc/PID/smaps_rollup``), open file descriptors and threads;
* the target's Prometheus endpoint, with the names prometheus_client's process collector
  uses: ``process_resident_memory_bytes``, ``process_virtual_memory_bytes`` and
  ``process_open_fds`` (no threads, PSS or swap there).

A leak can hide from RSS (untouched anonymous mappings grow only VMS; pages swapped out leave
RSS and show in swap), so every figure the source has is fitted on its own.

Statistics: for each figure, the slope of value against requests completed, over the samples
taken after ``warmup_requests`` (allocators, caches and pools fill first), is estimated with
the Theil–Sen estimator and its 95 % interval (Sen 1968; ``scipy.stats.theilslopes``, whose
interval is Sen's distribution-free one), reported per 1,000 requests (MiB for memory, count
for descriptors and threads). The same slope over the first and the last half of the
post-warm-up samples, *head* and *tail*, says whether growth flattened: a leak is linear in
requests (each one leaves the same residue), a warm-up is concave (pools and caches fill, then
stop). Verdict against the declared allowance ``A``:

* ``grows`` (fail, decided): the interval's low end is above ``A``, head and tail are above
  ``A`` and the tail is at least half the head: growth per request, steady across the
  window, that did not flatten after warm-up (growth in the last half only, an allocator
  step, is ``open``);
* ``slowing`` (passed, undecided): the interval is above ``A`` but the tail is at most ``A``
  or less than half the head: still warming up; raise ``warmup_requests`` to decide;
* ``flat`` (pass, decided): the interval's high end is at most ``A``;
* ``open`` (passed, undecided): the interval straddles ``A``. Growth is flagged only on
  evidence: a noisy series (RSS of a process whose file-backed pages come and go under memory
  pressure) must not fail a system that does not leak; a longer series narrows the interval.

Requests go to the experiment's target as the capability layer builds them (cyclically over
the golden cases), ``concurrency`` at a time. Without a PID or a metrics URL, or when the
source cannot be read, the checks are *not measured* with the reason.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from aichaos.config import ResourceProbeSpec
from aichaos.results import Check, Interval
from aichaos.targets import Target, TargetRequest
from aichaos.telemetry import scrape

MIB = 1024 * 1024

#: figure -> (unit, allowance field of ResourceProbeSpec, what it is)
FIGURES: dict[str, tuple[str, str, str]] = {
    "rss": ("MiB", "max_mib_per_1k", "resident set size"),
    "vms": ("MiB", "max_mib_per_1k", "virtual memory size"),
    "pss": ("MiB", "max_mib_per_1k", "proportional set size"),
    "uss": ("MiB", "max_mib_per_1k", "unique set size"),
    "swap": ("MiB", "max_mib_per_1k", "swapped-out memory"),
    "fds": ("fds", "max_fds_per_1k", "open file descriptors"),
    "threads": ("threads", "max_threads_per_1k", "threads"),
}

#: prometheus_client's process collector names (``prometheus_client.process_collector``)
PROMETHEUS_NAMES = {"rss": "process_resident_memory_bytes",
                    "vms": "process_virtual_memory_bytes", "fds": "process_open_fds"}


class SourceError(Exception):
    """The resource source cannot be read (process gone, endpoint down or without metrics)."""


class ResourceSource(Protocol):
    """Where samples come from; ``describe`` names it in the report."""

    def describe(self) -> str: ...

    async def read(self) -> dict[str, float]: ...


class PidSource:
    """A local process (and optionally its children) sampled with psutil."""

    def __init__(self, pid: int, *, include_children: bool = False) -> None:
        self.pid, self.include_children = pid, include_children

    def describe(self) -> str:
        return f"pid {self.pid}{' and children' if self.include_children else ''} (psutil)"

    async def read(self) -> dict[str, float]:
        return await asyncio.to_thread(self._read)

    def _read(self) -> dict[str, float]:
        import psutil

        try:
            root = psutil.Process(self.pid)
            procs = [root, *(root.children(recursive=True) if self.include_children else [])]
            out: dict[str, float] = {}
            for p in procs:
                with p.oneshot():
                    try:
                        mem = p.memory_full_info()
                    except psutil.AccessDenied:  # no smaps access: RSS and VMS only
                        mem = p.memory_info()
                    values = {k: getattr(mem, k) / MIB for k in ("rss", "vms", "pss", "uss",
                                                                  "swap") if hasattr(mem, k)}
                    values["fds"] = float(p.num_fds())
                    values["threads"] = float(p.num_threads())
                for k, v in values.items():
                    out[k] = out.get(k, 0.0) + v
            return out
        except psutil.NoSuchProcess as exc:
            raise SourceError(f"process {self.pid} does not exist (or exited)") from exc
        except psutil.AccessDenied as exc:
            raise SourceError(f"process {self.pid}: access denied to its memory figures"
                              ) from exc


class PrometheusSource:
    """A Prometheus endpoint with prometheus_client's process collector metrics."""

    def __init__(self, url: str) -> None:
        self.url = url

    def describe(self) -> str:
        return f"{self.url} (Prometheus process metrics)"

    async def read(self) -> dict[str, float]:
        result = await scrape(self.url)
        if result.error is not None:
            raise SourceError(result.error)
        values = {name: result.samples[(metric, ())] for name, metric in PROMETHEUS_NAMES.items()
                  if (metric, ()) in result.samples}
        if "rss" not in values and "vms" not in values:
            raise SourceError(f"{self.url} exposes no process_resident_memory_bytes or "
                              "process_virtual_memory_bytes (prometheus_client's process "
                              "collector)")
        for k in ("rss", "vms"):
            if k in values:
                values[k] /= MIB
        return values


def source_for(spec: ResourceProbeSpec) -> ResourceSource | None:
    """The source ``spec`` declares (a PID wins over a URL), or None when it declares none."""
    if spec.pid is not None:
        return PidSource(spec.pid, include_children=spec.include_children)
    if spec.metrics_url is not None:
        return PrometheusSource(spec.metrics_url)
    return None


@dataclass(slots=True)
class ResourceSample:
    """One reading of every source: ``requests`` completed when it was taken, seconds since
    the first; ``values`` is ``{source name: {figure: value}}``."""

    phase: str  # before | during | after
    requests: int
    t_s: float
    values: dict[str, dict[str, float]]


@dataclass(slots=True)
class GrowthFit:
    """Growth of one figure per 1,000 requests after warm-up (module doc for the verdict).

    Attributes:
        source: the name of the sampled source (``target`` for the declared one).
        figure: ``rss``, ``vms``, ``pss``, ``uss``, ``swap``, ``fds`` or ``threads``.
        unit: ``MiB``, ``fds`` or ``threads`` (per 1,000 requests).
        per_1k, low_per_1k, high_per_1k: Theil–Sen slope and its 95 % interval.
        head_per_1k, tail_per_1k: the slope over the first and the last half of the
            post-warm-up samples.
        warmup_per_1k: the slope over the warm-up samples (None without two of them).
        before, after: the first and the last reading (unit without "per 1k").
        allowance: the declared maximum growth per 1,000 requests.
        verdict: ``grows``, ``slowing``, ``flat`` or ``open``.
        n: samples in the fit.
    """

    source: str
    figure: str
    unit: str
    per_1k: float
    low_per_1k: float
    high_per_1k: float
    head_per_1k: float
    tail_per_1k: float
    warmup_per_1k: float | None
    before: float
    after: float
    allowance: float
    verdict: str
    n: int

    @property
    def passed(self) -> bool:
        return self.verdict != "grows"


def theil_sen_per_1k(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Theil–Sen slope of ``ys`` on ``xs`` with its 95 % interval, times 1,000.

    Source: Sen (1968), "Estimates of the regression coefficient based on Kendall's tau";
    ``scipy.stats.theilslopes(alpha=0.95)``.

    Raises:
        ValueError: fewer than 3 points or fewer than 2 distinct ``xs``.
    """
    import numpy as np
    from scipy.stats import theilslopes

    if len(xs) < 3 or len(set(xs)) < 2:
        raise ValueError(f"a slope needs >= 3 points over >= 2 distinct x, got {len(xs)}")
    if len(set(ys)) == 1:  # constant: no growth, and no spread for Sen's interval
        return 0.0, 0.0, 0.0
    with np.errstate(invalid="ignore"):
        res = theilslopes(list(ys), list(xs), alpha=0.95)
    slope, low, high = (1000 * float(v) for v in (res[0], res[2], res[3]))
    if math.isnan(low) or math.isnan(high):  # too few distinct values for the interval
        return slope, -math.inf, math.inf
    return slope, low, high


def fit_growth(samples: Sequence[ResourceSample], figure: str, *, warmup_requests: int,
               allowance: float, source: str = "target") -> GrowthFit | None:
    """Fit ``figure`` of ``source`` against requests completed (None when fewer than 4
    samples carry it after warm-up)."""
    series = [(s.requests, s.values[source][figure]) for s in samples
              if figure in s.values.get(source, {})]
    return _fit(series, source, figure, warmup_requests, allowance)


def _fit(series: list[tuple[int, float]], source: str, figure: str, warmup_requests: int,
         allowance: float) -> GrowthFit | None:
    post = [(x, y) for x, y in series if x >= warmup_requests]
    if len(post) < 4 or len({x for x, _ in post}) < 2:
        return None
    xs, ys = [x for x, _ in post], [y for _, y in post]
    slope, low, high = theil_sen_per_1k(xs, ys)
    head, tail = slope, slope
    first, half = post[:(len(post) + 1) // 2], post[len(post) // 2:]
    if len(half) >= 3 and len({x for x, _ in half}) >= 2 and len({x for x, _ in first}) >= 2:
        head = theil_sen_per_1k([x for x, _ in first], [y for _, y in first])[0]
        tail = theil_sen_per_1k([x for x, _ in half], [y for _, y in half])[0]
    warm = [(x, y) for x, y in series if x <= warmup_requests]
    warm_slope = None
    if len(warm) >= 3 and len({x for x, _ in warm}) >= 2:
        warm_slope = theil_sen_per_1k([x for x, _ in warm], [y for _, y in warm])[0]
    if low > allowance:
        if tail <= allowance or tail < head / 2:
            verdict = "slowing"
        else:  # a step in the last half only (allocator give-backs) is not yet a leak
            verdict = "grows" if head > allowance else "open"
    else:
        verdict = "flat" if high <= allowance else "open"
    return GrowthFit(source, figure, FIGURES[figure][0], slope, low, high, head, tail,
                     warm_slope, series[0][1], series[-1][1], allowance, verdict, len(post))


@dataclass(slots=True)
class ResourceReport:
    """The series and its fits.

    Attributes:
        source: what was sampled (``{name: PidSource.describe()}``), or None when nothing
            was.
        not_measured: why nothing was measured, else None.
        requests: requests sent; ``errors``: of them, those that failed.
        samples: every reading in order; ``fits``: one per figure the source had.
    """

    source: dict[str, str] | None
    not_measured: str | None = None
    requests: int = 0
    errors: int = 0
    duration_s: float = 0.0
    samples: list[ResourceSample] = field(default_factory=list)
    fits: list[GrowthFit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "not_measured": self.not_measured,
                "requests": self.requests, "errors": self.errors,
                "duration_s": self.duration_s,
                "statistic": "Theil-Sen slope, 95% interval (Sen 1968), per 1,000 requests",
                "samples": [asdict(s) for s in self.samples],
                "fits": [{**asdict(f), "passed": f.passed} for f in self.fits]}


async def measure_resources(target: Target, requests: Sequence[TargetRequest],
                            spec: ResourceProbeSpec,
                            sources: Mapping[str, ResourceSource] | None = None
                            ) -> ResourceReport:
    """Send ``spec.requests`` requests (cycling over ``requests``) and sample every source
    (default: the one ``spec`` declares, named ``target``; several name the processes of one
    system, e.g. ``{"app": ..., "model": ...}``).

    Three readings before the first request, one after every ``spec.sample_every``
    completions, one after ``spec.settle_s`` once the series ended. Failures of the target
    are counted, not raised.

    Raises:
        ValueError: ``requests`` is empty.
    """
    if not requests:
        raise ValueError("resource probe: no request to send")
    if sources is None:
        declared = source_for(spec)
        sources = {} if declared is None else {"target": declared}
    if not sources:
        return ResourceReport(None, "not measured: declare layers.scale.resources.pid (a "
                              "local process) or metrics_url (Prometheus process metrics)")
    report = ResourceReport({name: s.describe() for name, s in sources.items()})
    start = time.monotonic()

    async def take(phase: str) -> None:
        read = await asyncio.gather(*(s.read() for s in sources.values()))
        report.samples.append(ResourceSample(phase, report.requests,
                                             round(time.monotonic() - start, 4),
                                             dict(zip(sources, read, strict=True))))

    try:
        for _ in range(3):
            await take("before")
        sem = asyncio.Semaphore(spec.concurrency)

        async def one(req: TargetRequest) -> None:
            async with sem:
                resp = await target.send(req)
            report.requests += 1
            report.errors += 0 if resp.ok else 1

        sent = 0
        while sent < spec.requests:
            batch = min(spec.sample_every, spec.requests - sent)
            await asyncio.gather(*(one(requests[(sent + i) % len(requests)])
                                   for i in range(batch)))
            sent += batch
            await take("during")
        await asyncio.sleep(spec.settle_s)
        await take("after")
    except SourceError as exc:
        report.not_measured = f"not measured: {exc}"
        return report
    finally:
        report.duration_s = round(time.monotonic() - start, 3)
    for name in sources:
        for figure, (_, allowance, _) in FIGURES.items():
            fit = fit_growth(report.samples, figure, warmup_requests=spec.warmup_requests,
                             allowance=float(getattr(spec, allowance)), source=name)
            if fit is not None:
                report.fits.append(fit)
    return report


def resource_checks(report: ResourceReport, spec: ResourceProbeSpec | None
                    ) -> tuple[list[Check], dict[str, Any]]:
    """``scale.resources.<figure>`` checks and the layer metrics of a report.

    A report that measured nothing gives one ``scale.resources`` check, failed and
    ``not_measured`` with the reason (a gate never passes on nothing).
    """
    if report.not_measured is not None or not report.fits:
        reason = report.not_measured or "not measured: the source gave no figure to fit"
        return ([Check("scale.resources", False, None, "", "", reason, not_measured=reason)],
                {"resources": reason})
    checks: list[Check] = []
    names = report.source or {}
    metrics: dict[str, Any] = {"resources_source": "; ".join(f"{k}: {v}"
                                                             for k, v in names.items()),
                               "resources_requests": report.requests}
    for f in report.fits:
        prefix = "" if len(names) == 1 else f"{f.source}."
        what = FIGURES[f.figure][2]
        warm = ("" if f.warmup_per_1k is None
                else f"; warm-up {_num(f.warmup_per_1k)} {f.unit}/1k")
        story = {"grows": "grows per request and did not flatten after warm-up",
                 "flat": "flat after warm-up",
                 "slowing": "grew but is slowing (still warming up: raise warmup_requests to "
                            "decide)",
                 "open": "growth not decided (the interval straddles the allowance; send "
                         "more requests)"}[f.verdict]
        message = (f"{what} {story}: {_num(f.per_1k)} {f.unit} per 1,000 requests "
                   f"(95% [{_num(f.low_per_1k)}, {_num(f.high_per_1k)}], Theil-Sen over "
                   f"{f.n} samples after {spec.warmup_requests if spec else 0} requests; "
                   f"first half {_num(f.head_per_1k)}, last half {_num(f.tail_per_1k)}{warm}); "
                   f"{f.before:.4g} -> {f.after:.4g} "
                   f"{f.unit} over {report.requests} requests ({names.get(f.source)})")
        interval = Interval(f.low_per_1k, f.high_per_1k, "theil-sen (Sen 1968)", 0.95, f.n)
        checks.append(Check(f"scale.resources.{prefix}{f.figure}", f.passed, f.per_1k,
                            f"<= {f.allowance:g}", f"{f.unit}/1k requests", message,
                            interval=interval, decided=f.verdict in ("grows", "flat")))
        unit = "_mib" if f.unit == "MiB" else ""
        metrics[f"{prefix.replace('.', '_')}{f.figure}{unit}_per_1k_requests"] = round(
            f.per_1k, 4)
    return checks, metrics


def _num(value: float) -> str:
    """A signed figure with 3 significant digits, without an exponent below a million."""
    if not math.isfinite(value) or abs(value) >= 1e6:
        return f"{value:+.3g}"
    return f"{value:+,.0f}" if abs(value) >= 100 else f"{value:+.3g}"
