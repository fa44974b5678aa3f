"""Is a load step overloaded? Two direct tests per step, their power, and step sizing for power.

A step at offered rate ``lambda`` on a system of capacity ``mu`` is *overloaded* when
``lambda > mu``. Each step is judged by two tests of that hypothesis, each three-way
(``overloaded`` / ``sustained`` / ``open``), against the alternative of a 1.25x overload
(``lambda = 1.25 mu``), the smallest overload the sweep promises to catch:

1. **Throughput** (exact Poisson rate test). Under open-loop Poisson arrivals a stable system
   completes a Poisson count of requests in the window (Burke's theorem for M/M/c; the
   asymptotic count variance of any stable queue equals the arrivals'), whose mean is the
   number scheduled, less the requests the window started without: ``E = N (1 - max(0, L - w)
   / T)`` for ``N`` scheduled in a window of ``T`` s after ``w`` s of warm-up, ``L`` the
   shortest latency of the step's first 10 requests (sent to a nearly idle system, so about
   the service time, whatever the load later in the step). An overloaded system completes
   at most ``mu T = E / 1.25``. The step's *successful* completions ``C`` (a 429 is not
   throughput) are tested:
   ``overloaded`` when ``P(X <= C | Poisson(E)) <= 0.01``; ``sustained`` when
   ``P(X >= C | Poisson(E / 1.25)) <= 0.05`` (C rules a 1.25x overload out). A flagged
   shortfall must also leave ``C < 0.9 E`` (``throughput_ratio``, a practical floor: a
   significant 2 % shortfall of a very long step is not called overload). Power at 1.25x is
   ``P(X <= c* | Poisson(E / 1.25))``, ``c*`` the test's critical count (scipy.stats.poisson;
   the exact test of Przyborowski & Wilenski 1940).
2. **Latency trend**: the Theil-Sen slope of latency on scheduled send time, calibrated by a
   queue-simulation bootstrap (:func:`aichaos.stats.step_trend`; its module doc states the
   model). A queue that grows for the whole step has a slope near ``lambda / mu - 1``. The
   calibration costs O(n^2) per simulated step, so the trend is taken over the first
   :data:`TREND_MAX_REQUESTS` expected requests of a longer step (the slope of a growing
   queue is the same over any part of the step). As for throughput, a flagged slope must
   also exceed the practical floor ``1 / 0.9 - 1 = 0.11`` s/s (the slope of a 1.11x
   overload); the floor is below the 1.25x alternative's slope (0.25), so it leaves the
   power at 1.25x nearly unchanged.

The step is ``overloaded`` when either test says so (false alarms at ``lambda <= mu``: at most
0.05 + 0.01 by Bonferroni; measured in ``benchmarks/verdict_calibration.py``); ``sustained``
when neither does, one of them rules a 1.25x overload out, and the step's power is at least
0.9; otherwise ``open`` (too few requests to tell): an open step is never a pass. The power
reported is ``max`` of the two tests' powers, a lower bound of the combined test's.

The load generator's own health is read beside the verdict: its scheduler lag (how late the
event loop woke a free worker, :class:`aichaos.load.StepResult`) at p99, and the client-side
queue delay (time waiting for one of ``concurrency`` slots). A lagging generator is reported,
so a slow client is not mistaken for a slow server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from aichaos.load._results import StepResult

Verdict = Literal["overloaded", "sustained", "open"]
#: the overload a sweep promises to catch, lambda / mu
ALTERNATIVE = 1.25
#: power at :data:`ALTERNATIVE` a step needs for a ``sustained`` verdict
TARGET_POWER = 0.9
#: one-sided level of the throughput test (the trend test's is 0.05: its calibration's q95)
RATE_ALPHA = 0.01
#: most expected requests the trend test is calibrated on (module doc)
TREND_MAX_REQUESTS = 300
#: queue simulations per calibration (aichaos.stats.calibrate)
SIMS = 200
#: scheduler lag p99 above which the step notes that the load generator lagged, s
LAG_WARN_S = 0.010


@dataclass(frozen=True, slots=True)
class RateTest:
    """The throughput test of one step (module doc, test 1).

    Attributes:
        completed: successful completions in the window, C.
        expected: E, completions a sustaining system would give.
        p_value: P(X <= C | Poisson(E)).
        power: chance a 1.25x-overloaded step of this size is flagged.
        verdict: ``overloaded`` | ``sustained`` | ``open``.
    """

    completed: int
    expected: float
    p_value: float
    power: float
    verdict: Verdict


def _critical(expected: float, alpha: float, ratio: float) -> int:
    """Largest count c with P(X <= c | Poisson(expected)) <= alpha and c < ratio x expected
    (-1: none)."""
    from scipy.stats import poisson

    c = min(int(poisson.ppf(alpha, expected)), math.ceil(ratio * expected) - 1)
    while c >= 0 and poisson.cdf(c, expected) > alpha:
        c -= 1
    return c


def rate_power(expected: float, alpha: float = RATE_ALPHA, ratio: float = 0.9) -> float:
    """Power of the throughput test at a 1.25x overload for ``expected`` completions."""
    if expected <= 0:
        return 0.0
    from scipy.stats import poisson

    c = _critical(expected, alpha, ratio)
    return 0.0 if c < 0 else float(poisson.cdf(c, expected / ALTERNATIVE))


def rate_test(completed: int, expected: float, alpha: float = RATE_ALPHA,
              ratio: float = 0.9) -> RateTest:
    """The exact Poisson test of ``completed`` against ``expected`` (module doc, test 1);
    ``ratio``: the shortfall must also leave fewer than ``ratio x expected`` completions (a
    practical floor: a significant 2 % shortfall of a long step is not called overload)."""
    from scipy.stats import poisson

    if expected <= 0:
        return RateTest(completed, expected, 1.0, 0.0, "open")
    p = float(poisson.cdf(completed, expected))
    verdict: Verdict = "open"
    if p <= alpha and completed < ratio * expected:
        verdict = "overloaded"
    elif float(poisson.sf(completed - 1, expected / ALTERNATIVE)) <= 0.05:
        verdict = "sustained"
    return RateTest(completed, expected, p, rate_power(expected, alpha), verdict)


def first_latency(step: StepResult, k: int = 10) -> float | None:
    """Shortest latency of the step's first ``k`` scheduled requests, s (None: no samples)."""
    first = sorted(step.samples)[:k]
    return min(s.latency_s for s in first) if first else None


