"""Chaos proxy overhead vs direct, on loopback, in one run.

Three processes: an upstream (aiohttp), the chaos proxy (``aichaos.proxy.ChaosProxy``, no
toxic) and this script as the load generator (raw asyncio HTTP/1.1 keep-alive client, uvloop
when installed). All share the machine's cores, so the proxy competes with its own load.

Fairness: the load generator is its own process; every phase starts with a discarded
warm-up; direct and proxied latency are measured in alternating blocks of the same run (so a
burst of load from elsewhere on the machine hits both alike) with enough samples for p99
(default 10 s each at 500 req/s = 5,000 samples, p99 from the 50 slowest).

Prints, next to the targets in shared/DESIGN.md:
  * added p50 / p99 latency at 500 req/s (open loop, 1 KB JSON; latency measured from the
    scheduled send time, so no coordinated omission);
  * max req/s through one proxy process (closed loop, 64 connections, after a warm-up);
  * added latency per streamed chunk (upstream stamps each SSE event with its monotonic send
    time; CLOCK_MONOTONIC is system-wide on Linux);
  * proxy RSS with 1,000 open streams.

Usage: ``python benchmarks/proxy_overhead.py [--seconds 10] [--proxy-loop asyncio] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

from aichaos.demo import free_port

JSON_1K = json.dumps({"id": "bench", "data": "x" * 1000}).encode()


def _raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _use_uvloop(role: str) -> str:
    if role == "proxy" and os.environ.get("AICHAOS_BENCH_PROXY_LOOP") == "asyncio":
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


# ----------------------------------------------------------------------------- roles


async def _upstream(port: int) -> None:
    from aiohttp import web

    async def json_1k(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(body=JSON_1K, content_type="application/json")

    async def stream(request: web.BaseRequest) -> web.StreamResponse:
        n = int(request.query.get("n", "50"))
        gap = float(request.query.get("gap", "0.02"))
        hold = float(request.query.get("hold", "0"))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for _ in range(n):
            await resp.write(f"data: {time.monotonic():.9f}\n\n".encode())
            await asyncio.sleep(gap)
        if hold:
            await asyncio.sleep(hold)
        with contextlib.suppress(ConnectionError):  # the benchmark closes held streams
            await resp.write_eof()
        return resp

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return await (stream(request) if request.path == "/stream" else json_1k(request))

    runner = web.ServerRunner(web.Server(handler, access_log=None))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    await asyncio.Event().wait()


async def _proxy(port: int, upstream_port: int) -> None:
    from aichaos.proxy import ChaosProxy

    chaos = ChaosProxy()
    await chaos.add_proxy("bench", f"127.0.0.1:{port}", f"http://127.0.0.1:{upstream_port}")
    await chaos.start()
    import gc

    gc.freeze()  # as `aichaos proxy start` does once its proxies run
    await asyncio.Event().wait()


# --------------------------------------------------------------------- load generator


class Conn:
    """One keep-alive HTTP/1.1 connection with a minimal GET (Content-Length bodies)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.req = b"GET /json HTTP/1.1\r\nHost: bench\r\n\r\n"

    async def get(self) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(self.req)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        return len(body)


async def open_loop(port: int, rate: float, seconds: float,
                    pool: list[Conn] | None = None) -> list[float]:
    """Latencies in seconds at a constant ``rate``, timed from each scheduled send time."""
    if pool is None:
        pool = [Conn(port) for _ in range(32)]
        await asyncio.gather(*(c.get() for c in pool))  # open (and warm) the connections
    free: asyncio.Queue[Conn] = asyncio.Queue()
    for c in pool:
        free.put_nowait(c)
    lat: list[float] = []

    async def one(scheduled: float) -> None:
        conn = await free.get()
        await conn.get()
        lat.append(time.perf_counter() - scheduled)
        free.put_nowait(conn)

    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    return lat


async def interleaved(ports: dict[str, int], rate: float, seconds: float,
                      blocks: int = 5) -> dict[str, list[float]]:
    """Open-loop latencies per target, measured in ``blocks`` alternating blocks after a
    one-second warm-up of each; ``seconds`` per target in total."""
    pools = {}
    for name, port in ports.items():
        pools[name] = [Conn(port) for _ in range(32)]
        await asyncio.gather(*(c.get() for c in pools[name]))
        await open_loop(port, rate, 1.0, pools[name])  # warm-up, discarded
    out: dict[str, list[float]] = {name: [] for name in ports}
    for _ in range(blocks):
        for name, port in ports.items():
            out[name] += await open_loop(port, rate, seconds / blocks, pools[name])
    for pool in pools.values():
        for c in pool:
            if c.writer:
                c.writer.close()
    return out


