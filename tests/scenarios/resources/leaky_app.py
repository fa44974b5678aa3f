"""A small OpenAI-compatible chat app that leaks per request (scenario S21), or its fixed twin.

Run as its own process: ``python leaky_app.py PORT LEAK``. ``POST /v1/chat/completions``
answers ``{"choices": [{"message": {"content": "ok <n>"}}]}`` after a call to its own
``/upstream`` over loopback (the app's "provider"); ``GET /metrics`` is prometheus_client's
default registry (its process collector: ``process_resident_memory_bytes``, ...).

LEAK:
    none: the fixed twin: one shared HTTP client for every upstream call.
    client: the victim of openai-python #1181: a new ``httpx.AsyncClient`` per request, used
        and never closed: its SSL context, pool and open connection (two file descriptors on
        loopback: both ends live in this process) stay alive per request.
    vms: each request maps 1 MiB of anonymous memory and never touches it: virtual memory
        grows per request, resident memory does not (a leak RSS cannot see).
"""

from __future__ import annotations

import mmap
import sys

import httpx
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

KEPT: list[object] = []


def make_app(port: int, leak: str) -> web.Application:
    upstream = f"http://127.0.0.1:{port}/upstream"
    shared = httpx.AsyncClient()
    served = [0]

    async def chat(request: web.Request) -> web.Response:
        await request.json()
        if leak == "client":
            client = httpx.AsyncClient()  # its SSL context and pool: never closed
            KEPT.append(client)
            reply = await client.get(upstream)
        else:
            reply = await shared.get(upstream)
        if leak == "vms":
            KEPT.append(mmap.mmap(-1, 1 << 20))
        served[0] += 1
        text = f"{reply.text} {served[0]}"
        return web.json_response({"id": "x", "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text},
             "finish_reason": "stop"}]})

    async def up(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/upstream", up)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", up)
    return app


if __name__ == "__main__":
    port, leak = int(sys.argv[1]), sys.argv[2]
    if leak not in ("none", "client", "vms"):
        raise SystemExit(f"leak: expected none, client or vms, got {leak!r}")
    web.run_app(make_app(port, leak), host="127.0.0.1", port=port, print=None)
