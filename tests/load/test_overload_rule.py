"""The knee's throughput criterion: an exact Poisson test, not "shortfall > 3 sqrt(N)"."""

from __future__ import annotations

from aichaos.load import SaturationRule, StepResult


def _step(rate: float, duration: float, scheduled: int, completed: int) -> StepResult:
    return StepResult(index=0, profile="poisson", offered_rps=rate, users=8, warmup_s=0,
                      duration_s=duration, scheduled=scheduled, window_completed=completed,
                      window_ok=completed)


def test_small_step_that_completed_nothing_is_saturated() -> None:
    # 9 requests scheduled, none completed: the old rule needed a shortfall > 3 sqrt(9) = 9,
    # so it could never fire at N <= 9. P(X <= 0 | Poisson(9)) = 1.2e-4.
    step = _step(0.9, 10, 9, 0)
    reasons = SaturationRule().reasons(step, None)
    assert len(reasons) == 1 and reasons[0].startswith("throughput 0 req/s < offered 0.9")


def test_count_noise_of_a_small_step_is_not_saturation() -> None:
    # 8 of 10: P(X <= 8 | Poisson(10)) = 0.33, well above the test's 0.01
    assert SaturationRule().reasons(_step(1.0, 10, 10, 8), None) == []
