"""A scripted LLM: a small real HTTP server speaking OpenAI's chat-completions protocol.

It answers ``POST /v1/chat/completions`` with a fixed reply, as one JSON body or, when the
request says ``"stream": true``, as server-sent events the way OpenAI streams them
(https://platform.openai.com/docs/api-reference/chat-streaming): a first chunk with
``delta.role``, one chunk per piece of the reply, a last chunk with ``finish_reason: "stop"``
(and ``usage`` when ``stream_options.include_usage`` is set), then ``data: [DONE]``.
``GET /v1/models`` lists the one model. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from aiohttp import web

from aichaos._net import free_port

DEFAULT_REPLY = "Refunds are paid back to the original payment method within 5 business days."


def split_reply(reply: str, pieces: int | None) -> list[str]:
    """``reply`` cut into stream pieces: word by word (whitespace kept with the word that
    follows it) when ``pieces`` is None, else ``pieces`` near-equal parts.

    Raises:
        ValueError: ``pieces`` < 1.
    """
    if pieces is None:
        return re.findall(r"\s*\S+", reply) or [reply]
    if pieces < 1:
        raise ValueError(f"pieces: expected >= 1, got {pieces}")
    size = max(1, -(-len(reply) // pieces))
    return [reply[i:i + size] for i in range(0, len(reply), size)] or [reply]


class ScriptedLLM:
    """An OpenAI-compatible chat server with a scripted answer (streaming SSE and JSON).

    Args:
        reply: the assistant's answer to every request.
        model: the model id it reports.
        pieces: stream the reply in this many parts (None: one chunk per word).
        chunk_delay_s: pause between streamed chunks, seconds.
        port: port to bind on 127.0.0.1 (0: a free one).

    Attributes:
        requests: the JSON bodies received, oldest first (headers, which carry the API key,
            are not kept).
    """

    def __init__(self, reply: str = DEFAULT_REPLY, *, model: str = "scripted-llm",
                 pieces: int | None = None, chunk_delay_s: float = 0.0, port: int = 0) -> None:
        self.reply = reply
        self.model = model
        self.pieces = split_reply(reply, pieces)
        self.chunk_delay_s = chunk_delay_s
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self._ids = 0

    @property
    def url(self) -> str:
        """Server root, ``http://127.0.0.1:PORT`` (the API is under ``/v1``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL, ``http://127.0.0.1:PORT/v1``."""
        return self.url + "/v1"

    async def start(self) -> None:
        """Bind and serve. Raises ``OSError`` when the port cannot be bound."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        self.port = self.port or free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> ScriptedLLM:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ handlers

    async def _models(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"object": "list", "data": [
            {"id": self.model, "object": "model", "created": 0, "owned_by": "aichaos"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            doc = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "body is not JSON", "type":
                                                "invalid_request_error", "param": None,
                                                "code": None}}, status=400)
        if not isinstance(doc, dict):
            doc = {}
        self.requests.append(doc)
        self._ids += 1
        cid = f"chatcmpl-scripted-{self._ids}"
        usage = {"prompt_tokens": 10, "completion_tokens": len(self.pieces),
                 "total_tokens": 10 + len(self.pieces)}
        if not doc.get("stream"):
            return web.json_response({
                "id": cid, "object": "chat.completion", "created": int(time.time()),
                "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant",
                                                     "content": self.reply},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": usage})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
        await resp.prepare(request)
        created = int(time.time())

        def event(delta: dict[str, Any], finish: str | None = None,
                  extra: dict[str, Any] | None = None) -> bytes:
            body = {"id": cid, "object": "chat.completion.chunk", "created": created,
                    "model": self.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                 "logprobs": None}], **(extra or {})}
            return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

        include_usage = bool((doc.get("stream_options") or {}).get("include_usage"))
        events = [event({"role": "assistant", "content": ""})]
        events += [event({"content": piece}) for piece in self.pieces]
        events.append(event({}, "stop", {"usage": usage} if include_usage else None))
        events.append(b"data: [DONE]\n\n")
        for i, chunk in enumerate(events):
            if i and self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
            await resp.write(chunk)
        await resp.write_eof()
        return resp
