"""The betting confidence sequence: validity by simulation, shape, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from aichaos.stats import BettingCS, SequentialCheck, betting_interval, decide, grade_range

FLOORS = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))


def test_interval_contains_the_mean_and_narrows_with_n() -> None:
    rng = np.random.default_rng(1)
    xs = rng.binomial(1, 0.8, size=400).astype(float)
    small = betting_interval(xs[:25])
    large = betting_interval(xs)
    assert small.low <= small.mean <= small.high
    assert large.low <= large.mean <= large.high
    assert large.width < small.width / 2
    assert 0.7 < large.low < 0.8 < large.high < 0.9


def test_time_uniform_coverage_is_at_least_nominal() -> None:
    """Simulated: the true mean stays inside the running interval at *every* n in >= 95 % of
    sequences (Ville's inequality), for Bernoulli and for discrete case averages."""
    rng = np.random.default_rng(7)
    for draw in ("bernoulli", "case_means"):
        misses = 0
        sims = 300
        for _ in range(sims):
            mu = rng.uniform(0.5, 1.0)
            if draw == "bernoulli":
                xs = rng.binomial(1, mu, size=60).astype(float)
            else:  # three repeats per case, clustered: p_i ~ Beta with mean mu, ICC 0.3
                a, b = mu * (0.7 / 0.3), (1 - mu) * (0.7 / 0.3)
                xs = rng.binomial(3, rng.beta(a, b, size=60)) / 3
            cs = BettingCS(planned=60)
            for x in xs:
                iv = cs.update(x)
                if not iv.low <= mu <= iv.high:
                    misses += 1
                    break
        assert misses / sims <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / sims), (draw, misses)


def test_deterministic_scores_give_a_tight_one_sided_interval() -> None:
    iv = betting_interval([1.0] * 40)
    assert iv.high == 1.0 and iv.mean == 1.0
    assert iv.low > 0.85
    iv0 = betting_interval([0.0] * 40)
    assert iv0.low == 0.0 and iv0.high < 0.15


def test_decide_and_sequential_check() -> None:
    check = SequentialCheck(0.7, "at_least", planned=50)
    states = [check.update(1.0).state for _ in range(50)]
    assert states[0] == "open"
    assert "pass" in states
    first = states.index("pass")
    assert all(s == "pass" for s in states[first:])
    bad = SequentialCheck(0.1, "at_most", planned=50)
    for _ in range(30):
        d = bad.update(1.0)
    assert d.state == "fail" and d.decided
    iv = betting_interval([1.0, 0.0] * 3)
    assert decide(iv, 0.5) == "open"


def test_grade_range_is_firm_only_inside_one_band() -> None:
    assert grade_range(91, 99, FLOORS) == ("A", "A")
    assert grade_range(62, 85, FLOORS) == ("B", "D")
    assert grade_range(10, 59.9, FLOORS) == ("F", "F")


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf")])
def test_scores_outside_the_unit_interval_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BettingCS().update(bad)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="confidence"):
        BettingCS(confidence=1.0)
    with pytest.raises(ValueError, match="planned"):
        BettingCS(planned=0)
    with pytest.raises(ValueError, match="no scores"):
        betting_interval([])
    with pytest.raises(ValueError, match="threshold"):
        SequentialCheck(1.2)
