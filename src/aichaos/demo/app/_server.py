"""HTTP layer of the support app: an OpenAI-compatible chat endpoint (aiohttp).

Routes: ``POST /v1/chat/completions`` (JSON, or SSE ``chat.completion.chunk`` events ending
with ``data: [DONE]`` when ``stream`` is true), ``GET /v1/models``, ``GET /health`` and, in the
hardened profile only, ``GET /metrics`` (Prometheus).

Errors before the first token: naive answers 500 ``{"error": {"message": "<Type>: <text>"}}``
(the exception passed through); hardened answers 400 for a malformed request and otherwise
always 200 (its pipeline turns failures into a fallback answer). A naive stream that fails
after its first token is cut (the connection closes without ``[DONE]``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from aiohttp import web

from aichaos.demo.app._retrieval import KnowledgeBase
from aichaos.demo.app._service import SupportService, Turn
from aichaos.demo.app._settings import AppSettings
from aichaos.demo.app._telemetry import Telemetry

log = logging.getLogger("aichaos.demo.app")
SERVICE_KEY = web.AppKey("service", SupportService)
CHAT_ROUTE = "/v1/chat/completions"


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind}}, status=status)


def _event(cid: str, model: str, **fields: Any) -> bytes:
    """One server-sent ``chat.completion.chunk`` event with ``fields`` (choices, usage)."""
    obj = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
           "model": model, **fields}
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


def _chunk(cid: str, model: str, delta: dict[str, str], finish: str | None) -> bytes:
    return _event(cid, model,
                  choices=[{"index": 0, "delta": delta, "finish_reason": finish}])


def _usage(turn: Turn) -> dict[str, int]:
    """OpenAI ``usage`` of one answer: the upstream model's tokens, as a provider bills them.

    ``completion_tokens`` counts the model's streamed chunks (llama-cpp-python streams one
    token per chunk); ``prompt_tokens`` is estimated as characters / 4 of the prompt the app
    built (question, retrieved passages and CRM facts), since llama-cpp-python's stream carries
    no usage. A cached or fixed answer used no model tokens.
    """
    prompt = turn.prompt_chars // 4 if turn.output_tokens else 0
    return {"prompt_tokens": prompt, "completion_tokens": turn.output_tokens,
            "total_tokens": prompt + turn.output_tokens}


def _usage_chunk(cid: str, model: str, turn: Turn) -> bytes:
    """The final chunk OpenAI sends when ``stream_options.include_usage`` is set."""
    return _event(cid, model, choices=[], usage=_usage(turn))


async def _traced_chat(request: web.Request) -> web.StreamResponse:
    """:func:`_chat` inside the request's SERVER span (hardened; naive has no tracer), which
    continues the caller's ``traceparent``; every span of the answer descends from it."""
    tel = request.app[SERVICE_KEY].telemetry
    with tel.server_span(request.method, CHAT_ROUTE, request.headers) as span:
        resp = await _chat(request)
        tel.record_response(span, resp.status)
        return resp


async def _chat(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE_KEY]
    s, tel = service.settings, service.telemetry
    start = time.perf_counter()
    turn = Turn()
    try:
        body: Any = await request.json()
        if s.hardened and (not isinstance(body, dict) or not isinstance(
                body.get("messages"), list)):
            tel.requests.labels("rejected").inc()
            return _error(400, "expected a JSON object with a 'messages' list",
                          "invalid_request_error")
        stream = bool(body.get("stream"))
        turn.no_cache = "no-cache" in request.headers.get("Cache-Control", "").lower()
        gen = service.respond(body, turn)
        first = await anext(gen, None)
    except Exception as exc:  # naive passes every error through as a 500
        if s.hardened and isinstance(exc, ValueError):
            tel.requests.labels("rejected").inc()
            return _error(400, "request body is not valid JSON", "invalid_request_error")
        log.exception("request failed")
        tel.requests.labels("error").inc()
        return _error(500, f"{type(exc).__name__}: {exc}", "server_error")
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    try:
        if not stream:
            parts = [first or ""]
            async for text in gen:
                parts.append(text)
            answer = "".join(parts)
            return web.json_response({
                "id": cid, "object": "chat.completion", "created": int(time.time()),
                "model": s.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                             "finish_reason": turn.finish_reason}],
                "usage": _usage(turn)})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
        await resp.prepare(request)
        await resp.write(_chunk(cid, s.model, {"role": "assistant"}, None))
        if first:
            await resp.write(_chunk(cid, s.model, {"content": first}, None))
        async for text in gen:
            await resp.write(_chunk(cid, s.model, {"content": text}, None))
        await resp.write(_chunk(cid, s.model, {}, turn.finish_reason))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            await resp.write(_usage_chunk(cid, s.model, turn))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
    except Exception:
        turn.outcome = "error"
        raise
    finally:
        elapsed = time.perf_counter() - start
        tel.requests.labels(turn.outcome).inc()
        tel.duration.observe(elapsed)
        if s.hardened:  # answers can echo personal data: log their length only
            log.info("answered outcome=%s latency_s=%.3f attempts=%d answer_chars=%d",
                     turn.outcome, elapsed, turn.attempts, len(turn.answer))
        else:
            log.info("answered outcome=%s latency_s=%.3f attempts=%d answer=%r", turn.outcome,
                     elapsed, turn.attempts, turn.answer[:300])


async def _health(request: web.Request) -> web.Response:
    s = request.app[SERVICE_KEY].settings
    return web.json_response({"status": "ok", "profile": s.profile, "model": s.model})


async def _models(request: web.Request) -> web.Response:
    model = request.app[SERVICE_KEY].settings.model
    return web.json_response({"object": "list", "data": [
        {"id": model, "object": "model", "owned_by": "northwind-gadgets"}]})


async def _metrics(request: web.Request) -> web.Response:
    data = request.app[SERVICE_KEY].telemetry.exposition()
    return web.Response(body=data, headers={"Content-Type": "text/plain; version=0.0.4"})


def build_app(settings: AppSettings, kb: KnowledgeBase | None = None,
              telemetry: Telemetry | None = None) -> web.Application:
    """The aiohttp application for ``settings`` (loads the knowledge base when ``kb`` is None).

    The hardened profile gets ``/metrics`` and OpenTelemetry; naive gets neither. ``telemetry``
    replaces the profile's own (tests pass one with an in-memory span exporter).
    """
    kb = kb or KnowledgeBase.load(cache_dir=settings.cache_dir)
    telemetry = telemetry or Telemetry(settings.hardened,
                                       f"northwind-support-{settings.profile}")
    service = SupportService(settings, kb, telemetry)
    app = web.Application()
    app[SERVICE_KEY] = service
    app.router.add_post(CHAT_ROUTE, _traced_chat)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/health", _health)
    if settings.hardened:
        app.router.add_get("/metrics", _metrics)

    async def close(_: web.Application) -> None:
        await service.aclose()
        telemetry.shutdown()

    app.on_cleanup.append(close)
    return app
