"""Load generator capacity: aichaos's asyncio engine vs Locust's FastHttpUser, one run.

Measures, against a trivial keep-alive HTTP server running in its own process:

1. the most requests/s one aichaos process drives (closed loop, ``--users`` connections,
   raw HTTP target, uvloop when installed);
2. scheduler lag p50/p90/p99 (how late a send that found a free slot started after its
   scheduled time), E2E p99 and the generator's CPU at 1,000 req/s open loop (constant
   profile; paced by a Linux timerfd, else the loop's timers: see aichaos.load._pacer);
3. the same closed-loop load from Locust's FastHttpUser (one process, headless), if installed;

and prints the ratios. DESIGN.md targets: >= 10,000 req/s from one process (Locust: ~5,350
on these machines), lag p99 <= 2 ms at 1,000 req/s.

Usage: python benchmarks/loadgen_capacity.py [--duration 10] [--users 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any

from aichaos.demo import free_port
from aichaos.load import RawHttpTarget, StepSpec, run_step

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    try:
        import uvloop
    except ImportError:
        uvloop = None
    RESP = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: text/plain\\r\\n\\r\\nok"

    class P(asyncio.Protocol):
        def connection_made(self, t):
            self.t = t
            self.buf = b""
        def data_received(self, data):
            buf = self.buf + data
            n = buf.count(b"\\r\\n\\r\\n")
            if n:
                self.t.write(RESP * n)
                buf = buf[buf.rfind(b"\\r\\n\\r\\n") + 4:]
            self.buf = buf

    async def main(port):
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(P, "127.0.0.1", port, backlog=4096)
        print("ready", flush=True)
        await srv.serve_forever()

    if uvloop:
        uvloop.install()
    asyncio.run(main(int(sys.argv[1])))
    """
)

LOCUSTFILE = textwrap.dedent(
    """
    from locust import constant, task
    from locust.contrib.fasthttp import FastHttpUser

    class U(FastHttpUser):
        wait_time = constant(0)

        @task
        def get(self):
            self.client.get("/")
    """
)



def start_server(port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("benchmark server did not start")
    return proc


async def aichaos_max(url: str, users: int, duration: float) -> dict[str, float]:
    target = RawHttpTarget(url, timeout_s=10)
    step = await run_step(target, ["x"], StepSpec(profile="closed", duration_s=duration,
                                                  warmup_s=1.0, concurrency=users))
    await target.aclose()
    return {"rps": step.achieved_rps, "errors": step.errors,
            "p50_ms": (step.p("e2e", 50) or 0) * 1e3, "p99_ms": (step.p("e2e", 99) or 0) * 1e3}


def run_queue_wait_s() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat; 0.0
    elsewhere): a sent-late request on a shared machine is often one whose generator was
    waiting here."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def aichaos_lag(url: str, rate: float, duration: float) -> dict[str, float]:
    target = RawHttpTarget(url, timeout_s=10)
    cpu0, wall0, wait0 = time.process_time(), time.perf_counter(), run_queue_wait_s()
    step = await run_step(target, ["x"], StepSpec(profile="constant", rate_rps=rate,
                                                  duration_s=duration, warmup_s=1.0,
                                                  concurrency=64))
    wall = time.perf_counter() - wall0
    cpu = (time.process_time() - cpu0) / wall
    waited = (run_queue_wait_s() - wait0) / wall
    await target.aclose()
    return {"rps": step.achieved_rps, "errors": step.errors,
            "lag_p50_ms": (step.p("scheduler_lag", 50) or 0) * 1e3,
            "lag_p90_ms": (step.p("scheduler_lag", 90) or 0) * 1e3,
            "lag_p99_ms": (step.p("scheduler_lag", 99) or 0) * 1e3,
            "e2e_p99_ms": (step.p("e2e", 99) or 0) * 1e3, "cpu": cpu, "waited": waited}


