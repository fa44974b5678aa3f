"""The layer-3 suite: degradation classes, Retry-After analysis, scoring, config errors, and
rollbacks on interruption, against real apps and a real upstream behind the chaos proxy."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from chaos_apps import FALLBACK, App, Ctx, LLMUpstream
from pydantic import ValidationError

from aichaos.config import IntegrationLayer, parse_experiment
from aichaos.config._integration import DEFAULT_FALLBACK_PATTERNS
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.errors import ConfigError
from aichaos.faults import build_toxic
from aichaos.probes._integration import Observation, classify, retry_after_gaps
from aichaos.proxy import TrafficRecord
from aichaos.report._html import layer_charts
from aichaos.runner import CaseResult, CaseSent, EventBus, Runner, ToxicApplied, ToxicRemoved

PATTERNS = [re.compile(p, re.IGNORECASE) for p in DEFAULT_FALLBACK_PATTERNS]
CASES = [Case(id=f"c{i}", input=f"question {i}", expected=[f"answer {i}"]) for i in (1, 2)]


def result(**kw: Any) -> CaseResult:
    base: dict[str, Any] = {"run_id": "r", "layer": 3, "suite": "integration", "case_id": "c1",
                            "variant": "t", "input": "q", "expected": None, "output": "",
                            "passed": False, "score": 0.0}
    return CaseResult(**{**base, **kw})


@pytest.mark.parametrize(("kw", "control_failed", "want"), [
    ({"passed": True, "output": "answer 1"}, False, "correct"),
    ({"output": FALLBACK}, False, "fallback"),
    ({"output": "We're currently overloaded, please try again."}, False, "fallback"),
    ({"output": "answer 7"}, False, "error"),  # a 2xx with the wrong answer
    ({"output": "answer 7"}, True, "correct"),  # ...that the control run got wrong too
    ({"error_class": "timeout", "error": "no answer"}, False, "hang"),
    ({"error_class": "connection", "error": "ConnectError"}, False, "crash"),
    ({"error_class": "exception", "error": "KeyError"}, False, "crash"),
    ({"error_class": "stream", "error": "RemoteProtocolError: peer closed"}, False, "crash"),
    ({"error_class": "stream", "error": "mid-stream error event: Overloaded"}, False, "error"),
    ({"error_class": "http_5xx", "status": 500,
      "error": "HTTP 500, body is not JSON: '500 Internal Server Error'"}, False, "crash"),
    ({"error_class": "http_5xx", "status": 503, "error": "HTTP 503: {'error': 'x'}"}, False,
     "error"),
    ({"error_class": "http_429", "status": 429, "error": "HTTP 429: {}"}, False, "error"),
    ({"error_class": "http_5xx", "status": 503, "output": FALLBACK,
      "error": "HTTP 503: sorry, try again later"}, False, "error"),  # fallback needs a 2xx
])
def test_degradation_classes(kw: dict[str, Any], control_failed: bool, want: str) -> None:
    assert classify(result(**kw), PATTERNS, control_failed) == want


def test_retry_after_gaps_are_measured_per_user_request() -> None:
    toxic = build_toxic({"name": "rl", "type": "rate_limit", "attributes": {"retry_after_s": 2}})

    def rec(n: int, started: float, status: int, fired: bool) -> TrafficRecord:
        return TrafficRecord(f"llm-{n}", "llm", "POST", "/v1/chat/completions", status=status,
                             started=started, ttfb_s=0.01, upstream=not fired,
                             toxics=["rl"] if fired else [])

    first = Observation(result(), "error", 100.0, 103.0, [
        rec(1, 100.0, 429, True), rec(2, 100.21, 429, True), rec(3, 102.3, 200, False)])
    second = Observation(result(), "correct", 103.0, 104.0, [rec(4, 103.5, 200, False)])
    gaps = retry_after_gaps([first, second], toxic)
    assert [round(g, 2) for g in gaps] == [0.2, 2.08]  # nothing across user requests


async def run(toxics: list[dict[str, Any]], handler: Any, *, fixed: bool = True,
              deps: tuple[str, ...] = ("llm_provider",), bus: EventBus | None = None,
              **layer: Any) -> Any:
    upstream = LLMUpstream()
    await upstream.start()
    ports = {d: free_port() for d in deps}
    app = App(handler, {d: f"http://127.0.0.1:{p}" for d, p in ports.items()}, fixed=fixed)
    await app.start()
    try:
        exp = parse_experiment({
            "title": "suite", "target": {"type": "http", "url": app.url, "timeout_s": 10},
            "dependencies": {d: {"upstream": upstream.url, "listen": f"127.0.0.1:{p}"}
                             for d, p in ports.items()},
            "steady-state-hypothesis": None,
            "layers": {"capability": None, "integration": {
                "toxics": toxics, "timeout_s": 1, "recovery_timeout_s": 0.5, **layer}},
            "runtime": {"seed": 3},
        })
        return await Runner(exp, bus or EventBus(), cases=CASES).run()
    finally:
        await app.stop()
        await upstream.stop()


async def plain_chat(ctx: Ctx, q: str) -> str:
    """Answers the model's text; upstream errors become a fallback when ``fixed``."""
    async with ctx.session.post(ctx.deps["llm_provider"] + "/v1/chat/completions",
                                json=ctx.chat_body(q)) as r:
        if r.status != 200:
            if ctx.fixed:
                return FALLBACK
            r.raise_for_status()
        doc = await r.json()
    return str(doc["choices"][0]["message"]["content"])


