"""The pre-run estimate: planned requests after budgets and the hard cap, time and cost."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.session import estimate_run
from aichaos.session._estimate import print_estimate

CASES = [Case(id=f"c{i}", input="x" * 40, expected=["y"]) for i in range(30)]


def experiment(runtime: dict[str, Any], capability: dict[str, Any] | None = None) -> Any:
    return parse_experiment({
        "title": "estimate", "target": {"type": "openai", "base_url": "http://127.0.0.1:9/v1",
                                        "max_tokens": 20},
        "steady-state-hypothesis": {"sample": 2},
        "layers": {"capability": {"scorer": {"type": "contains"}, **(capability or {})}},
        "runtime": {"seed": 1, "concurrency": 2, **runtime}})


def test_requests_time_and_cost_from_planned_counts_and_the_declared_price() -> None:
    est = estimate_run(experiment({"price_model": "gpt-4o"}), CASES, None, latency_s=0.5)
    assert est.requests == 2 * 2 + 30
    assert est.layers[1] == (30, pytest.approx(30 * 0.5 / 2))
    assert est.seconds == pytest.approx(34 * 0.25)
    # gpt-4o: $2.50 / $10.00 per 1M tokens; 40 characters = 10 input tokens, 20 output
    assert est.cost_usd == pytest.approx(34 * (10 * 2.5e-6 + 20 * 10e-6))
    console = Console(record=True, width=200)
    print_estimate(console, est)
    assert console.export_text().splitlines()[0] == (
        "estimate: 34 requests, ~8 s, ~$0.0077 (latency 0.50 s from default, confidence "
        "fixed)")


def test_budgets_and_the_hard_cap_bound_the_estimate() -> None:
    est = estimate_run(experiment({"confidence": "decided", "max_requests": 20},
                                  {"budget": {"requests": 12}}), CASES, None)
    assert est.layers[1][0] == 12 and est.requests == 4 + 12 and est.cost_usd is None
    capped = estimate_run(experiment({"max_requests": 10}), CASES, None)
    assert capped.requests == 10
    console = Console(record=True, width=200)
    print_estimate(console, capped)
    assert "hard cap runtime.max_requests 10" in console.export_text()
