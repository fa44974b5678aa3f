"""Real victim apps (and their fixed twins) for the layer-3 scenarios of shared/SCENARIOS.md.

Every app is a small aiohttp service on 127.0.0.1: ``POST /`` with ``{"input": "question N"}``
answers ``{"output": ...}``. It calls an OpenAI-like upstream (:class:`LLMUpstream`) *through*
the chaos proxy, whose listen addresses the test picks before the run. Each scenario's handler
takes ``fixed``: False is the victim with the public bug's defect, True the twin without it.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.runner import EventBus, Runner, RunOutcome

FALLBACK = "Sorry, the assistant is temporarily unavailable. Please try again later."
CASES = [Case(id=f"c{i}", input=f"question {i}", expected=[f"answer {i}"]) for i in (1, 2, 3)]



def number(text: str) -> int:
    m = re.search(r"\d+", text)
    return int(m.group()) if m else 0


# ------------------------------------------------------------------ the upstream


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


class LLMUpstream:
    """An OpenAI-like provider: chat completions (JSON or SSE, text or a ``lookup`` tool call)
    and embeddings. The answer to "question N" is "answer N — café ☕" (multi-byte UTF-8)."""

    def __init__(self) -> None:
        self.port = 0
        self.hits = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        doc = await request.json()
        n = number(doc["messages"][-1]["content"])
        args = json.dumps({"id": n})
        if not doc.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": f"answer {n} — café ☕"}
            if doc.get("tools"):
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "lookup", "arguments": args}}]}
            return web.json_response({"id": "chatcmpl-1", "object": "chat.completion",
                                      "choices": [{"index": 0, "message": message,
                                                   "finish_reason": "stop"}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        events = [_chunk({"role": "assistant", "content": ""})]
        if doc.get("tools"):
            events.append(_chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                  "function": {"name": "lookup",
                                                               "arguments": ""}}]}))
            events += [_chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                       for piece in (args[:-1], args[-1:])]  # "}" arrives with the end marker
            events[-1] = events[-1][:-2] + b"\n\n" + _chunk({}, "tool_calls")
        else:
            events += [_chunk({"content": w}) for w in ("answer ", str(n), " — café", " ☕")]
            events.append(_chunk({}, "stop"))
        events.append(b"data: [DONE]\n\n")
        for event in events:
            await resp.write(event)
        await resp.write_eof()
        return resp

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        doc = await request.json()
        return web.json_response({"object": "list", "data": [
            {"object": "embedding", "index": 0, "embedding": [len(doc["input"]) / 10, 0.5]}]})


# ------------------------------------------------------------ app scaffolding

Handler = Callable[["Ctx", str], Awaitable[str]]


@dataclass
class Ctx:
    """What a scenario handler gets: the HTTP session, the dependency URLs, and the variant."""

    session: aiohttp.ClientSession
    deps: dict[str, str]
    fixed: bool
    app: App

    def chat_body(self, question: str, **extra: Any) -> dict[str, Any]:
        return {"model": "m", "messages": [{"role": "user", "content": question}], **extra}


class App:
    """A victim or twin: ``POST /`` -> handler(ctx, input) -> ``{"output": ...}``.

    ``json_errors`` turns unhandled exceptions into a JSON 500 (a framework error handler);
    without it aiohttp answers its plain-text 500 page. ``die()`` stops the app the way a
    crashed process stops answering.
    """

    def __init__(self, handler: Handler, deps: dict[str, str], *, fixed: bool,
                 json_errors: bool = False, timeout: aiohttp.ClientTimeout | None = None):
        self.handler, self.deps, self.fixed, self.json_errors = handler, deps, fixed, json_errors
        self.timeout = timeout or aiohttp.ClientTimeout(total=None)
        self.port = 0
        self.dead = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        question = (await request.json())["input"]
        ctx = Ctx(self._session, self.deps, self.fixed, self)
        try:
            return web.json_response({"output": await self.handler(ctx, question)})
        except web.HTTPException:
            raise
        except Exception as exc:
            if not self.json_errors:
                raise
            return web.json_response({"error": f"internal error: {type(exc).__name__}"},
                                     status=500)

    def die(self) -> None:
        """Stop answering, as a crashed process would (later requests are refused)."""
        self.dead = True
        if self._runner is not None:
            runner, self._runner = self._runner, None
            asyncio.get_running_loop().create_task(runner.cleanup())

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()


def http_error(status: int, message: str) -> web.HTTPException:
    """A deliberate JSON error response."""
    return _ERRORS[status](text=json.dumps({"error": message}), content_type="application/json")


_ERRORS: dict[int, type[web.HTTPException]] = {429: web.HTTPTooManyRequests,
                                               503: web.HTTPServiceUnavailable}


# --------------------------------------------------------------- running one


@dataclass
class Scenario:
    """One row of shared/SCENARIOS.md: the fault, the app, and what aichaos must report."""

    id: str
    handler: Handler
    toxics: list[dict[str, Any]]
    finding: str  # text aichaos must report for the victim
    failing_check: str  # check suffix that fails for the victim (e.g. "success_rate")
    deps: tuple[str, ...] = ("llm_provider",)
    limit: int = 2
    layer: dict[str, Any] = field(default_factory=dict)
    json_errors: bool = False
    client_timeout: aiohttp.ClientTimeout | None = None  # the twin's (the victim has none)


async def run_scenario(sc: Scenario, *, fixed: bool) -> RunOutcome:
    """Start the upstream and the app, run the integration suite through the Runner, stop all."""
    upstream = LLMUpstream()
    await upstream.start()
    ports = {d: free_port() for d in sc.deps}
    app = App(sc.handler, {d: f"http://127.0.0.1:{p}" for d, p in ports.items()}, fixed=fixed,
              json_errors=sc.json_errors, timeout=sc.client_timeout if fixed else None)
    await app.start()
    try:
        exp = parse_experiment({
            "title": f"{sc.id} {'twin' if fixed else 'victim'}",
            "target": {"type": "http", "url": app.url, "timeout_s": 10},
            "dependencies": {d: {"upstream": upstream.url, "listen": f"127.0.0.1:{p}"}
                             for d, p in ports.items()},
            "steady-state-hypothesis": None,
            "layers": {"capability": None, "integration": {
                "toxics": sc.toxics, "limit": sc.limit, "timeout_s": 2,
                "recovery_timeout_s": 1, **sc.layer}},
            "runtime": {"seed": 7},
        })
        return await Runner(exp, EventBus(), cases=CASES).run()
    finally:
        await app.stop()
        await upstream.stop()


def layer_text(outcome: RunOutcome) -> str:
    """Every message aichaos wrote about layer 3: checks, findings and failing-case reasons."""
    layer = outcome.scorecard.layers[3]
    parts = [c.message for c in layer.checks] + [f.reason for f in layer.failing]
    parts += [str(x) for x in layer.metrics.get("findings", [])]
    return "\n".join(parts)


# ------------------------------------------------------------------ helpers for handlers


async def chat(ctx: Ctx, question: str, dep: str = "llm_provider", **extra: Any) -> Any:
    """One non-streamed chat call; returns the decoded JSON (raises on a non-2xx)."""
    async with ctx.session.post(ctx.deps[dep] + "/v1/chat/completions",
                                json=ctx.chat_body(question, **extra)) as r:
        r.raise_for_status()
        return await r.json()


def incremental_utf8() -> Callable[[bytes], str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    return decoder.decode
