"""A small OpenAI-shaped server of known capacity, for the queue-behaviour victim and twins.

One worker serves requests one at a time, each taking ``service_s`` (a deterministic sleep,
so capacity is ``1 / service_s`` req/s). What it does with requests beyond that is the mode:

* ``queue`` (the victim): every request waits for the worker, however long the queue grows,
  so under overload latency grows for as long as the overload lasts;
* ``shed``: at most ``limit`` requests are admitted (running or waiting); the rest get an
  immediate 429 with ``Retry-After: 1``, so admitted latency stays bounded (the twin);
* ``shed-bare``: the same 429, without ``Retry-After`` (the victim of the Retry-After check).

``GET /metrics`` exposes the worker's queue as a vLLM server names it
(``vllm:num_requests_waiting``, ``vllm:num_requests_running``), through ``prometheus_client``.

Run it as a process (``python overload_app.py --port N --mode queue``) or use
:func:`overload_app`, which starts that process on a free port and stops it on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from aichaos._net import free_port


def _app(mode: str, service_s: float, limit: int) -> web.Application:
    worker = asyncio.Lock()
    state = {"admitted": 0, "running": 0}
    registry = CollectorRegistry()
    waiting = Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
                    ["model_name"], registry=registry)
    running = Gauge("vllm:num_requests_running", "Number of requests currently running.",
                    ["model_name"], registry=registry)

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        if mode != "queue" and state["admitted"] >= limit:
            headers = {"Retry-After": "1"} if mode == "shed" else {}
            return web.json_response({"error": {"message": "overloaded", "type": "overloaded"}},
                                     status=429, headers=headers)
        state["admitted"] += 1
        try:
            async with worker:
                state["running"] = 1
                await asyncio.sleep(service_s)
                state["running"] = 0
        finally:
            state["admitted"] -= 1
        return web.json_response({
            "id": "c1", "object": "chat.completion", "model": body.get("model", "m"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}})

    async def metrics(request: web.Request) -> web.Response:
        waiting.labels("m").set(max(0, state["admitted"] - state["running"]))
        running.labels("m").set(state["running"])
        return web.Response(body=generate_latest(registry),
                            content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/metrics", metrics)
    return app


@contextlib.contextmanager
def overload_app(mode: str, *, service_s: float = 0.025, limit: int = 4) -> Iterator[str]:
    """Start the server as a process on a free loopback port; yields ``http://127.0.0.1:P``
    and stops the process on exit."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--port", str(port),
                             "--mode", mode, "--service-s", str(service_s),
                             "--limit", str(limit)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-500:] if proc.stderr else ""
                raise RuntimeError(f"overload app exited: {err}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("overload app did not listen within 30 s")
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
    p.add_argument("--mode", choices=["queue", "shed", "shed-bare"], required=True)
    p.add_argument("--service-s", type=float, default=0.025)
    p.add_argument("--limit", type=int, default=4)
    a = p.parse_args()
    web.run_app(_app(a.mode, a.service_s, a.limit), host="127.0.0.1", port=a.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
