"""The Page-Hinkley test: a sequential detector of a change in the mean of a stream.

Page, E. S. (1954), "Continuous inspection schemes", Biometrika 41(1/2): 100-115;
Hinkley, D. V. (1971), "Inference about the change-point from cumulative sum tests",
Biometrika 58(3): 509-523. Formulation as in Gama et al. (2014), "A survey on concept drift
adaptation", ACM Computing Surveys 46(4), section 3.2:

    m_T = sum_{t<=T} (x_t - mean_t - delta),  M_T = min_{t<=T} m_t,  alarm when m_T - M_T > lambda

for an increase (``direction="up"``); for a decrease the signs flip
(u_T = sum (x_t - mean_t + delta), U_T = max u_t, alarm when U_T - u_T > lambda).

Values are standardised with the mean and standard deviation of the first ``warmup`` values
(no alarm during warm-up; the deviation is floored at ``sigma_floor`` so a perfectly steady
warm-up does not divide by zero), so ``delta`` and ``threshold`` are in standard deviations.
The default delta = 0.5 is the usual CUSUM reference value k = 0.5 sigma (Montgomery,
"Introduction to Statistical Quality Control", 6th ed., section 9.1). The threshold is 8
rather than the h = 5 sigma of known-parameter designs because the reference here is estimated
from a short warm-up, which inflates false alarms: measured on N(0, 1) noise
(tests/drift/test_pagehinkley.py), a 10-value warm-up and threshold 8 give about 5% false
alarms over the next 50 values and detect a 2-sigma shift after a median of 7 values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class PageHinkley:
    """A Page-Hinkley detector for one metric.

    Args:
        direction: ``up`` detects increases (latency, error rate), ``down`` decreases (score).
        delta: tolerated drift per step, in warm-up standard deviations.
        threshold: alarm threshold lambda, in warm-up standard deviations.
        warmup: values used to estimate the reference mean and deviation (>= 2).
        sigma_floor: smallest standard deviation used, in the metric's own unit.

    Raises:
        ValueError: bad direction, negative delta, non-positive threshold, warmup < 2.
    """

    direction: str = "up"
    delta: float = 0.5
    threshold: float = 8.0
    warmup: int = 10
    sigma_floor: float = 1e-9
    n: int = 0
    alarms: int = 0
    _warm: list[float] = field(default_factory=list, repr=False)
    _mu0: float = 0.0
    _sigma0: float = 1.0
    _mean: float = 0.0
    _count: int = 0
    _cum: float = 0.0
    _extreme: float = 0.0
    #: values since the last (re)start at which the cumulative sum was last at its extreme:
    #: Hinkley's (1971) estimate of where the change began (the last value before it)
    extreme_at: int = 0
    #: ``extreme_at`` of the last alarm (values counted from that run's start), or None
    change_at: int | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("up", "down"):
            raise ValueError(f"direction: expected up or down, got {self.direction!r}")
        if self.delta < 0 or self.threshold <= 0 or self.warmup < 2:
            raise ValueError("need delta >= 0, threshold > 0 and warmup >= 2")

    @property
    def statistic(self) -> float:
        """The current test statistic, m_T - M_T (up) or U_T - u_T (down), in sigmas."""
        return (self._cum - self._extreme) if self.direction == "up" else (
            self._extreme - self._cum)

    @property
    def ready(self) -> bool:
        """Warm-up is over: alarms are possible."""
        return self.n >= self.warmup

    def reset(self) -> None:
        """Start over, warm-up included (done after each alarm: the new level becomes the
        reference, so one change raises one alarm)."""
        self.n, self._warm = 0, []
        self._mean, self._count, self._cum, self._extreme = 0.0, 0, 0.0, 0.0
        self.extreme_at = 0

    def update(self, x: float) -> bool:
        """Feed one value; True when it raises an alarm (the detector restarts after one)."""
        self.n += 1
        if self.n <= self.warmup:
            self._warm.append(float(x))
            if self.n == self.warmup:
                self._mu0 = sum(self._warm) / len(self._warm)
                var = sum((v - self._mu0) ** 2 for v in self._warm) / (len(self._warm) - 1)
                self._sigma0 = max(math.sqrt(var), self.sigma_floor)
                self._count = self.warmup  # the running mean starts from the warm-up (z = 0)
            return False
        z = (x - self._mu0) / self._sigma0
        self._count += 1
        self._mean += (z - self._mean) / self._count
        sign = -1.0 if self.direction == "up" else 1.0
        self._cum += z - self._mean + sign * self.delta
        if (self._cum <= self._extreme) if self.direction == "up" else (
                self._cum >= self._extreme):
            self._extreme, self.extreme_at = self._cum, self.n
        if self.statistic > self.threshold:
            self.alarms += 1
            self.change_at = max(self.extreme_at, self.warmup)
            self.reset()
            return True
        return False
