"""A sleep-bound upstream for comparing load engines: a real HTTP server on loopback.

Each request waits ``base_s`` plus an exponential time of mean ``exp_mean_s`` (seeded),
holding one of ``capacity`` slots (later requests queue for a slot), then answers. It spends
almost no CPU, so on a 2-core machine two load engines compared against it measure the
engines, not CPU contention with the system under test (a local LLM would be CPU bound).

Routes: ``GET /`` and ``GET /health`` (text ``ok``, the ``get`` mode of ``aichaos load run``),
``GET /v1/models`` and ``POST /v1/chat/completions`` (OpenAI shape, streamed as SSE when the
body asks, with ``usage``).

Run it as a process (``python sleep_upstream.py --port N ...``) or use
:func:`sleep_upstream`, which starts that process and stops it on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web


def _app(base_s: float, exp_mean_s: float, capacity: int, seed: int) -> web.Application:
    rng = random.Random(seed)
    slots = asyncio.Semaphore(capacity)
    served = [0]

    async def serve() -> None:
        delay = base_s + (rng.expovariate(1 / exp_mean_s) if exp_mean_s > 0 else 0.0)
        async with slots:
            await asyncio.sleep(delay)
        served[0] += 1

    async def plain(request: web.Request) -> web.Response:
        if request.path != "/health":
            await serve()
        return web.Response(text="ok")

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "sleepy", "object": "model"}]})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"served": served[0]})

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        await serve()
        text = "The answer is ok."
        usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
        if not body.get("stream"):
            return web.json_response({
                "id": "c1", "object": "chat.completion", "model": body.get("model", "sleepy"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": usage})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i, word in enumerate(text.split(" ")):
            chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": [{
                "index": 0, "delta": {"content": (" " if i else "") + word},
                "finish_reason": None}]}
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        end = {"id": "c1", "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
        await resp.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/", plain)
    app.router.add_get("/health", plain)
    app.router.add_get("/stats", stats)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def sleep_upstream(*, base_s: float = 0.02, exp_mean_s: float = 0.03, capacity: int = 64,
                   seed: int = 1) -> Iterator[str]:
    """Start the server as a process on a free loopback port; yields ``http://127.0.0.1:P``
    and stops the process on exit."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--port", str(port),
                             "--base-s", str(base_s), "--exp-mean-s", str(exp_mean_s),
                             "--capacity", str(capacity), "--seed", str(seed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"sleep upstream exited: {proc.stderr.read().decode()[-500:]}"
                                   if proc.stderr else "sleep upstream exited")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("sleep upstream did not listen within 30 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--base-s", type=float, default=0.02)
    p.add_argument("--exp-mean-s", type=float, default=0.03)
    p.add_argument("--capacity", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    web.run_app(_app(a.base_s, a.exp_mean_s, a.capacity, a.seed), host="127.0.0.1",
                port=a.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
