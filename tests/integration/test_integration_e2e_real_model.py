"""End to end: layer 3 against a tiny real app that calls the real SmolLM2 server through the
chaos proxy (dependency ``llm_provider``), with a 503 at toxicity 0.5 and a rate limit."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.runner import ActivityEnded, EventBus, Runner

pytestmark = pytest.mark.e2e

FALLBACK = "Sorry, the assistant is temporarily unavailable. Please try again later."
CASES = [
    Case(id="paris", input="What is the capital of France? Answer in one word.",
         expected=["Paris"]),
    Case(id="days", input="How many days are in a week? Answer with a number.",
         expected=["7", "seven"]),
]



class SupportApp:
    """Calls the model once; retries a 5xx once at once and a 429 once after Retry-After
    (capped at 2 s), then answers a fallback message."""

    def __init__(self, llm_url: str) -> None:
        self.llm_url = llm_url
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_post("/", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        question = (await request.json())["input"]
        body = {"model": "smollm2", "max_tokens": 12, "temperature": 0, "seed": 1,
                "messages": [{"role": "user", "content": question}]}
        for attempt in range(2):
            async with self._session.post(self.llm_url + "/v1/chat/completions",
                                          json=body) as r:
                if r.status == 200:
                    doc = await r.json()
                    return web.json_response(
                        {"output": doc["choices"][0]["message"]["content"]})
                wait = min(float(r.headers.get("Retry-After", "0")), 2.0)
            if attempt == 0:
                await asyncio.sleep(wait)
        return web.json_response({"output": FALLBACK})


async def test_integration_layer_against_real_model(llm_server: str) -> None:
    port = free_port()
    app = SupportApp(f"http://127.0.0.1:{port}")
    await app.start()
    exp = parse_experiment({
        "title": "support app survives provider trouble",
        "target": {"type": "http", "url": f"http://127.0.0.1:{app.port}/", "timeout_s": 60},
        "dependencies": {"llm_provider": {"upstream": llm_server.removesuffix("/v1"),
                                          "listen": f"127.0.0.1:{port}"}},
        "steady-state-hypothesis": None,
        "layers": {"capability": None, "integration": {
            "limit": 2, "timeout_s": 30, "recovery_timeout_s": 5, "toxics": [
                {"dependency": "llm_provider", "type": "http_error", "toxicity": 0.5,
                 "attributes": {"status": 503}},
                {"dependency": "llm_provider", "type": "rate_limit",
                 "attributes": {"retry_after_s": 1}},
            ]}},
        "runtime": {"seed": 42},
    })
    bus = EventBus()
    rollbacks: list[ActivityEnded] = []
    bus.subscribe(ActivityEnded, lambda e: rollbacks.append(e) if e.kind == "rollback" else None)
    t0 = time.monotonic()
    try:
        outcome = await Runner(exp, bus, cases=CASES).run()
    finally:
        await app.stop()
    print(f"integration e2e: {time.monotonic() - t0:.1f} s")  # ~30 s alone on 2 cores
    assert outcome.journal["status"] == "completed"
    layer = outcome.scorecard.layers[3]
    rows = layer.metrics["per_toxic"]
    assert set(rows) == {"http_error_downstream", "rate_limit_downstream"}

    err = rows["http_error_downstream"]
    assert sum(err["outcomes"].values()) == err["requests"] == 2
    # toxicity 0.5 over the attempts: some fired, and each fired attempt was retried once
    assert 1 <= err["fired"] <= err["upstream_calls"] <= 4
    assert err["upstream_calls"] == 2 + err["fired"] - err["outcomes"]["fallback"]
    assert err["success_rate"] == 1.0  # the model's answer or the fallback, never an error
    assert err["recovered"] is True and err["health_after"] == 1.0

    rl = rows["rate_limit_downstream"]
    assert rl["outcomes"] == {"correct": 0, "fallback": 2, "error": 0, "hang": 0, "crash": 0}
    assert rl["fired"] == rl["upstream_calls"] == 4  # 2 requests x (1 try + 1 retry)
    assert rl["upstream_calls_per_request"] == 2.0 and rl["retry_amplification"] == 2.0
    assert rl["retries_after_429"] == 2 and rl["wasted_attempts"] == 0
    assert rl["retry_after_honoured"] is True and rl["shortest_retry_gap_s"] >= 0.9
    assert rl["recovered"] is True and rl["recovery_s"] < 5

    checks = {c.name: c for c in layer.checks}
    assert checks["integration.rate_limit_downstream.retry_after_honoured"].passed
    assert checks["integration.rollback"].passed
    assert [f["toxic"] for f in layer.details["faults"]] == list(rows)
    # rollbacks ran and removed every toxic (per-toxic removals and the runner's reset)
    assert rollbacks and all(e.status == "succeeded" for e in rollbacks)
    assert any("rate_limit_downstream" in e.name for e in rollbacks)
    assert all(r["status"] == "succeeded" for r in outcome.journal["rollbacks"])
