"""A tiny real upstream for the proxy tests: JSON, chunked bytes and an OpenAI-like SSE stream."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from typing import Any

from aiohttp import web

WORDS = ["Hé", "llo", " wörld", " ", "😀", " ok"]
JSON_1K = json.dumps({"id": "x", "data": "a" * 1000}).encode()
BLOB = bytes(range(256)) * 64  # 16 KiB of every byte value
GZIPPED = gzip.compress(b'{"zipped": true}' * 50, mtime=0)


def chat_json(doc: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "Hello wörld"}
    if doc.get("tools"):
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": doc.get("model", "m"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2}}


def sse_chunks(doc: dict[str, Any]) -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        body = {"id": "chatcmpl-1", "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

    out = [chunk({"role": "assistant", "content": ""})]
    if doc.get("tools"):
        out.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                          "function": {"name": "get_weather",
                                                       "arguments": ""}}]}))
        for piece in ('{"city": ', '"Paris"}'):
            out.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    else:
        out += [chunk({"content": w}) for w in WORDS]
    out.append(chunk({}, "stop"))
    out.append(b"data: [DONE]\n\n")
    return out


class Upstream:
    """Serves on 127.0.0.1 at a free port; counts requests."""

    def __init__(self, chunk_gap_s: float = 0.0) -> None:
        self.chunk_gap_s = chunk_gap_s
        self.hits = 0
        self.last_headers: dict[str, str] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/json", self.json_1k)
        app.router.add_get("/blob", self.blob)
        app.router.add_post("/echo", self.echo)
        app.router.add_get("/gzip", self.gzipped)
        app.router.add_post("/docs", self.docs)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _count(self, request: web.Request) -> None:
        self.hits += 1
        self.last_headers = dict(request.headers)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self._count(request)
        doc = await request.json()
        if not doc.get("stream"):
            return web.json_response(chat_json(doc))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for c in sse_chunks(doc):
            await resp.write(c)
            if self.chunk_gap_s:
                await asyncio.sleep(self.chunk_gap_s)
        await resp.write_eof()
        return resp

    async def json_1k(self, request: web.Request) -> web.StreamResponse:
        self._count(request)
        return web.Response(body=JSON_1K, content_type="application/json")

    async def blob(self, request: web.Request) -> web.StreamResponse:
        self._count(request)
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await resp.prepare(request)
        for i in range(0, len(BLOB), 1000):
            await resp.write(BLOB[i:i + 1000])
        await resp.write_eof()
        return resp

    async def echo(self, request: web.Request) -> web.StreamResponse:
        self._count(request)
        return web.Response(body=await request.read(),
                            content_type=request.content_type or "application/octet-stream")

    async def gzipped(self, request: web.Request) -> web.StreamResponse:
        self._count(request)
        return web.Response(body=GZIPPED, headers={"Content-Encoding": "gzip",
                                                   "Content-Type": "application/json"})

    async def docs(self, request: web.Request) -> web.StreamResponse:
        self._count(request)
        return web.json_response({"documents": [{"id": 1, "content": "Refunds take 5 days."},
                                                {"id": 2, "content": "Shipping is free."}]})
