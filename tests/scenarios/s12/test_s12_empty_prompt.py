"""S12: an empty prompt takes the service down; aichaos must say so (health after the fault)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.runner import EventBus, Runner
from scenarios.s12.s12_app import App, start

CASES = [
    Case(id="refund", input="How long does a refund take?", expected=["5 business days"]),
    Case(id="password", input="How do I reset my password?", expected=["forgot password"]),
]


@pytest.fixture(params=[False, True], ids=["victim", "twin"])
def app(request: pytest.FixtureRequest) -> Iterator[App]:
    server = start(fixed=request.param)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def run(url: str) -> Any:
    experiment = parse_experiment({
        "title": "S12 empty prompt",
        "target": {"type": "http", "url": url, "body": {"input": "{{ input }}"},
                   "answer_path": "$.output", "timeout_s": 5},
        "layers": {"capability": {"enabled": False},
                   "input_resilience": {"perturbations": ["casing", "empty"], "severity": [1]}},
        "runtime": {"seed": 42, "concurrency": 1},
    })
    return asyncio.run(Runner(experiment, EventBus(), cases=CASES).run())


def test_empty_prompt_taking_the_service_down_is_flagged(app: App) -> None:
    outcome = run(app.url)
    layer = outcome.scorecard.layers[2]
    checks = {c.name: c for c in layer.checks}
    health = checks["input_resilience.health_after"]
    if not app.fixed:
        assert app.engine.dead
        assert health.passed is False and health.value == 1.0
        assert health.message.startswith("2/2 clean cases that answered before the "
                                         "perturbations fail after them (http_5xx): one bad "
                                         "input took the service down")
        assert sorted(health.cases) == ["password", "refund"]
        assert checks["input_resilience.crashes"].passed is False
        assert layer.failing[0].variant == "health_after"  # the outage is listed first
        assert outcome.journal["deviated"] is True  # steady state no longer holds
        assert outcome.exit_code == 1
    else:
        assert not app.engine.dead
        assert health.passed is True and health.value == 0.0
        assert checks["input_resilience.crashes"].passed is True
        assert checks["input_resilience.clarification"].value == 1.0
        assert layer.metrics["invariance_rate"] == 1.0 and layer.score == 100.0
        assert outcome.exit_code == 0
