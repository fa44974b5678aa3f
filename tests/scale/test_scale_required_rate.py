"""Layer 6's required rate is the declared peak, never the mean of requests_per_day."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scale_support import CASES, CapacityTarget, experiment

from aichaos.errors import ConfigError
from aichaos.runner import EventBus, Runner


def _metrics(scale: dict[str, Any]) -> dict[str, Any]:
    outcome = asyncio.run(Runner(experiment(scale), EventBus(), target=CapacityTarget(0.01, 4),
                                 cases=CASES).run())
    return outcome.scorecard.layers[6].metrics


BASE = {"profile": "sweep", "arrival": "constant", "rates_rps": [2], "duration_s": 1.0}


def test_requests_per_day_alone_is_not_a_peak() -> None:
    # 172,800 requests a day is a mean of 2 req/s; the peak is unknown without a factor
    m = _metrics({**BASE, "requests_per_day": 172_800})
    assert m["required_rps_source"] != "requests_per_day / 86400 (mean rate)"
    assert "mean" not in m["required_rps_source"]


def test_peak_factor_scales_requests_per_day() -> None:
    m = _metrics({**BASE, "requests_per_day": 172_800, "peak_factor": 5})
    assert m["required_rps"] == 10.0
    assert m["required_rps_source"] == "requests_per_day / 86400 x peak_factor 5"


def test_peak_factor_without_requests_per_day_is_bad_input() -> None:
    with pytest.raises(ConfigError, match="peak_factor needs requests_per_day"):
        experiment({**BASE, "peak_factor": 3})


def test_metrics_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="metrics_url"):
        experiment({**BASE, "metrics_url": "ftp://127.0.0.1/metrics"})


@pytest.mark.parametrize(("budget", "passed"), [(0.01, True), (0.001, False)])
def test_cost_budget_is_a_check_and_a_score_factor(budget: float, passed: bool) -> None:
    # 10 input + 5 output tokens at gpt-4o-mini's 0.15 / 0.60 USD per 1M: 0.0045 USD per 1k
    outcome = asyncio.run(Runner(
        experiment({**BASE, "peak_rps": 1, "price_model": "gpt-4o-mini",
                    "max_cost_per_1k_usd": budget}),
        EventBus(), target=CapacityTarget(0.01, 4), cases=CASES).run())
    layer = outcome.scorecard.layers[6]
    cost = {c.name: c for c in layer.checks}["scale.cost"]
    assert cost.value == pytest.approx(0.0045)
    assert cost.passed is passed and cost.decided and cost.threshold == f"<= {budget:g}"
    assert cost.interval is not None and cost.interval.method == "exact"
    factor = 1.0 if passed else budget / 0.0045
    assert layer.details["score"]["C"] == pytest.approx(factor)
    g = layer.details["score"]["G"]
    assert layer.score == pytest.approx(round(100 * g * factor, 1))
