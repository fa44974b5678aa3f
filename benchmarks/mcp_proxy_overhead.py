"""MCP chaos proxy overhead vs direct, on loopback, in one run.

Three processes: a trivial MCP server (aiohttp, streamable HTTP, JSON responses: it answers
``initialize``, ``tools/list`` and ``tools/call`` of one ``echo`` tool at once), the MCP proxy
(``aichaos mcp proxy``, no toxic, with its pre-flight check) and this script as the client
(aiohttp, one keep-alive connection per worker, one initialized ``Mcp-Session-Id``).

Direct and proxied round trips of ``tools/call`` are measured in alternating blocks of the
same run (so load from elsewhere on the machine hits both alike), sequentially (one message
in flight), after a discarded warm-up. Throughput: closed loop, 32 concurrent clients through
the proxy for a few seconds.

Prints p50/p99 of both, the difference (target: added p50 <= 0.5 ms, shared/DESIGN.md) and
messages per second through one proxy process.

Usage: ``python benchmarks/mcp_proxy_overhead.py [--rounds 3000] [--seconds 5] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from aichaos.demo import free_port  # noqa: E402

HEAD = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
        "MCP-Protocol-Version": "2025-06-18"}


def serve(port: int) -> None:
    """The trivial MCP server (run in a child process)."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method == "DELETE":
            return web.Response(status=200)
        if request.method != "POST":
            return web.Response(status=405)
        doc = await request.json()
        if "id" not in doc:
            return web.Response(status=202)
        method, rid = doc.get("method"), doc["id"]
        if method == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "trivial", "version": "1"}}
        elif method == "tools/list":
            result = {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}
        else:
            text = json.dumps(doc.get("params", {}).get("arguments", {}))
            result = {"content": [{"type": "text", "text": text}], "isError": False}
        return web.json_response({"jsonrpc": "2.0", "id": rid, "result": result},
                                 headers={"Mcp-Session-Id": "bench-session"})

    app = web.Application()
    app.router.add_route("*", "/mcp", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def call(i: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"q": "x" * 200, "i": i}}}).encode()


async def wait_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while True:
            try:
                async with s.post(url, data=b'{"jsonrpc":"2.0","method":"x"}', headers=HEAD):
                    return
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def round_trips(s: aiohttp.ClientSession, url: str, n: int, start: int) -> list[float]:
    out = []
    for i in range(start, start + n):
        t0 = time.perf_counter()
        async with s.post(url, data=call(i), headers={**HEAD, "Mcp-Session-Id": "bench-session"}
                          ) as r:
            body = await r.read()
        out.append(time.perf_counter() - t0)
        assert b'"result"' in body, body[:200]
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000.0


async def throughput(url: str, seconds: float, workers: int = 32) -> float:
    done = 0
    stop = time.monotonic() + seconds

    async def worker(k: int) -> None:
        nonlocal done
        async with aiohttp.ClientSession() as s:
            i = k * 10_000_000
            while time.monotonic() < stop:
                async with s.post(url, data=call(i), headers={**HEAD, "Mcp-Session-Id":
                                                              "bench-session"}) as r:
                    await r.read()
                done += 1
                i += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(workers)))
    return done / (time.monotonic() - t0)


async def main(args: argparse.Namespace) -> dict[str, float]:
    sport, pport, cport = free_port(), free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(sport)], env=env)
    direct = f"http://127.0.0.1:{sport}/mcp"
    proxied = f"http://127.0.0.1:{pport}/mcp"
    proxy = None
    try:
        await wait_up(direct)
        proxy = subprocess.Popen([sys.executable, "-m", "aichaos", "mcp", "proxy", direct,
                                  "--listen", f"127.0.0.1:{pport}", "--control",
                                  f"127.0.0.1:{cport}"], env=env)
        await wait_up(proxied)
        d: list[float] = []
        p: list[float] = []
        async with aiohttp.ClientSession() as s:
            await round_trips(s, direct, 300, 0)
            await round_trips(s, proxied, 300, 0)  # warm-up, discarded
            block = 250
            for b in range(max(1, args.rounds // block)):
                d += await round_trips(s, direct, block, b * block)
                p += await round_trips(s, proxied, block, b * block)
        rate = await throughput(proxied, args.seconds)
        direct_rate = await throughput(direct, args.seconds)
        return {"samples": len(d), "direct_p50_ms": pct(d, .5), "direct_p99_ms": pct(d, .99),
                "proxy_p50_ms": pct(p, .5), "proxy_p99_ms": pct(p, .99),
                "added_p50_ms": pct(p, .5) - pct(d, .5), "added_p99_ms": pct(p, .99) - pct(d, .99),
                "proxy_msgs_per_s": rate, "direct_msgs_per_s": direct_rate}
    finally:
        for proc in (proxy, server):
            if proc is not None:
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.serve:
        serve(a.serve)
        sys.exit(0)
    res = asyncio.run(main(a))
    if a.json:
        print(json.dumps(res))
    else:
        print(f"tools/call round trip, {res['samples']:.0f} samples each, one message in flight")
        print(f"  direct : p50 {res['direct_p50_ms']:.3f} ms   p99 {res['direct_p99_ms']:.3f} ms")
        print(f"  proxied: p50 {res['proxy_p50_ms']:.3f} ms   p99 {res['proxy_p99_ms']:.3f} ms")
        print(f"  added  : p50 {res['added_p50_ms']:.3f} ms (target <= 0.5)   "
              f"p99 {res['added_p99_ms']:.3f} ms")
        print(f"throughput, 32 clients: {res['proxy_msgs_per_s']:.0f} msgs/s through one proxy "
              f"process ({res['direct_msgs_per_s']:.0f} msgs/s direct)")
