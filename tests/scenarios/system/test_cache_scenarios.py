"""Cache correctness: aichaos flags a cache keyed without the user (layer 4) or without a
response-affecting parameter (layer 3), passes the twin keyed on both, and says "not measured"
when there is no cache.

Real HTTP on 127.0.0.1: an OpenAI-compatible app with a response cache, its LLM provider, and
the chaos proxy between them (started by the Runner from the experiment's dependencies).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from system_apps import CacheApp, Provider

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.results import Check, LayerResult
from aichaos.runner import EventBus, Runner, RunOutcome

CASES = [Case(id=f"c{i}", input=f"What is the return window for item {i}?") for i in (1, 2)]


def experiment(app_url: str, provider_url: str, port: int, log: Path) -> Any:
    return parse_experiment({
        "title": "cache scenario", "steady-state-hypothesis": None,
        "target": {"type": "openai", "base_url": app_url + "/v1", "model": "m", "stream": False,
                   "timeout_s": 5},
        "dependencies": {"llm": {"upstream": provider_url, "listen": f"127.0.0.1:{port}"}},
        "layers": {"capability": None,
                   "integration": {"toxics": [{"dependency": "llm", "type": "latency",
                                               "attributes": {"latency": 1}}],
                                   "limit": 1, "recovery_timeout_s": 1},
                   "safety": {"probes": ["pii_logs"], "log_file": str(log), "limit": 1}},
        "system": {"users": {"alice": {"extra_body": {"user": "alice"}},
                             "bob": {"extra_body": {"user": "bob"}}},
                   "cache": {"dependency": "llm", "cases": 2}},
        "runtime": {"seed": 5},
    })


def run(tmp_path: Path, key_without: str | None, cache: bool = True
        ) -> tuple[RunOutcome, Provider, CacheApp]:
    async def main() -> tuple[RunOutcome, Provider, CacheApp]:
        provider = Provider()
        await provider.start()
        port = free_port()
        app = CacheApp(f"http://127.0.0.1:{port}", key_without=key_without, cache=cache)
        await app.start()
        log = tmp_path / "app.log"
        log.write_text("", encoding="utf-8")
        try:
            exp = experiment(app.url, provider.url, port, log)
            return await Runner(exp, EventBus(), cases=CASES).run(), provider, app
        finally:
            await app.stop()
            await provider.stop()

    return asyncio.run(main())


def check(layer: LayerResult, name: str) -> Check:
    return next(c for c in layer.checks if c.name == name)


@pytest.mark.parametrize("key_without", ["user", None], ids=["victim", "twin"])
def test_cache_keyed_without_the_user_serves_one_user_anothers_answer(
        tmp_path: Path, key_without: str | None) -> None:
    outcome, provider, _ = run(tmp_path, key_without)
    layer4 = outcome.scorecard.layers[4]
    leak = check(layer4, "safety.system.cache_cross_user")
    cache = layer4.metrics["system"]["cache"]
    assert cache["detected"] is True and cache["hits"] == 2 and cache["hit_rate"] == 1.0
    assert cache["saved_upstream_calls"] == 2
    assert leak.not_measured is None
    if key_without == "user":
        assert not leak.passed and leak.value == 2
        assert "user 'bob' was served the cached answer of user 'alice' for 2/2 prompts" in \
            leak.message
        reasons = [f.reason for f in layer4.failing if f.variant == "system.cache.user.bob"]
        assert len(reasons) == 2 and all("carries nonce llm-" in r for r in reasons)
        assert layer4.score is not None and layer4.score <= 50
        assert "safety.system.cache_cross_user" in layer4.note
    else:
        assert leak.passed and leak.value == 0, leak.message
        assert "2/2 prompts sent as 'bob' after 'alice' missed the cache" in leak.message
        assert "system checks failed" not in layer4.note
    # the provider really was called once per cold prompt, plus once per miss
    bob_calls = [b for b in provider.bodies if b.get("user") == "bob"]
    assert len(bob_calls) == (0 if key_without == "user" else 2)


@pytest.mark.parametrize("key_without", ["temperature", None], ids=["victim", "twin"])
def test_cache_keyed_without_a_parameter_serves_the_cached_answer(
        tmp_path: Path, key_without: str | None) -> None:
    outcome, provider, _ = run(tmp_path, key_without)
    layer3 = outcome.scorecard.layers[3]
    keys = {c.name.rsplit(".", 1)[1]: c for c in layer3.checks
            if c.name.startswith("integration.system.cache_key.")}
    assert set(keys) == {"temperature", "max_tokens", "system_prompt", "seed"}
    for name, c in keys.items():
        broken = name == key_without
        assert c.passed is not broken and c.value == (2 if broken else 0), c.message
    assert layer3.metrics["system"]["cache"]["parameters_ignored"] == (
        [key_without] if key_without else [])
    # during an outage of the provider the cached answers were still served: stale service
    stale = layer3.metrics["system"]["cache"]["stale_during_outage"]
    assert stale["requests"] == 2 and stale["served_stale"] == 2 and stale["errors"] == 0
    assert all(0 < age < 30 for age in stale["ages_s"])
    if key_without:
        assert "cache key ignores temperature: 2/2 requests" in keys["temperature"].message
        assert layer3.score is not None and layer3.score <= 50
        # nothing reached the provider with the varied temperature
        assert not [b for b in provider.bodies if b.get("temperature") == 0.9]
    else:
        assert len([b for b in provider.bodies if b.get("temperature") == 0.9]) == 2
        assert layer3.score is not None and layer3.score > 50


def test_no_cache_is_not_measured_never_passed(tmp_path: Path) -> None:
    outcome, _, _ = run(tmp_path, None, cache=False)
    leak = check(outcome.scorecard.layers[4], "safety.system.cache_cross_user")
    temp = check(outcome.scorecard.layers[3], "integration.system.cache_key.temperature")
    for c in (leak, temp):
        assert not c.passed and c.value is None
        assert c.not_measured is not None and "no cache detected" in c.not_measured
        assert "1->1" in c.not_measured
    assert "stale_during_outage" not in outcome.scorecard.layers[3].metrics["system"]["cache"]
    figures = outcome.scorecard.layers[4].metrics["system"]["cache"]
    assert figures["hits"] == 0 and figures["repeats"] == 2 and figures["hit_rate"] == 0.0
