"""Is a load step overloaded? A latency-trend test calibrated by queue simulation, with power.

Under an open-loop arrival rate ``lambda`` above a system's capacity ``mu`` the backlog grows by
``lambda - mu`` requests per second and each new request waits ``backlog / mu`` seconds longer,
so the latency of a request *scheduled* at time ``t`` of the step grows as

    latency(t) ~ service + (lambda / mu - 1) t

whatever the number of servers (Little's law on the backlog; Harchol-Balter 2013, "Performance
Modeling and Design of Computer Systems", ch. 6). The statistic is the Theil-Sen slope of
latency on scheduled send time (Sen 1968; scipy.stats.theilslopes), robust to latency's heavy
tail. Latencies of a queue are strongly autocorrelated, so the slope's textbook rank interval
is far too narrow (simulated: a stable queue at 80 % load was "overloaded" in ~20 % of 40 s
steps). Instead the test is calibrated by parametric bootstrap on the queue itself: a FIFO
queue fed by Poisson arrivals at the step's rate over the step's duration, with service times
resampled from the base step's measured latencies (Lindley's recursion, Lindley 1952), is
simulated at the boundary ``lambda = mu`` (H0: not overloaded) and at the alternative
``lambda = 1.25 mu``. Then:

- ``overloaded`` when the observed slope exceeds the 95th percentile of H0's slopes;
- ``sustained`` when it falls below the 5th percentile of the alternative's slopes (the step
  rules out a 1.25x overload);
- ``open`` otherwise: too few requests to tell. An open step is never a pass.

``power`` is the simulated chance that a 1.25x-overloaded step of this size is flagged; steps
are sized (:func:`duration_for_power`) to reach 0.9 where the budget allows. The model's
assumptions (Poisson arrivals, which the load generator makes true; FIFO service; one server,
which is the most variable case for a given load and so the conservative one) are stated in
the report beside the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Verdict = Literal["overloaded", "sustained", "open"]
ALTERNATIVE = 1.25
TARGET_POWER = 0.9


@dataclass(frozen=True, slots=True)
class StepTrend:
    """Overload verdict of one load step.

    Attributes:
        rate_rps: offered rate, req/s.
        duration_s: the step's duration, s.
        n: requests in the step.
        slope: Theil-Sen slope of latency on scheduled send time (dimensionless, s per s).
        null_q95: 95th percentile of the slope of a queue at exactly its capacity.
        alt_q05: 5th percentile of the slope of a queue at 1.25x its capacity.
        power: chance that a 1.25x-overloaded step of this size is flagged (simulated).
        verdict: ``overloaded`` | ``sustained`` | ``open``.
    """

    rate_rps: float
    duration_s: float
    n: int
    slope: float
    null_q95: float
    alt_q05: float
    power: float
    verdict: Verdict

    @property
    def overload_factor(self) -> float:
        """Point estimate of lambda / mu = 1 + slope (1.0 when the slope is not positive)."""
        return 1 + max(self.slope, 0.0) if not math.isnan(self.slope) else math.nan


def _slopes(rng: np.random.Generator, factor: float, rate: float, duration: float,
            service: np.ndarray, sims: int) -> np.ndarray:
    """Theil-Sen slopes of ``sims`` FIFO single-server queues at load ``factor``.

    The queues run side by side: exponential inter-arrival gaps at ``rate`` (a Poisson
    process), Lindley's recursion vectorised over the simulations, and each queue cut at the
    step's end.
    """
    from scipy import stats

    # one server at load == factor: resampled service times scaled to mean factor / rate
    scale = factor / (rate * float(np.mean(service)))
    mean_count = rate * duration
    width = int(mean_count + 6 * math.sqrt(mean_count) + 10)  # P(more arrivals) < 1e-9
    t = np.cumsum(rng.exponential(1.0 / rate, size=(sims, width)), axis=1)
    s = rng.choice(service, size=(sims, width)) * scale
    wait = np.zeros((sims, width))
    for i in range(1, width):  # W_i = max(0, W_{i-1} + S_{i-1} - (t_i - t_{i-1}))
        wait[:, i] = np.maximum(0.0, wait[:, i - 1] + s[:, i - 1] - (t[:, i] - t[:, i - 1]))
    out = np.empty(sims)
    for k in range(sims):
        inside = t[k] <= duration
        if inside.sum() < 3:
            inside[:3] = True
        out[k] = stats.theilslopes((wait[k] + s[k])[inside], t[k][inside]).slope
    return out


def calibrate(rate_rps: float, duration_s: float, service_s: Sequence[float], *,
              sims: int = 200, seed: int = 0) -> tuple[float, float, float]:
    """(H0 95th percentile, alternative 5th percentile, power) for a step of this size.

    Args:
        rate_rps: the step's offered rate, req/s.
        duration_s: its duration, s.
        service_s: measured service times (latencies of the base step), s.

    Raises:
        ValueError: no positive service times.
    """
    service = np.asarray([x for x in service_s if x > 0], dtype=float)
    if service.size == 0:
        raise ValueError("calibration needs at least one positive service time")
    rng = np.random.default_rng(seed)
    null = _slopes(rng, 1.0, rate_rps, duration_s, service, sims)
    alt = _slopes(rng, ALTERNATIVE, rate_rps, duration_s, service, sims)
    q95, q05 = float(np.quantile(null, 0.95)), float(np.quantile(alt, 0.05))
    return q95, q05, float(np.mean(alt > q95))


def step_trend(send_s: Sequence[float], latency_s: Sequence[float], rate_rps: float,
               duration_s: float, service_s: Sequence[float], *, sims: int = 200,
               seed: int = 0,
               calibration: tuple[float, float, float] | None = None) -> StepTrend:
    """Overload verdict for one step from each request's scheduled send time and latency.

    Args:
        send_s: scheduled send times, s from the step's start.
        latency_s: latencies from the scheduled send time (no coordinated omission), s;
            failed or timed-out requests at the client's deadline.
        rate_rps: the step's offered rate, req/s; duration_s: its length, s.
        service_s: service times measured at the base step, s.
        calibration: a :func:`calibrate` result for this rate, duration and service times,
            to reuse (steps of one sweep judged against one simulation).

    Raises:
        ValueError: the sequences differ in length, or no positive service time.
    """
    if len(send_s) != len(latency_s):
        raise ValueError(f"{len(send_s)} send times but {len(latency_s)} latencies")
    q95, q05, power = calibration or calibrate(rate_rps, duration_s, service_s, sims=sims,
                                               seed=seed)
    n = len(send_s)
    if n < 3 or np.ptp(np.asarray(send_s, dtype=float)) == 0:
        return StepTrend(rate_rps, duration_s, n, math.nan, q95, q05, power, "open")
    from scipy import stats

    slope = float(stats.theilslopes(latency_s, send_s).slope)
    verdict: Verdict = "open"
    if slope > q95:
        verdict = "overloaded"
    elif slope < q05:
        verdict = "sustained"
    return StepTrend(rate_rps, duration_s, n, slope, q95, q05, power, verdict)


def duration_for_power(rate_rps: float, service_s: Sequence[float], *, max_s: float,
                       min_s: float = 5.0, target: float = TARGET_POWER,
                       sims: int = 200, seed: int = 0) -> tuple[float, float]:
    """Shortest step duration (s, doubling from ``min_s``) with simulated power >= ``target``
    at a 1.25x overload, capped at ``max_s``: returns (duration_s, power at it)."""
    duration = min_s
    while True:
        power = calibrate(rate_rps, duration, service_s, sims=sims, seed=seed)[2]
        if power >= target or duration >= max_s:
            return duration, power
        duration = min(max_s, duration * 2)
