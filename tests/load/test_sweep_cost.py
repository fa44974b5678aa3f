"""Knee detection on a target of known capacity, cancellation, histograms, cost arithmetic."""

from __future__ import annotations

import asyncio

import pytest

from aichaos.errors import ConfigError
from aichaos.load import (
    DEFAULT_PRICES,
    LatencyHistogram,
    ModelPrice,
    SaturationRule,
    StepSpec,
    estimate_cost,
    estimate_step_cost,
    lookup_price,
    run_sweep,
)


async def test_knee_found_at_known_capacity(sleep_target):
    # 4 slots x 20 ms service = 200 req/s capacity
    target = sleep_target(service_s=0.02, capacity=4)
    spec = StepSpec(profile="constant", duration_s=0.5)
    # the first two rates load it to 10% and 20%: far enough from the knee that a busy
    # machine's scheduling noise cannot make them look saturated
    sweep = await run_sweep(target, ["x"], [20, 40, 400, 800], spec)
    assert [s.offered_rps for s in sweep.steps] == [20, 40, 400]
    assert sweep.knee_rps == 400
    assert sweep.max_sustainable_rps == 40
    assert sweep.stopped_early and not sweep.interrupted
    knee = sweep.steps[-1]
    assert knee.saturated and not sweep.steps[0].saturated and not sweep.steps[1].saturated
    assert 150 < knee.achieved_rps < 215
    assert any("throughput" in r for r in knee.saturation_reasons)
    assert any("p95 E2E" in r for r in knee.saturation_reasons)
    assert sweep.to_dict()["knee_rps"] == 400


async def test_error_rate_rule(sleep_target):
    target = sleep_target(service_s=0.001, fail_every=5)
    spec = StepSpec(profile="constant", duration_s=0.2)
    sweep = await run_sweep(target, ["x"], [50, 100], spec, rule=SaturationRule(
        max_error_rate=0.1))
    assert sweep.knee_rps == 50 and sweep.max_sustainable_rps is None
    # (a starved event loop may add a throughput reason; the error rate must be there)
    assert "error rate 0.2 > 0.1" in sweep.steps[0].saturation_reasons


async def test_cancel_keeps_finished_steps(sleep_target):
    spec = StepSpec(profile="constant", duration_s=0.2)
    holder: list[asyncio.Task[object]] = []

    def progress(p) -> None:  # Ctrl-C arrives while the second step runs
        if p.step == 1 and p.phase == "start":
            asyncio.get_running_loop().call_soon(holder[0].cancel)

    task = asyncio.create_task(run_sweep(sleep_target(service_s=0.001), ["x"], [20, 40, 80],
                                         spec, progress=progress, stop_after_saturated=0))
    holder.append(task)
    sweep = await task
    assert sweep.interrupted
    assert [s.offered_rps for s in sweep.steps] == [20]


async def test_sweep_rejects_closed_profile(sleep_target):
    with pytest.raises(ConfigError, match="open-loop"):
        await run_sweep(sleep_target(), ["x"], [1], StepSpec(profile="closed"))


def test_histogram_merge_is_exact():
    a, b, whole = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for i in range(1, 5001):
        v = (i * 7919 % 10007) / 1000.0  # 1 ms .. 10 s, scrambled
        (a if i % 3 else b).record(v)
        whole.record(v)
    merged = LatencyHistogram.decode(a.encode())
    merged.merge(LatencyHistogram.decode(b.encode()))
    assert merged.equals(whole)
    assert merged.count == 5000
    for p in (50, 95, 99, 99.9):
        assert merged.percentile(p) == whole.percentile(p)
    # bounded relative error of 3 significant digits
    assert whole.percentile(50) == pytest.approx(5.0, rel=0.01)
    with pytest.raises(ValueError, match="not an encoded HdrHistogram"):
        LatencyHistogram.decode("garbage")


def test_histogram_clamps_out_of_range():
    h = LatencyHistogram()
    h.record(0.0)
    h.record(10_000.0)
    assert h.count == 2
    assert h.percentile(0) == 1e-6
    assert h.max() == pytest.approx(3600, rel=0.001)


