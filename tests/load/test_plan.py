"""The scale layer config → plan → run_scale path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from aichaos.config import ScaleLayer
from aichaos.errors import ConfigError
from aichaos.load import approx_tokens, plan_from_config, run_scale


def test_plan_from_config():
    layer = ScaleLayer(profile="sweep", arrival="constant", rates_rps=[5, 10], duration_s=0.2,
                       latency_factor=4, price_model="mine",
                       pricing={"mine": {"input_per_mtok": 1, "output_per_mtok": 2}},
                       requests_per_day=100)
    plan = plan_from_config(layer, seed=7)
    assert plan.spec.profile == "constant" and plan.spec.seed == 7
    assert plan.rates_rps == (5, 10) and plan.rule.latency_factor == 4
    assert plan.price is not None and plan.price.output_per_mtok == 2
    assert plan_from_config(ScaleLayer(price_model="gpt-4o")).price is not None
    with pytest.raises(ConfigError, match="no price for model 'nope'"):
        plan_from_config(ScaleLayer(price_model="nope"))
    with pytest.raises(ValidationError, match="greater than 0"):
        ScaleLayer(rates_rps=[0])


async def test_run_scale_sweep_and_cost(sleep_target):
    layer = ScaleLayer(profile="constant", rates_rps=[20, 40], duration_s=0.2,
                       price_model="gpt-4o-mini", requests_per_day=1000)
    res = await run_scale(sleep_target(service_s=0.001, tokens=2), ["x"],
                          plan_from_config(layer), retry_amplification=2.0)
    assert [s.offered_rps for s in res.sweep.steps] == [20, 40]
    assert res.cost is not None
    # 10 in + 2 out tokens at $0.15/$0.60 per 1M, twice (retries)
    assert res.cost.cost_per_request_usd == pytest.approx(2 * (10 * 0.15 + 2 * 0.60) / 1e6)
    assert res.context is None
    assert res.to_dict()["cost"]["retry_amplification"] == 2.0


async def test_run_scale_closed_loop(sleep_target):
    layer = ScaleLayer(profile="closed", concurrency=2, duration_s=0.2)
    res = await run_scale(sleep_target(service_s=0.01), ["x"], plan_from_config(layer))
    assert len(res.sweep.steps) == 1 and res.sweep.steps[0].offered_rps is None
    assert 25 < res.sweep.steps[0].completed <= 42


async def test_run_scale_names_the_token_counter(sleep_target: Any) -> None:
    # no usage in the answers: output tokens and context-probe lengths come from the counter,
    # and both say which counter it was
    layer = ScaleLayer(profile="constant", rates_rps=[20], duration_s=0.2,
                       context_window_tokens=64)
    res = await run_scale(sleep_target(service_s=0.001), ["x"], plan_from_config(layer),
                          token_counter=approx_tokens, token_counter_name="chars/4")
    assert res.sweep.steps[0].token_source == "chars/4"
    assert res.context is not None and res.context.token_estimate == "chars/4"
    default = await run_scale(sleep_target(service_s=0.001), ["x"], plan_from_config(layer),
                              token_counter=approx_tokens)
    assert default.sweep.steps[0].token_source == "tokenizer"


def test_planned_requests_of_a_plan() -> None:
    # constant 2 and 5 req/s over 0.25 s warm-up + 1 s: ceil(2.5) + ceil(6.25) = 3 + 7
    plan = plan_from_config(ScaleLayer(profile="constant", rates_rps=[2, 5], duration_s=1.0,
                                       warmup_s=0.25))
    assert plan.planned_requests() == 10
    assert plan_from_config(ScaleLayer(profile="closed")).planned_requests() is None
