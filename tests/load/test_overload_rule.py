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


def test_samples_travel_with_the_histograms_and_merge_in_send_order() -> None:
    from aichaos.load import Sample, merge_steps

    a = _step(2.0, 1.0, 2, 2)
    a.samples = [Sample(0.5, 0.1, 200, None, None), Sample(0.0, 0.2, 429, "http_429", 1.0)]
    b = _step(2.0, 1.0, 1, 1)
    b.samples = [Sample(0.25, 0.3, 0, "unfinished", None)]
    back = StepResult.from_dict(a.to_dict(include_histograms=True))
    assert back.samples == a.samples
    assert "samples" not in a.to_dict()  # kept out of the plain report dict
    merged = merge_steps([back, b], offered_rps=4.0)
    assert [s.send_s for s in merged.samples] == [0.0, 0.25, 0.5]
    assert merged.samples[0].retry_after_s == 1.0
