"""Budgets: an app without a per-user token cap keeps spending past it (flagged in layer 6);
the twin refuses the user once the cap is spent, and upstream spend stops within the in-flight
tolerance. Spend is checked against the tokens the real provider reported."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from system_apps import BudgetApp, Provider

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.results import Check, LayerResult
from aichaos.runner import EventBus, Runner

CASES = [Case(id="c1", input="Summarise my last order", expected=["order"])]


def run(cap: int | None) -> tuple[LayerResult, BudgetApp, Provider]:
    async def main() -> tuple[LayerResult, BudgetApp, Provider]:
        provider = Provider()
        await provider.start()
        port = free_port()
        app = BudgetApp(f"http://127.0.0.1:{port}", cap_tokens=cap)
        await app.start()
        try:
            exp: Any = parse_experiment({
                "title": "budget", "steady-state-hypothesis": None,
                "target": {"type": "http", "url": app.url + "/", "timeout_s": 5},
                "dependencies": {"llm": {"upstream": provider.url,
                                         "listen": f"127.0.0.1:{port}"}},
                "layers": {"capability": None, "scale": {
                    "arrival": "constant", "rates_rps": [5], "duration_s": 1.0}},
                "system": {"users": {"capped": {"headers": {"X-User": "capped"}},
                                     "other": {"headers": {"X-User": "other"}}},
                           "budget": {"dependency": "llm", "user": "capped",
                                      "cap_tokens": 40, "requests": 16, "concurrency": 2}},
                "runtime": {"seed": 5}})
            outcome = await Runner(exp, EventBus(), cases=CASES).run()
            return outcome.scorecard.layers[6], app, provider
        finally:
            await app.stop()
            await provider.stop()

    return asyncio.run(main())


def checks(layer: LayerResult) -> dict[str, Check]:
    prefix = "scale.system.budget."
    return {c.name.removeprefix(prefix): c for c in layer.checks if c.name.startswith(prefix)}


@pytest.mark.parametrize("cap", [None, 40], ids=["victim", "twin"])
def test_token_cap_enforced_and_upstream_spend_stops(cap: int | None) -> None:
    layer, app, _ = run(cap)
    c = checks(layer)
    figures = layer.metrics["system"]["budget"]
    # the meter at the proxy agrees with what the app itself added up from the provider
    assert figures["spent_tokens"] == app.spent["capped"]
    assert figures["largest_request_tokens"] == 8 and figures["tolerance_tokens"] == 16
    if cap is None:
        assert figures["spent_tokens"] == 16 * 8
        assert not c["spend_stopped"].passed and c["spend_stopped"].value == 16 * 8 - 40
        assert "upstream spend did not stop at the cap" in c["spend_stopped"].message
        assert not c["refused"].passed and c["refused"].value == figures["after_cap"] > 0
        assert layer.score is not None and layer.score <= 50
    else:
        assert 40 <= figures["spent_tokens"] <= 40 + 16
        assert c["spend_stopped"].passed, c["spend_stopped"].message
        assert c["refused"].passed and c["refused"].value == 0
        assert figures["refused_cleanly"] == figures["after_cap"] > 0
