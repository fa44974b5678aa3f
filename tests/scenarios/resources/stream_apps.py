"""A streaming app whose TTFT budget is applied only after the first chunk (victim), and its
twin that applies it to the first chunk.

The upstream streams 12 SSE events at once. The app (``POST /v1/chat/completions``) streams
them from the upstream through the chaos proxy and answers the joined text, or 504 with a
clear error when a budget runs out: TTFT ``TTFT_S`` for the first chunk, idle ``IDLE_S``
between chunks, total ``TOTAL_S`` for the whole call. Both apps enforce the idle and total
budgets; they differ only in when the TTFT budget is checked:

* victim: waits for the first chunk without a timeout and, once it arrives, compares the
  elapsed time with the budget (the timeout "fires" only after the late chunk arrived);
* twin: waits for the first chunk at most ``TTFT_S``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from context_apps import Server

TTFT_S, IDLE_S, TOTAL_S = 0.5, 0.5, 1.5


def sse_upstream(events: int = 12) -> Server:
    async def chat(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(events):
            chunk = {"choices": [{"index": 0, "delta": {"content": f"tok{i} "},
                                  "finish_reason": "stop" if i == events - 1 else None}]}
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return Server(app)


async def _events(resp: aiohttp.ClientResponse) -> AsyncIterator[str]:
    async for raw in resp.content:
        line = raw.decode().strip()
        if line.startswith("data:"):
            yield line[5:].strip()


def stream_app(llm_url: str, *, fixed: bool) -> Server:
    async def chat(request: web.Request) -> web.Response:
        await request.json()
        start = time.monotonic()
        parts: list[str] = []
        async with aiohttp.ClientSession() as session, session.post(
                llm_url + "/v1/chat/completions",
                json={"model": "m", "stream": True, "messages": []}) as up:
            events = _events(up)
            try:
                if fixed:
                    first = await asyncio.wait_for(anext(events), TTFT_S)
                else:
                    first = await anext(events)
                    if time.monotonic() - start > TTFT_S:
                        raise TimeoutError
                data: Any = first
                while data != "[DONE]":
                    parts.append(json.loads(data)["choices"][0]["delta"].get("content", ""))
                    left = TOTAL_S - (time.monotonic() - start)
                    if left <= 0:
                        raise TimeoutError
                    data = await asyncio.wait_for(anext(events), min(IDLE_S, left))
            except TimeoutError:
                took = time.monotonic() - start
                return web.json_response({"error": {"message": f"upstream too slow: gave up "
                                                    f"after {took:.2f} s",
                                                    "type": "timeout"}}, status=504)
        return web.json_response({"id": "x", "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "".join(parts)},
             "finish_reason": "stop"}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return Server(app)