async def test_score_is_mean_success_rate_with_rows_for_the_outcome_matrix() -> None:
    outcome = await run([
        {"dependency": "llm_provider", "type": "http_error", "attributes": {"status": 503}},
        {"dependency": "llm_provider", "type": "latency", "name": "slow",
         "attributes": {"latency": 50}},
        {"dependency": "llm_provider", "type": "reset_peer", "name": "reset"},
    ], plain_chat, fixed=False)
    layer = outcome.scorecard.layers[3]
    rows = layer.metrics["per_toxic"]
    assert rows["http_error_downstream"]["outcomes"]["crash"] == 2  # raise_for_status -> 500
    assert rows["slow"]["outcomes"] == {"correct": 2, "fallback": 0, "error": 0, "hang": 0,
                                        "crash": 0}
    assert rows["slow"]["e2e_p50_s"] >= 0.05
    assert rows["reset"]["outcomes"]["crash"] == 2
    assert [r["fired"] for r in rows.values()] == [2, 2, 2]
    assert layer.score == pytest.approx((0 + 100 + 0) / 3, abs=0.1)
    assert layer.metrics["crash_rate"] == pytest.approx(4 / 6)
    assert "http_error_downstream: server error on upstream HTTP 503" not in \
        layer.metrics["findings"]  # an unhandled exception page is a crash, not an error
    assert "http_error_downstream: crash on upstream HTTP 503 (2/2 requests)" in \
        layer.metrics["findings"]
    checks = {c.name: c for c in layer.checks}
    assert checks["integration.slow.success_rate"].passed
    assert not checks["integration.reset.success_rate"].passed
    assert checks["integration.reset.success_rate"].cases == ["c1", "c2"]
    assert not checks["integration.success_rate"].passed
    assert checks["integration.recovered"].passed and checks["integration.rollback"].passed
    assert {f.variant for f in layer.failing} == {"http_error_downstream", "reset"}
    assert all(f.reproduce.startswith("aichaos replay ") for f in layer.failing)
    _, matrix = layer_charts(layer.details)
    assert matrix is not None and [r[0] for r in matrix["rows"]] == list(rows)
    # control + 3 toxics x (fault + recovery), 2 cases each, every case published
    variants = [r["toxic"] for r in layer.details["faults"]]
    assert variants == ["http_error_downstream", "slow", "reset"]


async def test_quota_retries_are_wasted_and_capped() -> None:
    async def retry_twice(ctx: Ctx, q: str) -> str:
        for _ in range(3):
            async with ctx.session.post(ctx.deps["llm_provider"] + "/v1/chat/completions",
                                        json=ctx.chat_body(q)) as r:
                if r.status == 200:
                    return str((await r.json())["choices"][0]["message"]["content"])
        return FALLBACK

    outcome = await run([{"dependency": "llm_provider", "type": "quota"}], retry_twice)
    row = outcome.scorecard.layers[3].metrics["per_toxic"]["quota_downstream"]
    assert row["quota_retries"] == 4 and row["success_rate"] == 1.0
    assert row["score"] == 50.0 and row["penalties"] == ["quota_retried"]
    assert row["upstream_calls_per_request"] == 3.0 and row["retry_amplification"] == 3.0


async def test_interrupt_during_a_hang_still_removes_the_toxic() -> None:
    bus = EventBus()
    task: asyncio.Task[Any] | None = None

    def on_sent(event: CaseSent) -> None:
        if event.variant == "hang_downstream" and task is not None:
            asyncio.get_running_loop().call_later(0.2, task.cancel)

    bus.subscribe(CaseSent, on_sent)
    task = asyncio.ensure_future(run([{"dependency": "llm_provider", "type": "hang"}],
                                     plain_chat, bus=bus, timeout_s=30))
    outcome = await asyncio.wait_for(task, 10)
    assert outcome.journal["status"] == "interrupted"
    names = [r["activity"]["name"] for r in outcome.journal["rollbacks"]]
    assert "remove toxic hang_downstream from dependency llm_provider" in names
    assert all(r["status"] == "succeeded" for r in outcome.journal["rollbacks"])