def expected_completions(step: StepResult, lead_s: float | None = None) -> float:
    """E of the throughput test: scheduled requests, less those a window that starts empty
    could not complete (``lead_s``: the service time, s; default :func:`first_latency`)."""
    n = step.scheduled
    if not step.duration_s or not n:
        return 0.0
    if lead_s is None:
        lead_s = first_latency(step)
    lead = max(0.0, (lead_s or 0.0) - step.warmup_s)
    return n * max(0.5, 1 - lead / step.duration_s)


def service_sample(step: StepResult) -> list[float]:
    """The latencies a calibration resamples: the successful requests of ``step``, s (all of
    them when none succeeded)."""
    ok = [s.latency_s for s in step.samples if s.error_class is None and s.latency_s > 0]
    return ok or [s.latency_s for s in step.samples if s.latency_s > 0]


_CALIBRATIONS: dict[tuple[float, float, tuple[float, ...], int], tuple[float, float, float]] = {}


def _calibration(rate: float, window: float, service: Sequence[float],
                 seed: int) -> tuple[float, float, float]:
    """:func:`aichaos.stats.calibrate`, memoised (a sweep, a benchmark and a power test judge
    many steps of one size against one base step)."""
    key = (round(rate, 9), round(window, 9), tuple(service), seed)
    hit = _CALIBRATIONS.get(key)
    if hit is None:
        from aichaos.stats import calibrate

        if len(_CALIBRATIONS) > 256:
            _CALIBRATIONS.clear()
        hit = _CALIBRATIONS[key] = calibrate(rate, window, service, sims=SIMS, seed=seed)
    return hit


def _trend_window(rate: float, duration: float) -> float:
    return min(duration, TREND_MAX_REQUESTS / rate) if rate > 0 else duration


def trend_power(rate: float, duration: float, service: Sequence[float], *,
                seed: int = 0) -> float:
    """Simulated power of the trend test at a 1.25x overload (0 without service times)."""
    if not service or rate <= 0:
        return 0.0
    return _calibration(rate, _trend_window(rate, duration), service, seed)[2]


@dataclass(frozen=True, slots=True)
class StepVerdict:
    """Both tests of one step and the combined verdict (module doc).

    Attributes:
        verdict: ``overloaded`` | ``sustained`` | ``open``.
        power: max of the two tests' power at a 1.25x overload.
        rate: the throughput test.
        trend_slope, trend_null_q95, trend_alt_q05, trend_power, trend_verdict: the
            latency-trend test (None when the step had fewer than 3 samples).
        trend_window_s: seconds of the step the trend was taken over.
        scheduler_lag_p99_s, queue_delay_p95_s: the load generator's lag and the client-side
            wait for a slot, s.
        reasons: why the step is overloaded (empty otherwise).
    """

    verdict: Verdict
    power: float
    rate: RateTest
    trend_slope: float | None = None
    trend_null_q95: float | None = None
    trend_alt_q05: float | None = None
    trend_power: float | None = None
    trend_verdict: Verdict | None = None
    trend_window_s: float | None = None
    scheduler_lag_p99_s: float | None = None
    queue_delay_p95_s: float | None = None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        return d


