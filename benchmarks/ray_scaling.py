"""Ray engine scaling: req/s achieved with 1 and 2 local Ray workers, one run.

Against a sleep-bound upstream in its own process (a raw asyncio HTTP server that answers
each request ``--service-ms`` after it arrives, with no cap on concurrent requests: it spends
almost no CPU per request, so the load generator, not the upstream, is the bottleneck), each
configuration runs the same closed-loop step (``--users`` users in total, split between the
workers; without think time) on one local Ray (``num_cpus`` = 2, no dashboard, small object
store), then the local asyncio engine in this process for reference. Printed per
configuration: achieved req/s in the window, p50/p99 E2E, and the ratio 2 workers / 1
worker. Closed loop, because an open-loop step at a fixed rate measures the schedule, not the
capacity. Each row also prints the CPU (in cores, averaged over the whole step call, its start
delay and drain included) of the upstream and of each
generator process, so a reader sees which one was the bottleneck, and the load average: on a
shared machine the other processes' CPU use sets how much a second worker can add (on 2
cores the upstream, the driver and the workers share them).

Usage: python benchmarks/ray_scaling.py [--duration 5] [--users 128] [--service-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from typing import Any

from aichaos.demo import free_port
from aichaos.load import RawHttpTarget, RayEngine, StepResult, StepSpec, run_step

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    RESP = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: text/plain\\r\\n\\r\\nok"
    DELAY = float(sys.argv[2])

    class P(asyncio.Protocol):
        def connection_made(self, t):
            self.t = t
            self.buf = b""
            self.loop = asyncio.get_running_loop()
        def data_received(self, data):
            buf = self.buf + data
            n = buf.count(b"\\r\\n\\r\\n")
            if n:
                self.loop.call_later(DELAY, self.answer, n)  # sleep-bound: a timer, no CPU
                buf = buf[buf.rfind(b"\\r\\n\\r\\n") + 4:]
            self.buf = buf
        def answer(self, n):
            if not self.t.is_closing():
                self.t.write(RESP * n)

    async def main(port):
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(P, "127.0.0.1", port, backlog=4096)
        async with srv:
            await srv.serve_forever()

    asyncio.run(main(int(sys.argv[1])))
    """
)


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("upstream exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit("upstream did not listen")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _row(name: str, step: StepResult) -> dict[str, Any]:
    p50, p99 = step.p("e2e", 50), step.p("e2e", 99)
    return {"engine": name, "achieved_rps": round(step.achieved_rps, 1),
            "completed": step.window_completed, "errors": step.errors,
            "p50_ms": None if p50 is None else round(p50 * 1e3, 2),
            "p99_ms": None if p99 is None else round(p99 * 1e3, 2)}


async def _measure(url: str, spec: StepSpec, upstream_pid: int) -> list[dict[str, Any]]:
    import ray

    factory = functools.partial(RawHttpTarget, url, timeout_s=10)
    rows = []
    for workers in (1, 2):
        async with RayEngine(factory, workers=workers, start_delay_s=1.0) as engine:
            await engine(None, ["x"], StepSpec(profile="closed", duration_s=1.0,
                                               concurrency=spec.concurrency))  # warm-up
            pids = [w["pid"] for w in engine.describe()["steps"][-1]["workers"]]
            cpu0 = [_cpu_s(p) for p in (upstream_pid, *pids)]
            t0 = time.monotonic()
            step = await engine(None, ["x"], spec)
            wall = time.monotonic() - t0
            cpu = [(_cpu_s(p) - c) / wall for p, c in zip((upstream_pid, *pids), cpu0,
                                                         strict=True)]
            offsets = [w["clock_offset_s"] for w in engine.describe()["steps"][-1]["workers"]]
        row = _row(f"ray x{workers}", step)
        row["clock_offsets_ms"] = [round(o * 1e3, 3) for o in offsets]
        row["cpu_upstream"] = round(cpu[0], 2)
        row["cpu_workers"] = [round(c, 2) for c in cpu[1:]]
        rows.append(row)
    ray.shutdown()
    target = factory()
    try:
        cpu0 = [_cpu_s(upstream_pid), _cpu_s(os.getpid())]
        t0 = time.monotonic()
        step = await run_step(target, ["x"], spec)
        wall = time.monotonic() - t0
        row = _row("local (this process)", step)
        row["cpu_upstream"] = round((_cpu_s(upstream_pid) - cpu0[0]) / wall, 2)
        row["cpu_workers"] = [round((_cpu_s(os.getpid()) - cpu0[1]) / wall, 2)]
        rows.append(row)
    finally:
        await target.aclose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=5.0, help="measured seconds per step")
    ap.add_argument("--users", type=int, default=128, help="closed-loop users in total")
    ap.add_argument("--service-ms", type=float, default=2.0, help="upstream sleep per request")
    args = ap.parse_args()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port),
                             str(args.service_ms / 1e3)])
    try:
        _wait_port(port, proc)
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, object_store_memory=80 * 1024 * 1024)
        spec = StepSpec(profile="closed", duration_s=args.duration, warmup_s=0.5,
                        concurrency=args.users)
        rows = asyncio.run(_measure(f"http://127.0.0.1:{port}/", spec, proc.pid))
    finally:
        proc.terminate()
        proc.wait(10)
    one, two = rows[0]["achieved_rps"], rows[1]["achieved_rps"]
    for r in rows:
        print(f"{r['engine']:<22} {r['achieved_rps']:>9.1f} req/s  p50 {r['p50_ms']} ms  "
              f"p99 {r['p99_ms']} ms  errors {r['errors']}  CPU (cores) upstream "
              f"{r['cpu_upstream']}, generator(s) {r['cpu_workers']}"
              + (f"  clock offsets {r['clock_offsets_ms']} ms" if "clock_offsets_ms" in r
                 else ""))
    ratio = two / one if one else float("nan")
    print(f"ratio 2 workers / 1 worker: {ratio:.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; upstream sleep "
          f"{args.service_ms:g} ms, {args.users} users, {args.duration:g} s per step")
    print(json.dumps({"rows": rows, "ratio_2_over_1": ratio}))


if __name__ == "__main__":
    main()