async def closed_loop(port: int, conns: int, seconds: float, warmup: float = 1.0) -> float:
    """Requests per second with ``conns`` connections each sending back to back, counted
    after ``warmup`` seconds."""
    done = 0
    t0 = time.perf_counter() + warmup
    stop = t0 + seconds

    async def worker() -> None:
        nonlocal done
        c = Conn(port)
        while (now := time.perf_counter()) < stop:
            await c.get()
            if now >= t0:
                done += 1
        if c.writer:
            c.writer.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    return done / (time.perf_counter() - t0)


async def chunk_delays(port: int, n: int = 50) -> list[float]:
    """Per-event delay (arrival - upstream send), seconds, for one stream of ``n`` events."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /stream?n={n}&gap=0.01 HTTP/1.1\r\nHost: b\r\n\r\n".encode())
    await reader.readuntil(b"\r\n\r\n")
    out: list[float] = []
    buf = b""
    while len(out) < n:
        data = await reader.read(65536)
        now = time.monotonic()
        if not data:
            break
        buf += data
        while b"data: " in buf and b"\n\n" in buf[buf.index(b"data: "):]:
            i = buf.index(b"data: ")
            j = buf.index(b"\n\n", i)
            out.append(now - float(buf[i + 6:j]))
            buf = buf[j + 2:]
    writer.close()
    return out


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def open_streams(port: int, count: int, pid: int) -> tuple[float, float]:
    """Proxy RSS (MB) before and with ``count`` streams open (each got its first event)."""
    before = _rss_mb(pid)
    conns = []
    for k in range(0, count, 100):
        batch = []
        for _ in range(min(100, count - k)):
            batch.append(asyncio.open_connection("127.0.0.1", port))
        for reader, writer in await asyncio.gather(*batch):
            writer.write(b"GET /stream?n=1&gap=0&hold=60 HTTP/1.1\r\nHost: b\r\n\r\n")
            conns.append((reader, writer))
    await asyncio.gather(*(r.readuntil(b"\n\n") for r, _ in conns))
    await asyncio.sleep(0.5)
    during = _rss_mb(pid)
    for _, w in conns:
        w.close()
    return before, during


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def _wait_listening(port: int, proc: subprocess.Popen[bytes],
                          timeout_s: float = 30.0) -> None:
    """Wait until ``proc`` accepts connections on ``port`` (start-up is slow under load)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, proc.args))} exited ({proc.returncode})")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return


async def main(seconds: float) -> dict[str, Any]:
    up_port, px_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen([sys.executable, __file__, "--role", "upstream", "--port", str(up_port)],
                         env=env),
    ]
    try:
        await _wait_listening(up_port, procs[0])
        procs.append(subprocess.Popen([sys.executable, __file__, "--role", "proxy", "--port",
                                       str(px_port), "--upstream", str(up_port)], env=env))
        await _wait_listening(px_port, procs[1])
        res: dict[str, Any] = {}
        lat = await interleaved({"direct": up_port, "proxied": px_port}, 500, seconds)
        direct, proxied = lat["direct"], lat["proxied"]
        res["samples"] = len(proxied)
        res["direct_p50_ms"] = pct(direct, 0.5) * 1e3
        res["direct_p99_ms"] = pct(direct, 0.99) * 1e3
        res["proxied_p50_ms"] = pct(proxied, 0.5) * 1e3
        res["proxied_p99_ms"] = pct(proxied, 0.99) * 1e3
        res["added_p50_ms"] = res["proxied_p50_ms"] - res["direct_p50_ms"]
        res["added_p99_ms"] = res["proxied_p99_ms"] - res["direct_p99_ms"]
        res["direct_max_rps"] = await closed_loop(up_port, 64, seconds / 2)
        await closed_loop(px_port, 64, 1.0, warmup=0.0)  # warm-up, discarded
        cpu0 = _cpu_s(procs[1].pid)
        res["proxied_max_rps"] = await closed_loop(px_port, 64, seconds / 2, warmup=0.0)
        # the proxy's own CPU per request: the figure the machine's load does not blur
        res["proxy_cpu_us_per_req"] = ((_cpu_s(procs[1].pid) - cpu0) * 1e6
                                       / (res["proxied_max_rps"] * seconds / 2))
        d_chunks = await chunk_delays(up_port)
        p_chunks = await chunk_delays(px_port)
        res["chunk_direct_ms"] = statistics.median(d_chunks) * 1e3
        res["chunk_proxied_ms"] = statistics.median(p_chunks) * 1e3
        res["chunk_added_ms"] = res["chunk_proxied_ms"] - res["chunk_direct_ms"]
        res["chunk_added_p99_ms"] = (pct(p_chunks, 0.99) - pct(d_chunks, 0.99)) * 1e3
        res["chunks_seen"] = len(p_chunks)
        before, during = await open_streams(px_port, 1000, procs[1].pid)
        res["rss_idle_mb"], res["rss_1000_streams_mb"] = before, during
        return res
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)