def judge_step(step: StepResult, service: Sequence[float], *, lead_s: float | None = None,
               trend: bool = True, seed: int = 0, ratio: float = 0.9) -> StepVerdict:
    """Both overload tests of an open-loop ``step`` (module doc).

    Args:
        step: the finished step (its ``samples`` feed the trend test).
        service: service times for the trend's calibration (:func:`service_sample` of the
            base step), s; empty: no trend test.
        lead_s: the service time, s (:func:`expected_completions`; default: from the step's
            first requests).
        trend: False skips the trend test (the throughput test alone).
        seed: the calibration's seed.
        ratio: the throughput test's practical floor (:func:`rate_test`).
    """
    rate = step.offered_rps or 0.0
    rt = rate_test(step.window_ok, expected_completions(step, lead_s), ratio=ratio)
    reasons: list[str] = []
    if rt.verdict == "overloaded":
        reasons.append(f"throughput {step.ok_rps:.3g} req/s < offered {rate:.3g} req/s "
                       f"(exact Poisson test: {rt.completed} of {rt.expected:.1f} expected "
                       f"completions, p = {rt.p_value:.2g})")
    kw: dict[str, Any] = {}
    power = rt.power
    window = _trend_window(rate, step.duration_s)
    inside = [s for s in step.samples if 0 <= s.send_s < window]
    if trend and service and rate > 0 and len(inside) >= 3:
        from aichaos.stats import step_trend

        st = step_trend([s.send_s for s in inside], [s.latency_s for s in inside], rate,
                        window, service, calibration=_calibration(rate, window, service, seed))
        kw = {"trend_slope": None if math.isnan(st.slope) else st.slope,
              "trend_null_q95": st.null_q95, "trend_alt_q05": st.alt_q05,
              "trend_power": st.power, "trend_verdict": st.verdict, "trend_window_s": window}
        power = max(power, st.power)
        if st.verdict == "overloaded" and st.slope > 1 / ratio - 1:
            reasons.append(f"latency grows within the step: Theil-Sen slope {st.slope:.3g} s/s"
                           f" > {st.null_q95:.3g} (95th percentile of a queue at capacity)")
    verdict: Verdict = "open"
    if reasons:
        verdict = "overloaded"
    elif power >= TARGET_POWER and "sustained" in (rt.verdict, kw.get("trend_verdict")):
        verdict = "sustained"
    lag = step.p("scheduler_lag", 99)
    return StepVerdict(verdict, power, rt, **kw, scheduler_lag_p99_s=lag,
                       queue_delay_p95_s=step.p("queue_delay", 95), reasons=tuple(reasons))


@dataclass(frozen=True, slots=True)
class StepSizing:
    """How long a step is planned, and why.

    Attributes:
        duration_s: the planned measured window, s.
        power: power at a 1.25x overload expected at that length.
        capped: the budget (``max_s``) stopped the growth below :data:`TARGET_POWER`.
        needed_s: the length the throughput test alone needs for the target power, s.
    """

    duration_s: float
    power: float
    capped: bool
    needed_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def needed_duration(rate: float) -> float:
    """Seconds at ``rate`` req/s the throughput test needs for 0.9 power at 1.25x."""
    n = 16
    while rate_power(n) < TARGET_POWER and n < 1_000_000:
        n = int(n * 1.25) + 1
    return n / rate


def size_step(rate: float, service: Sequence[float], *, min_s: float, max_s: float,
              seed: int = 0) -> StepSizing:
    """Shortest window, doubling from ``min_s`` up to ``max_s``, whose power at a 1.25x
    overload reaches :data:`TARGET_POWER`: the throughput test's (exact, cheap) first, the
    trend test's (simulated, when ``service`` times are known) when that is not enough."""
    duration = min_s
    needed = needed_duration(rate)
    while True:
        power = rate_power(rate * duration)
        if power < TARGET_POWER and service:
            power = max(power, trend_power(rate, duration, service, seed=seed))
        if power >= TARGET_POWER or duration >= max_s:
            return StepSizing(duration, power, power < TARGET_POWER, needed)
        duration = min(max_s, duration * 2)
