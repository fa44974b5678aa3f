"""Failover verified: a fallback that never hands traffic back to the primary and a chain
that retries each hop are flagged; a breaker that fails over once and returns passes. Every
verdict is checked against the calls the two real providers counted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from system_apps import FailoverApp, Provider

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.results import Check, LayerResult
from aichaos.runner import EventBus, Runner
from aichaos.system import revisits

CASES = [Case(id="c1", input="Where is my parcel?", expected=["parcel"])]


def run(mode: str) -> tuple[LayerResult, Provider, Provider]:
    async def main() -> tuple[LayerResult, Provider, Provider]:
        primary, backup = Provider(), Provider()
        await primary.start()
        await backup.start()
        ports = {"primary": free_port(), "backup": free_port()}
        app = FailoverApp(*(f"http://127.0.0.1:{ports[d]}" for d in ("primary", "backup")),
                          mode=mode)
        await app.start()
        try:
            exp: Any = parse_experiment({
                "title": "failover", "steady-state-hypothesis": None,
                "target": {"type": "http", "url": app.url + "/", "timeout_s": 10},
                "dependencies": {d: {"upstream": p.url, "listen": f"127.0.0.1:{ports[d]}"}
                                 for d, p in (("primary", primary), ("backup", backup))},
                "layers": {"capability": None, "integration": {
                    "toxics": [{"dependency": "backup", "type": "latency",
                                "attributes": {"latency": 1}}],
                    "limit": 1, "recovery_timeout_s": 1}},
                "system": {"failover": {"primary": "primary", "fallbacks": ["backup"],
                                        "cases": 3, "max_attempts": 3, "max_return_s": 1.5}},
                "runtime": {"seed": 5}})
            outcome = await Runner(exp, EventBus(), cases=CASES).run()
            return outcome.scorecard.layers[3], primary, backup
        finally:
            await app.stop()
            await primary.stop()
            await backup.stop()

    return asyncio.run(main())


def checks(layer: LayerResult) -> dict[str, Check]:
    prefix = "integration.system.failover."
    return {c.name.removeprefix(prefix): c for c in layer.checks if c.name.startswith(prefix)}


def fault_prompts(provider: Provider) -> int:
    return sum("-fo-fault-" in b["messages"][-1]["content"] for b in provider.bodies)


@pytest.mark.parametrize("mode", ["sticky", "breaker"], ids=["victim", "twin"])
def test_fallback_that_never_returns_to_the_primary(mode: str) -> None:
    layer, primary, backup = run(mode)
    c = checks(layer)
    figures = layer.metrics["system"]["failover"]
    assert c["served"].passed and c["served"].value == 3, c["served"].message
    assert fault_prompts(backup) == 3 and fault_prompts(primary) == 0  # the toxic answered
    assert c["attempts"].passed and c["cyclic"].passed
    returned = sum("-fo-return-" in b["messages"][-1]["content"] for b in primary.bodies)
    if mode == "sticky":
        assert not c["return_to_primary"].passed and c["return_to_primary"].value is None
        assert "traffic never returned to 'primary' within 1.5 s" in \
            c["return_to_primary"].message
        assert returned == 0 and figures["return_requests"] >= 3
        assert layer.score is not None and layer.score <= 50
    else:
        back = c["return_to_primary"]
        assert back.passed and isinstance(back.value, float) and 0 < back.value < 1.5
        assert returned == 1
        assert layer.score is not None and layer.score > 50
        assert c["correlated"].passed and c["correlated"].message.startswith(
            "clean error (HTTP 503): 'primary', 'backup' all answered 503 at once")


def test_correlated_fault_answered_as_a_silent_success() -> None:
    layer, primary, backup = run("silent")
    c = checks(layer)
    assert not c["correlated"].passed and c["correlated"].value == 0.0
    assert c["correlated"].message.startswith("silent failure: 2xx answer '' while every "
                                              "deployment was down")
    assert layer.metrics["system"]["failover"]["correlated_outcome"] == "silent_failure"
    # neither provider saw the request: both proxies answered it
    for p in (primary, backup):
        assert not [b for b in p.bodies if "-fo-correlated-" in b["messages"][-1]["content"]]
    assert c["served"].passed and c["return_to_primary"].passed  # only this check fails


def test_fallback_chain_that_retries_each_hop_exceeds_the_attempt_budget() -> None:
    layer, primary, backup = run("retry_each_hop")
    assert fault_prompts(primary) == 0  # every primary attempt was answered by the toxic
    c = checks(layer)
    assert not c["attempts"].passed and c["attempts"].value == 4, c["attempts"].message
    assert "at most 4 upstream attempts per request" in c["attempts"].message
    assert "3/3 over" in c["attempts"].message
    assert layer.metrics["system"]["failover"]["chains"][0] == ["primary"] * 3 + ["backup"]
    assert fault_prompts(backup) == 3  # one backup call each: the backup was healthy
    reasons = [f.reason for f in layer.failing if f.variant == "system.failover.fault"]
    assert any("4 upstream attempts for one request (budget 3)" in r for r in reasons)


def test_revisits_flags_a_chain_that_comes_back() -> None:
    assert revisits(["a", "b", "a"]) and revisits(["a", "a", "b", "c", "b"])
    assert not revisits(["a", "a", "a", "b"]) and not revisits([]) and not revisits(["a"])