async def test_bad_configuration_names_the_field_before_anything_is_sent() -> None:
    with pytest.raises(ConfigError, match=re.escape(
            "layers.integration.toxics[0].dependency: unknown dependency 'crm'; "
            "known: llm_provider")):
        await run([{"dependency": "crm", "type": "latency"}], plain_chat)
    with pytest.raises(ConfigError, match=re.escape(
            "layers.integration.toxics[0]: toxic 'latency': attribute latency: "
            "expected >= 0 ms, got -5")):
        await run([{"dependency": "llm_provider", "type": "latency",
                    "attributes": {"latency": -5}}], plain_chat)
    with pytest.raises(ConfigError, match=re.escape(
            "toxics[0].fallback: unknown dependency 'backup'")):
        await run([{"dependency": "llm_provider", "type": "quota", "fallback": "backup"}],
                  plain_chat)
    with pytest.raises(ValidationError, match=r"fallback_patterns\[1\]: invalid regex '\('"):
        IntegrationLayer(fallback_patterns=["ok", "("])


async def test_no_dependencies_is_a_config_error() -> None:
    exp = parse_experiment({
        "title": "t", "target": {"type": "mock"}, "steady-state-hypothesis": None,
        "layers": {"capability": None, "integration": {"toxics": [
            {"dependency": "llm", "type": "latency"}]}}})
    with pytest.raises(ConfigError, match=re.escape(
            "layers.integration: needs `dependencies:` (the chaos proxy sits in front of "
            "each), the experiment has none")):
        await Runner(exp, EventBus(), cases=CASES).run()


async def test_a_fault_that_never_fires_is_not_a_pass() -> None:
    """An app answering from a cache that ignores Cache-Control never calls the dependency:
    the toxic never fires, so the layer must say "not exercised", never "100"."""
    cache: dict[str, str] = {}

    async def cached_chat(ctx: Ctx, q: str) -> str:
        if q not in cache:
            cache[q] = await plain_chat(ctx, q)
        return cache[q]

    outcome = await run([{"dependency": "llm_provider", "type": "http_error", "name": "down",
                          "attributes": {"status": 503}}], cached_chat)
    layer = outcome.scorecard.layers[3]
    assert layer.score is None and layer.note.startswith("not measured")
    checks = {c.name: c for c in layer.checks}
    assert not checks["integration.down.exercised"].passed
    assert "fault not exercised" in checks["integration.down.exercised"].message
    assert checks["integration.rollback"].passed
    assert "integration.down.success_rate" not in checks


async def test_probes_ask_for_no_cache_so_an_honest_cache_is_bypassed() -> None:
    from aiohttp import web

    from aichaos.config import HttpTargetConfig
    from aichaos.targets import NO_CACHE, HttpTarget, TargetRequest

    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cache-Control", ""))
        return web.json_response({"output": "ok"})

    app = web.Application()
    app.router.add_post("/ask", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    target = HttpTarget(HttpTargetConfig(type="http", url=f"http://127.0.0.1:{port}/ask"))
    try:
        await target.send(TargetRequest("q", metadata={"headers": NO_CACHE}))
        await target.send(TargetRequest("q"))
    finally:
        await target.aclose()
        await runner.cleanup()
    assert seen == ["no-cache", ""]


async def test_the_runner_publishes_each_toxic_applied_and_removed() -> None:
    bus = EventBus()
    events: list[Any] = []
    bus.subscribe(ToxicApplied, events.append)
    bus.subscribe(ToxicRemoved, events.append)
    outcome = await run([{"dependency": "llm_provider", "type": "latency", "name": "slow",
                          "attributes": {"latency": 10}}], plain_chat, bus=bus)
    assert outcome.journal["status"] == "completed"
    assert [type(e).__name__ for e in events] == ["ToxicApplied", "ToxicRemoved"]
    applied, removed = events
    assert applied.run_id == outcome.run_id and applied.dependency == "llm_provider"
    assert applied.toxic["name"] == "slow" and applied.toxic["type"] == "latency"
    assert (removed.dependency, removed.name) == ("llm_provider", "slow")


async def test_a_toxic_that_survives_the_reset_fails_the_run_with_rollback_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aichaos.proxy import ChaosProxy

    monkeypatch.setattr(ChaosProxy, "remove_toxic", lambda self, proxy, name: None)
    monkeypatch.setattr(ChaosProxy, "reset", lambda self: None)  # a proxy that cannot undo
    outcome = await run([{"dependency": "llm_provider", "type": "latency", "name": "slow",
                          "attributes": {"latency": 10}}], plain_chat)
    assert outcome.journal["status"] == "failed" and outcome.exit_code == 1
    [final] = [r for r in outcome.journal["rollbacks"]
               if r["activity"]["name"] == "remove every toxic from the chaos proxy"]
    assert final["status"] == "failed"
    assert final["exception"] == ["RollbackError('toxics still active after reset')"]
