"""The NTP-style clock offset estimate of Ray workers (pure arithmetic, no Ray)."""

from __future__ import annotations

import random

import pytest

from aichaos.load import estimate_offset


def _ping(t0: float, out_s: float, back_s: float, skew_s: float) -> tuple[float, float, float]:
    """A ping sent at driver time t0, taking out_s to the worker and back_s back, against a
    worker clock ``skew_s`` ahead of the driver's."""
    return t0, t0 + out_s + skew_s, t0 + out_s + back_s


def test_offset_of_a_skewed_clock_lies_within_its_bound() -> None:
    rng = random.Random(3)
    skew = 0.250  # worker clock 250 ms ahead
    pings = [_ping(1000.0 + i, rng.uniform(0.001, 0.02), rng.uniform(0.001, 0.02), skew)
             for i in range(8)]
    est = estimate_offset(pings)
    assert est.samples == 8
    assert abs(est.offset_s - skew) <= est.error_s
    # the kept ping is the fastest round trip
    assert est.rtt_s == pytest.approx(min(t3 - t0 for t0, _, t3 in pings))
    assert est.error_s == pytest.approx(est.rtt_s / 2)


def test_symmetric_delay_gives_the_exact_offset_and_asymmetry_the_bound() -> None:
    assert estimate_offset([_ping(5.0, 0.01, 0.01, -0.3)]).offset_s == pytest.approx(-0.3)
    # all the delay on the way out: the estimate is off by exactly half the round trip
    lopsided = estimate_offset([_ping(5.0, 0.02, 0.0, 0.0)])
    assert lopsided.offset_s == pytest.approx(0.01) and lopsided.error_s == pytest.approx(0.01)


def test_bad_pings_are_refused() -> None:
    with pytest.raises(ValueError, match="no pings"):
        estimate_offset([])
    with pytest.raises(ValueError, match="received before it was sent"):
        estimate_offset([(10.0, 10.0, 9.0)])
