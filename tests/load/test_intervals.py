"""95 % intervals of layer 6's headline figures: exact Poisson rate and order-statistic median."""

from __future__ import annotations

import math
import random

import pytest

from aichaos.load import LatencyHistogram, median_interval, poisson_rate_interval


def test_poisson_interval_matches_garwood_tables() -> None:
    # Garwood's exact 95 % limits: n=0 -> [0, 3.689], n=10 -> [4.795, 18.390]
    assert poisson_rate_interval(0, 1.0) == (0.0, pytest.approx(3.689, abs=1e-3))
    lo, hi = poisson_rate_interval(10, 2.0)  # type: ignore[misc]
    assert (lo, hi) == (pytest.approx(4.795 / 2, abs=1e-3), pytest.approx(18.390 / 2, abs=1e-3))
    assert poisson_rate_interval(5, 0.0) is None
    with pytest.raises(ValueError, match="count >= 0"):
        poisson_rate_interval(-1, 1.0)


def test_median_interval_covers_the_true_median() -> None:
    rng = random.Random(11)
    true_median = math.log(2) / 20  # exponential, mean 50 ms
    covered = 0
    for _ in range(300):
        h = LatencyHistogram()
        for _ in range(40):
            h.record(rng.expovariate(20))
        ci = median_interval(h)
        assert ci is not None and ci[0] <= h.percentile(50) <= ci[1]  # type: ignore[operator]
        covered += ci[0] <= true_median <= ci[1]
    # distribution-free coverage >= 95 % (binomial rounding makes it ~96.2 % at n = 40)
    assert covered / 300 >= 0.93


def test_median_interval_needs_six_values() -> None:
    h = LatencyHistogram()
    for v in (0.1, 0.2, 0.3, 0.4, 0.5):
        h.record(v)
    assert median_interval(h) is None
    h.record(0.6)
    assert median_interval(h) == (pytest.approx(0.1, rel=1e-3), pytest.approx(0.6, rel=1e-3))
