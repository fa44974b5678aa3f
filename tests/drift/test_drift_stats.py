"""Tests, Holm, false-alarm rate under H0, power, and Page-Hinkley figures."""

from __future__ import annotations

import numpy as np
import pytest

from aichaos.drift import (
    Observation,
    PageHinkley,
    RunSample,
    compare_continuous,
    compare_rates,
    compare_samples,
    holm,
)
from aichaos.errors import ConfigError


def test_holm_matches_hand_computation() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3*0.01, max(0.03, 2*0.03), max(0.06, 1*0.04)
    assert holm([0.01, 0.04, None, 0.03]) == pytest.approx([0.03, 0.06, None, 0.06])
    assert holm([0.5, 0.9]) == [1.0, 1.0]


def test_test_choice_by_size_and_type() -> None:
    rng = np.random.default_rng(0)
    assert compare_continuous([1, 2, 3], [4, 5, 6]).test == "mann_whitney_u"
    assert compare_continuous(list(rng.normal(size=40)), list(rng.normal(size=40))).test == \
        "kolmogorov_smirnov"
    big = compare_continuous(list(rng.normal(size=2000)), list(rng.normal(1, 1, size=2000)))
    assert big.test == "wasserstein" and big.p_value is None and big.material
    assert compare_rates(1, 8, 6, 8).test == "fisher_exact"
    assert compare_rates(40, 100, 60, 100).test == "two_proportion_z"
    assert compare_rates(1, 2, 0, 2).test == "none"


def _obs(x: float, passed: bool) -> Observation:
    return Observation(x, x, x / 10, passed, False, False, 20 + x, "answer")


def _sample(rng: np.random.Generator, n: int, shift: float = 0.0, p: float = 0.7
            ) -> RunSample:
    return RunSample("r", [_obs(float(v), bool(b)) for v, b in
                           zip(rng.normal(5 + shift, 1, n), rng.random(n) < p, strict=True)])


def test_false_alarm_rate_under_h0_is_within_alpha() -> None:
    """Family-wise false alarms over 400 comparisons of samples from one distribution."""
    rng = np.random.default_rng(42)
    alarms = sum(compare_samples(_sample(rng, 8), _sample(rng, 8)).verdict in (
        "worse", "better", "changed") for _ in range(400))  # "inconclusive" claims nothing
    rate = alarms / 400
    print(f"false-alarm rate, n=8, H0: {rate:.3f}")
    assert rate <= 0.05 + 2 * (0.05 * 0.95 / 400) ** 0.5  # Holm bounds the FWER by alpha


def test_a_two_sigma_latency_shift_is_detected_as_worse() -> None:
    rng = np.random.default_rng(1)
    hits = sum(compare_samples(_sample(rng, 8), _sample(rng, 8, shift=2.0)).get(
        "latency_s").verdict == "worse" for _ in range(100))
    print(f"power at n=8 for a 2-sigma latency shift: {hits / 100:.2f}")
    assert hits >= 50


def test_bad_alpha_and_direction_are_config_errors() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match=r"alpha: expected a value in \(0, 1\), got 2"):
        compare_samples(_sample(rng, 5), _sample(rng, 5), alpha=2)
    with pytest.raises(ConfigError, match="direction output_length=sideways"):
        compare_samples(_sample(rng, 5), _sample(rng, 5),
                        directions={"output_length": "sideways"})


def test_page_hinkley_false_alarms_and_detection_delay() -> None:
    """The figures quoted in the PageHinkley docstring (N(0,1) noise, warm-up 10, lambda 8)."""
    rng = np.random.default_rng(0)
    false_alarms, delays = 0, []
    for _ in range(400):
        ph = PageHinkley("up")
        false_alarms += any(ph.update(x) for x in rng.normal(size=60))
        ph = PageHinkley("up")
        for x in rng.normal(size=15):
            ph.update(x)
        for i, x in enumerate(rng.normal(2.0, 1.0, size=40)):
            if ph.update(x):
                delays.append(i + 1)
                break
    rate, median = false_alarms / 400, float(np.median(delays))
    print(f"Page-Hinkley: false alarms {rate:.3f} over 50 steps, 2-sigma delay {median}")
    assert rate <= 0.08 and len(delays) >= 380 and median <= 8


def test_page_hinkley_down_direction_and_steady_warmup() -> None:
    ph = PageHinkley("down", warmup=3, sigma_floor=0.05)
    assert [ph.update(v) for v in (1.0, 1.0, 1.0, 1.0, 0.0)] == [False] * 4 + [True]
    assert ph.alarms == 1 and not ph.ready  # restarted: the new level is learnt afresh
    with pytest.raises(ValueError, match="direction"):
        PageHinkley("sideways")


def test_public_surfaces_are_sorted_and_importable() -> None:
    import aichaos.drift
    import aichaos.telemetry

    def isort_style(name: str) -> tuple[int, str]:  # ruff RUF022: CONSTANTS, Classes, funcs
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    for module in (aichaos.drift, aichaos.telemetry):
        assert module.__all__ == sorted(module.__all__, key=isort_style)
        assert all(hasattr(module, name) for name in module.__all__)
