"""Confidence intervals for the headline metrics.

Proportions use the Wilson score interval (Wilson 1927; recommended over the normal
approximation for small n by Brown, Cai & DasGupta 2001), computed by scipy. Means use
Student's t interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with a confidence interval: ``value`` in [``low``, ``high``] over ``n``."""

    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"value": self.value, "ci_low": self.low, "ci_high": self.high, "n": self.n}


def proportion_ci(successes: int, n: int, confidence: float = 0.95) -> Estimate:
    """Wilson score interval for ``successes`` out of ``n``.

    Raises:
        ValueError: n < 1 or successes outside 0..n.
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes}/{n}")
    from scipy import stats  # imported on use: scipy.stats costs ~1 s at CLI start-up

    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Estimate(successes / n, float(ci.low), float(ci.high), n)


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean with Student's t interval (degenerate interval for n == 1 or zero variance).

    Raises:
        ValueError: ``values`` is empty.
    """
    n = len(values)
    if n == 0:
        raise ValueError("mean of no values")
    mean = math.fsum(values) / n
    if n == 1:
        return Estimate(mean, mean, mean, 1)
    from scipy import stats

    sem = stats.sem(values)
    if not sem or math.isnan(sem):
        return Estimate(mean, mean, mean, n)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Estimate(mean, float(low), float(high), n)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100, numpy's linear interpolation), or None for no values."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))