def report(res: dict[str, Any], loop: str) -> None:
    rows = [
        ("added p50 latency @500 req/s, 1 KB JSON", f"{res['added_p50_ms']:.3f} ms",
         "<= 0.5 ms", res["added_p50_ms"] <= 0.5),
        ("added p99 latency @500 req/s, 1 KB JSON", f"{res['added_p99_ms']:.3f} ms",
         "<= 2 ms", res["added_p99_ms"] <= 2.0),
        ("max req/s through one proxy process", f"{res['proxied_max_rps']:.0f} req/s",
         ">= 3,000 req/s", res["proxied_max_rps"] >= 3000),
        ("added latency per streamed chunk (median)", f"{res['chunk_added_ms']:.3f} ms",
         "<= 1 ms", res["chunk_added_ms"] <= 1.0),
        ("proxy RSS with 1,000 open streams", f"{res['rss_1000_streams_mb']:.1f} MB",
         "<= 150 MB", res["rss_1000_streams_mb"] <= 150),
    ]
    proxy_loop = os.environ.get("AICHAOS_BENCH_PROXY_LOOP", loop)
    print(f"chaos proxy overhead (loopback, {os.cpu_count()} cores shared by load generator, "
          f"proxy and upstream; loop: {loop}, proxy loop: {proxy_loop})")
    for name, value, target, ok in rows:
        print(f"  {name:<44} {value:>14}   target {target:<15} {'PASS' if ok else 'MISS'}")
    print(f"  context: {res['samples']} samples per target; direct p50 "
          f"{res['direct_p50_ms']:.3f} ms, p99 {res['direct_p99_ms']:.3f} ms; proxied p50 "
          f"{res['proxied_p50_ms']:.3f} ms, p99 "
          f"{res['proxied_p99_ms']:.3f} ms; proxy CPU {res['proxy_cpu_us_per_req']:.0f} us/req "
          f"(at max req/s); direct max {res['direct_max_rps']:.0f} req/s; "
          f"chunk p99 added {res['chunk_added_p99_ms']:.3f} ms over {res['chunks_seen']} "
          f"chunks; proxy idle RSS {res['rss_idle_mb']:.1f} MB")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", choices=("bench", "upstream", "proxy"), default="bench")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    ap.add_argument("--proxy-loop", choices=("uvloop", "asyncio"), default="uvloop",
                    help="event loop of the proxy process (the upstream and the load "
                         "generator use uvloop when installed)")
    args = ap.parse_args()
    if args.proxy_loop == "asyncio":
        os.environ["AICHAOS_BENCH_PROXY_LOOP"] = "asyncio"
    _raise_nofile()
    loop_name = _use_uvloop(args.role)
    if args.role == "upstream":
        asyncio.run(_upstream(args.port))
    elif args.role == "proxy":
        asyncio.run(_proxy(args.port, args.upstream))
    else:
        figures = asyncio.run(main(args.seconds))
        report(figures, loop_name)
        if args.json:
            print(json.dumps({"loop": loop_name,
                              "proxy_loop": os.environ.get("AICHAOS_BENCH_PROXY_LOOP",
                                                           loop_name),
                              "loadavg": os.getloadavg(), **figures}))