def locust_max(url: str, users: int, duration: float) -> dict[str, float] | None:
    locust = shutil.which("locust") or os.path.join(os.path.dirname(sys.executable), "locust")
    if not os.path.exists(locust):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        lf = os.path.join(tmp, "locustfile.py")
        with open(lf, "w") as f:
            f.write(LOCUSTFILE)
        prefix = os.path.join(tmp, "stats")
        total = int(duration + 2)
        subprocess.run(
            [locust, "-f", lf, "--headless", "-u", str(users), "-r", str(users * 10),
             "-t", f"{total}s", "-H", url.rstrip("/"), "--csv", prefix, "--only-summary",
             "--loglevel", "ERROR"],
            check=False, capture_output=True, text=True, timeout=total + 60,
        )
        with open(prefix + "_stats.csv") as f:
            rows = f.read().splitlines()
    header = rows[0].split(",")
    agg = next(r.split(",") for r in rows[1:] if ",Aggregated," in r)
    rec = dict(zip(header, agg, strict=False))
    # Locust's rate is over its whole run, including the ~1 s ramp-up
    return {"rps": float(rec["Requests/s"]), "errors": float(rec["Failure Count"]),
            "p50_ms": float(rec["50%"]), "p99_ms": float(rec["99%"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    ap.add_argument("--users", type=int, default=64, help="connections / users, closed loop")
    ap.add_argument("--repeat", type=int, default=1, help="measurement rounds (median shown)")
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = ap.parse_args()
    try:
        import uvloop
        uvloop.install()
        loop_name = "uvloop"
    except ImportError:
        loop_name = "asyncio"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores (other processes skew every figure)")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_server(port)
    runs: list[dict[str, Any]] = []
    try:
        for rep in range(args.repeat):
            mx = asyncio.run(aichaos_max(url, args.users, args.duration))
            print(f"[{rep + 1}] aichaos closed loop ({loop_name}, {args.users} conns): "
                  f"{mx['rps']:,.0f} req/s, p50 {mx['p50_ms']:.2f} ms, "
                  f"p99 {mx['p99_ms']:.2f} ms, errors {mx['errors']:.0f}")
            lag = asyncio.run(aichaos_lag(url, 1000.0, args.duration))
            print(f"[{rep + 1}] aichaos open loop 1,000 req/s: achieved {lag['rps']:,.0f} req/s, "
                  f"scheduler lag p50 {lag['lag_p50_ms']:.3f} ms p90 {lag['lag_p90_ms']:.3f} "
                  f"ms p99 {lag['lag_p99_ms']:.3f} ms, E2E p99 {lag['e2e_p99_ms']:.2f} ms, "
                  f"errors {lag['errors']:.0f}, generator CPU {lag['cpu']:.0%} of a core, "
                  f"waiting for a CPU {lag['waited']:.1%} of the time")
            lo = locust_max(url, args.users, args.duration)
            if lo is None:
                print("locust: not installed (pip install locust); no comparison")
            else:
                print(f"[{rep + 1}] locust FastHttpUser ({args.users} users): {lo['rps']:,.0f} "
                      f"req/s, p50 {lo['p50_ms']:.0f} ms, p99 {lo['p99_ms']:.0f} ms, "
                      f"errors {lo['errors']:.0f}")
            print(f"    load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            runs.append({"aichaos_max": mx, "aichaos_1k": lag, "locust": lo})
        med = statistics.median
        a_rps = med(r["aichaos_max"]["rps"] for r in runs)
        lag99 = med(r["aichaos_1k"]["lag_p99_ms"] for r in runs)
        print(f"--- ratios (median of {len(runs)} run(s))")
        print(f"aichaos req/s / DESIGN target 10,000: {a_rps / 10_000:.2f} ({a_rps:,.0f} req/s)")
        if all(r["locust"] for r in runs):
            ratio = med(r["aichaos_max"]["rps"] / r["locust"]["rps"] for r in runs)
            print(f"aichaos req/s / locust req/s (same run): {ratio:.2f}")
        print(f"scheduler lag p99 / DESIGN target 2 ms: {lag99 / 2.0:.2f} ({lag99:.3f} ms)")
        if args.json:
            print(json.dumps({"runs": runs, "loop": loop_name}))
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(5)


if __name__ == "__main__":
    main()
