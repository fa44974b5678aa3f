"""Layer-6 suite against in-process targets of known capacity: knee, metrics, checks, score."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scale_support import CASES, FAIL_CASES, CapacityTarget, NeedleTarget, experiment

from aichaos.errors import ConfigError
from aichaos.load import DEFAULT_PRICES_DATE
from aichaos.probes import SuiteContext, suites
from aichaos.probes._scale import LoadStepFinished, ScaleSuite, SuiteInterrupted
from aichaos.results import LayerResult
from aichaos.runner import EventBus, Runner

PRICING = {"m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}


def run_layer(scale: dict[str, Any], target: Any, *, slos: dict[str, Any] | None = None,
              cases: list[Any] = CASES) -> tuple[LayerResult, dict[str, Any],
                                                 list[LoadStepFinished]]:
    bus = EventBus()
    steps: list[LoadStepFinished] = []
    bus.subscribe(LoadStepFinished, steps.append)
    outcome = asyncio.run(Runner(experiment(scale, slos), bus, target=target,
                                 cases=cases).run())
    return outcome.scorecard.layers[6], outcome.journal, steps


def checks(layer: LayerResult) -> dict[str, Any]:
    return {c.name: c for c in layer.checks}


@pytest.mark.parametrize(("peak", "state"), [(4.0, "pass"), (8.0, "open")])
def test_knee_metrics_checks_and_score_at_known_capacity(peak: float, state: str) -> None:
    # one slot of 0.1 s: capacity 10 req/s. 2 and 5 req/s are served without queueing; at
    # 25 req/s the queue grows by 15 requests/s, so p95 E2E (~1.5 s) > 3 x baseline 0.1 s.
    # Capacity is read from the knee step's throughput (~10 req/s in a 1 s window: Garwood
    # interval about [4.8, 18]): above 4 for sure, but 8 sits inside the interval (open).
    layer, journal, events = run_layer(
        {"profile": "sweep", "arrival": "constant", "rates_rps": [2, 5, 25, 50],
         "duration_s": 1.0, "peak_rps": peak, "price_model": "m", "pricing": PRICING,
         "requests_per_day": 1000},
        CapacityTarget(service_s=0.1, capacity=1), slos={"latency_p95_s": {"max": 1.0}})
    assert journal["status"] == "completed"
    assert [a["activity"]["name"] for a in journal["run"]] == ["layer6.scale"]
    m = layer.metrics
    assert list(m)[:3] == ["max_sustainable_rps", "saturation_point_rps", "required_rps"]
    assert m["max_sustainable_rps"] == 5 and m["saturation_point_rps"] == 25
    assert m["required_rps"] == peak and m["required_rps_source"] == "peak_rps"
    assert m["steps"] == 3 and m["saturated_steps"] == 1  # stopped at the knee: 50 not run
    assert m["base_step_offered_rps"] == 5 and m["goodput_ratio"] == 1.0
    assert 0.09 <= m["latency_p95_s"] <= 0.2 and 0.045 <= m["ttft_p95_s"] <= 0.15
    assert m["error_rate"] == 0.0 and 4.0 <= m["achieved_rps"] <= 5.0
    # 10 input + 5 output tokens from usage: (10 x 1 + 5 x 2) / 1e6 USD per request
    assert m["cost_per_1k_requests_usd"] == pytest.approx(0.02)
    assert m["monthly_cost_usd"] == pytest.approx(0.6)
    assert m["cost_per_1k_requests_with_retries_usd"] == pytest.approx(0.02)
    assert m["retry_amplification"] == 1.0
    assert m["retry_amplification_source"].startswith("not measured")
    assert m["token_source"] == "usage" and m["price_date"] == "experiment pricing"
    assert layer.score == 100.0  # 100 x min(1, ~9.5 / peak) x 1
    c = checks(layer)
    sat = c["scale.saturation"]
    assert sat.passed is (state == "pass") and sat.decided is (state == "pass")
    assert 7 <= sat.value <= 10.5 and m["sustained_capacity_rps"] == sat.value
    assert sat.interval is not None and sat.interval.low < peak * 1.3 < sat.interval.high
    assert sat.interval.low > 4.0 and sat.interval.high <= 25
    assert sat.message.startswith("open: " if state == "open" else "capacity ")
    assert "2 req/s x 1 s: open (power 0." in sat.message  # 2 requests: no power
    assert "25 req/s x 1 s: overloaded" in sat.message
    assert layer.interval is not None and layer.grade_range is not None
    assert layer.interval.low < layer.score <= layer.interval.high
    assert sat.threshold == f">= {peak:g}"
    assert "saturated at 25 req/s: " in c["scale.saturation"].message
    assert "p95 E2E" in c["scale.saturation"].message
    assert c["scale.saturation"].cases == ["load-step-3"]
    assert c["scale.goodput"].passed and c["scale.error_rate"].passed
    assert "scale.context_window" not in c
    rows = layer.details["sweep"]
    assert [r["offered_rps"] for r in rows] == [2, 5, 25]
    assert [r["saturated"] for r in rows] == [False, False, True]
    assert rows[2]["p95_s"] > 1.0 > rows[1]["p95_s"]
    assert layer.details["score"]["capacity_factor"] == pytest.approx(min(1.0, sat.value / peak))
    assert [(e.step, e.offered_rps, e.saturated) for e in events] == [
        (0, 2, False), (1, 5, False), (2, 25, True)]
    assert layer.failing[0].case_id == "load-step-3"
    assert layer.failing[0].reason.startswith("saturated: ")
    assert "p95 E2E" in layer.failing[0].reason
    scorecard = journal["aichaos"]["scorecard"]["layers"][5]
    assert scorecard["key"] == "scale" and scorecard["details"]["sweep"][2]["offered_rps"] == 25


def test_errors_lower_goodput_and_fail_their_checks() -> None:
    # every 4th input answers 429: 8 constant arrivals in 2 s -> 2 errors, 6 good
    layer, _, _ = run_layer(
        {"arrival": "constant", "rates_rps": [4], "duration_s": 2.0, "max_error_rate": 0.5},
        CapacityTarget(service_s=0.01, capacity=4), cases=FAIL_CASES,
        slos={"success_rate": {"min": 0.99}})
    m, c = layer.metrics, checks(layer)
    assert m["saturation_point_rps"] is None and m["max_sustainable_rps"] == 4
    assert m["required_rps_source"].startswith("first sweep rate")
    assert m["goodput_ratio"] == 0.75 and m["error_rate"] == 0.25
    assert m["errors_by_group"] == {"429": 2}
    assert layer.score == 75.0  # 100 x min(1, 4 / 4) x 6/8
    # 8 requests hold no power against a 1.25x overload: open, not a pass
    assert not c["scale.saturation"].passed and c["scale.saturation"].decided is False
    assert "4 req/s x 2 s: open (power" in c["scale.saturation"].message
    assert not c["scale.goodput"].passed and c["scale.goodput"].message.startswith("6/8 ")
    assert not c["scale.error_rate"].passed and c["scale.error_rate"].threshold == "<= 0.01"
    assert "errors: 429 2" in c["scale.error_rate"].message
    assert c["scale.goodput"].cases == c["scale.error_rate"].cases == ["load-step-1"]
    assert [f.reason for f in layer.failing] == [
        "scale.goodput 0.75 (needs >= 0.9); scale.error_rate 0.25 (needs <= 0.01)"]
    assert "no peak declared" in layer.note
    assert "no per-request SLO" in layer.note and "no cost estimate" in layer.note
    assert "no saturation up to 4 req/s (capacity is at least that); add higher" in layer.note


def test_latency_slo_counts_slow_answers_out_of_goodput() -> None:
    # run directly: through the runner the steady-state hypothesis would fail first
    exp = experiment({"arrival": "constant", "rates_rps": [3], "duration_s": 1.0},
                     slos={"latency_p95_s": {"max": 0.05}})
    ctx = SuiteContext("run", exp, CapacityTarget(0.1, 2), CASES, EventBus(), seed=7)
    layer = asyncio.run(ScaleSuite(exp.layers.scale).run(ctx))
    assert layer.metrics["goodput_ratio"] == 0.0 and layer.metrics["goodput_rps"] == 0.0
    assert layer.metrics["error_rate"] == 0.0 and layer.score == 0.0
    assert "within E2E <= 0.05 s" in checks(layer)["scale.goodput"].message


def test_first_step_saturated_scores_zero_and_says_so() -> None:
    # 30 req/s at 10 req/s capacity: ~10 of 30 complete in the window (Poisson p ~ 1e-6);
    # capacity is then the knee's throughput, ~10 req/s (Garwood high ~18 < the 20 required)
    layer, _, events = run_layer(
        {"arrival": "constant", "rates_rps": [30, 60], "duration_s": 1.0, "peak_rps": 20},
        CapacityTarget(service_s=0.1, capacity=1))
    m = layer.metrics
    assert m["saturation_point_rps"] == 30 and m["max_sustainable_rps"] is None
    assert m["base_step_saturated"] is True and m["steps"] == 1 and len(events) == 1
    sat = checks(layer)["scale.saturation"]
    assert not sat.passed and sat.decided and 7 <= sat.value <= 10.5
    assert sat.interval is not None and sat.interval.high < 20
    assert "throughput" in sat.message
    assert layer.score is not None and layer.score <= 55  # 100 x ~10 / 20 x G
    assert "the first step already saturated: add lower rates" in layer.note


def test_cost_uses_the_retry_amplification_layer_3_left() -> None:
    exp = experiment({"arrival": "constant", "rates_rps": [5], "duration_s": 1.0,
                      "price_model": "gpt-4o-mini", "requests_per_day": 1000})
    ctx = SuiteContext("run", exp, CapacityTarget(0.05, 2), CASES, EventBus(), seed=7)
    ctx.facts["retry_amplification"] = 2.5
    suite = suites.create("scale", config=exp.layers.scale)
    assert isinstance(suite, ScaleSuite) and suites.get("scale").layer == 6
    layer = asyncio.run(suite.run(ctx))
    m = layer.metrics
    # gpt-4o-mini: 0.15 / 0.60 USD per 1M tokens; 10 in + 5 out = 4.5e-6 USD per request
    assert m["cost_per_1k_requests_usd"] == pytest.approx(0.0045)
    assert m["cost_per_1k_requests_with_retries_usd"] == pytest.approx(0.01125)
    assert m["monthly_cost_usd"] == pytest.approx(0.135)
    assert m["monthly_cost_with_retries_usd"] == pytest.approx(0.3375)
    assert m["retry_amplification"] == 2.5
    assert m["retry_amplification_source"] == "integration layer"
    assert m["price_date"] == DEFAULT_PRICES_DATE and m["price_model"] == "gpt-4o-mini"
    assert layer.details["cost"]["with_retries"]["retry_amplification"] == 2.5


def test_cancellation_keeps_the_finished_steps() -> None:
    exp = experiment({"arrival": "constant", "rates_rps": [2, 3, 4], "duration_s": 1.0})
    bus = EventBus()
    ctx = SuiteContext("run", exp, CapacityTarget(0.05, 2), CASES, bus, seed=7)
    suite = ScaleSuite(exp.layers.scale)

    async def main() -> SuiteInterrupted:
        task = asyncio.create_task(suite.run(ctx))
        bus.subscribe(LoadStepFinished, lambda e: task.cancel())  # Ctrl-C after step 1
        with pytest.raises(SuiteInterrupted) as info:
            await task
        return info.value

    partial = asyncio.run(main()).partial
    assert isinstance(partial, LayerResult) and partial.layer == 6
    assert partial.metrics["steps"] == 1 and partial.metrics["interrupted"] is True
    assert partial.metrics["max_sustainable_rps"] == 2
    assert [r["offered_rps"] for r in partial.details["sweep"]] == [2]
    assert partial.note.startswith("interrupted after 1 of 3 steps")


@pytest.mark.parametrize(("truncate", "passed", "verdicts"), [
    (True, False, "0.5: recalled, 0.9: recalled, 1: silent_truncation, 1.5: silent_truncation"),
    (False, True, "0.5: recalled, 0.9: recalled, 1: recalled, 1.5: error"),
])
def test_context_window_probe(truncate: bool, passed: bool, verdicts: str) -> None:
    limit = 240 if truncate else 256
    layer, _, _ = run_layer({"arrival": "constant", "rates_rps": [20], "duration_s": 0.2,
                             "context_window_tokens": 256},
                            NeedleTarget(limit, truncate=truncate))
    check = checks(layer)["scale.context_window"]
    assert check.passed is passed and layer.metrics["context_verdicts"] == verdicts
    assert layer.metrics["context_silent_truncation"] is truncate
    assert layer.details["context_window"]["window_tokens"] == 256
    assert layer.details["context_window"]["token_estimate"] == "chars/4"
    assert "(chars/4 lengths)" in check.message
    if truncate:
        assert check.cases == ["context-1", "context-1.5"] and check.value == 2
        assert [f.case_id for f in layer.failing] == ["context-1", "context-1.5"]
    else:
        assert check.cases == [] and "150% (384 tokens): error [http_4xx]" in check.message


def test_unpriced_model_is_a_config_error_naming_the_field() -> None:
    exp = experiment({"rates_rps": [1], "duration_s": 0.1, "price_model": "nope"})
    ctx = SuiteContext("run", exp, CapacityTarget(), CASES, EventBus(), seed=7)
    with pytest.raises(ConfigError, match=r"^layers.scale: pricing: no price for model 'nope'"):
        asyncio.run(ScaleSuite(exp.layers.scale).run(ctx))


def test_ctrl_c_during_the_sweep_interrupts_the_run() -> None:
    exp = experiment({"arrival": "constant", "rates_rps": [2, 3, 4], "duration_s": 1.0})
    bus = EventBus()

    async def main() -> Any:
        task = asyncio.create_task(Runner(exp, bus, target=CapacityTarget(0.05, 2),
                                          cases=CASES).run())
        bus.subscribe(LoadStepFinished, lambda e: task.cancel())
        return await task

    outcome = asyncio.run(main())
    assert outcome.journal["status"] == "interrupted" and outcome.exit_code == 130
