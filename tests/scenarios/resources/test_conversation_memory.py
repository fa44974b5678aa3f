"""Multi-turn (layer 6, scenario S19): memory that evicts the system message is flagged at the
turn it happens, from the upstream request the proxy saw; the twin that pins it passes; a
target without history is "not measured"."""

from __future__ import annotations

from typing import Any

import pytest
from context_apps import SYSTEM, context_app, reader_upstream
from conversation_apps import memory_app

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.results import LayerResult
from aichaos.runner import EventBus, Runner

CASES = [Case(id=f"c{i}", input=f"question {i}", expected=["ok"]) for i in range(3)]


async def run(kind: str, *, proxy: bool = True) -> LayerResult:
    upstream = await reader_upstream().start()
    port = free_port()
    llm = f"http://127.0.0.1:{port}" if proxy else upstream.url
    app = await (context_app("middle", llm) if kind == "stateless"
                 else memory_app(llm, fixed=kind == "twin")).start()
    try:
        data: dict[str, Any] = {
            "title": f"conversation {kind}",
            "target": {"type": "openai", "base_url": app.url + "/v1", "stream": False},
            "layers": {"capability": {"enabled": False},
                       "scale": {"arrival": "constant", "rates_rps": [5], "duration_s": 0.2,
                                 "conversation": {"turns": 12}}},
            "runtime": {"seed": 5}}
        if proxy:
            data["dependencies"] = {"llm_provider": {"upstream": upstream.url,
                                                     "listen": f"127.0.0.1:{port}"}}
        outcome = await Runner(parse_experiment(data), EventBus(), cases=CASES).run()
        return outcome.scorecard.layers[6]
    finally:
        await app.stop()
        await upstream.stop()


def check(layer: LayerResult) -> Any:
    return next(c for c in layer.checks if c.name == "scale.conversation.system_message")


async def test_memory_that_evicts_the_system_message_is_flagged_at_turn_5() -> None:
    layer = await run("victim")
    c = check(layer)
    assert not c.passed and c.not_measured is None
    assert "system message evicted at turn 5 of conversation 1" in c.message
    assert c.value == 8  # turns 5..12
    assert c.cases == ["conversation-1-turn-5"]
    turns = layer.details["conversation"]["turns"]
    assert [t["system_sent"] for t in turns[:5]] == [True, True, True, True, False]
    assert layer.details["conversation"]["system_message"] == SYSTEM
    assert set(layer.metrics["conversation_ttft_by_turn_s"]) == {str(i) for i in range(1, 13)}


async def test_memory_that_pins_the_system_message_passes() -> None:
    layer = await run("twin")
    c = check(layer)
    assert c.passed and c.value == 0, c.message
    assert "on all 12 turns" in c.message
    turns = layer.details["conversation"]["turns"]
    assert all(t["history_kept"] for t in turns[1:])
    assert max(t["upstream_messages"] for t in turns) == 8  # trimmed, system kept


@pytest.mark.parametrize(("kind", "proxy", "reason"), [
    ("stateless", True, "keeps no history per X-Session-Id (not session-aware)"),
    ("twin", False, "no chaos proxy in front of dependency 'llm_provider'"),
])
async def test_not_measured_with_the_reason(kind: str, proxy: bool, reason: str) -> None:
    c = check(await run(kind, proxy=proxy))
    assert not c.passed and c.value is None and reason in str(c.not_measured)