def test_cost_arithmetic():
    price = lookup_price("gpt-4o-mini")  # $0.15 in, $0.60 out per 1M tokens
    est = estimate_cost(price, mean_input_tokens=1000, mean_output_tokens=500,
                        requests_per_day=10_000, model="gpt-4o-mini")
    assert est.cost_per_request_usd == pytest.approx(0.00045)
    assert est.cost_per_1k_requests_usd == pytest.approx(0.45)
    assert est.monthly_cost_usd == pytest.approx(135.0)
    retried = estimate_cost(price, mean_input_tokens=1000, mean_output_tokens=500,
                            requests_per_day=10_000, retry_amplification=1.5)
    assert retried.monthly_cost_usd == pytest.approx(202.5)
    assert est.to_dict()["model"] == "gpt-4o-mini"
    assert DEFAULT_PRICES["local"].output_per_mtok == 0.0


def test_cost_errors_are_one_line():
    with pytest.raises(ConfigError, match=r"no price for model 'nope'; known: .*gpt-4o"):
        lookup_price("nope")
    with pytest.raises(ConfigError, match="retry_amplification: expected >= 1"):
        estimate_cost(ModelPrice(1, 1), mean_input_tokens=1, mean_output_tokens=1,
                      retry_amplification=0.5)
    with pytest.raises(ConfigError, match="price: expected USD"):
        ModelPrice(-1, 0)


async def test_step_cost_uses_usage_tokens(sleep_target):
    from aichaos.load import run_step

    step = await run_step(sleep_target(service_s=0.001, tokens=4), ["x"],
                          StepSpec(profile="constant", rate_rps=100, duration_s=0.1))
    est = estimate_step_cost(step, ModelPrice(1.0, 2.0), requests_per_day=1000)
    # 10 input + 4 output tokens per request: (10 x 1 + 4 x 2) / 1e6 USD
    assert est.cost_per_request_usd == pytest.approx(18e-6)
    assert est.monthly_cost_usd == pytest.approx(18e-6 * 1000 * 30)


def test_throughput_rule_ignores_count_noise_of_small_steps():
    from aichaos.load import StepResult

    small = StepResult(index=0, profile="poisson", offered_rps=1.0, users=8, warmup_s=0,
                       duration_s=10, scheduled=10, window_completed=8, window_ok=8)
    assert SaturationRule().reasons(small, None) == []  # P(X <= 8 | Poisson(10)) = 0.33
    big = StepResult(index=0, profile="poisson", offered_rps=100.0, users=8, warmup_s=0,
                     duration_s=10, scheduled=1000, window_completed=800, window_ok=800)
    (reason,) = SaturationRule().reasons(big, None)
    assert reason.startswith("throughput 80 req/s < offered 100 req/s (exact Poisson test: "
                             "800 of 1000.0 expected completions, p = ")


def test_latency_baseline_is_the_lowest_earlier_p95():
    from aichaos.load import StepResult, SweepResult, mark_saturation

    def step(i: int, rate: float, latency_s: float) -> StepResult:
        s = StepResult(index=i, profile="poisson", offered_rps=rate, users=8, warmup_s=0,
                       duration_s=10, scheduled=10, window_completed=10, window_ok=10)
        for _ in range(10):
            s.histograms["e2e"].record(latency_s)
        return s

    # a cold first step (2 s), then 0.3 s, then 1.5 s = 5 x the 0.3 s baseline
    sweep = SweepResult(steps=[step(0, 1, 2.0), step(1, 2, 0.3), step(2, 4, 1.5)])
    mark_saturation(sweep, SaturationRule())
    assert [s.saturated for s in sweep.steps] == [False, False, True]
    assert sweep.knee_rps == 4 and sweep.max_sustainable_rps == 2
    assert sweep.steps[2].saturation_reasons == ["p95 E2E 1.5 s > 3 x baseline 0.3 s"]
