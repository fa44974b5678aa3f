"""Results-store write rate, one commit per result, on SQLite (WAL) and PostgreSQL.

Each writer process opens a :class:`aichaos.store.ResultStore` on the same database and
publishes one run of N cases through the runner's events (``CaseObserved``), exactly as
``aichaos run`` does: one transaction and one commit per result. Printed per backend and
writer count: committed results per second across all writers (wall time from the moment
every writer is ready to the last commit) and the per-commit latency p50 / p99 of one writer.

PostgreSQL is a throwaway cluster started like the tests' (Debian's binaries, a temporary
directory, a free loopback port, the ``postgres`` user when run as root), with the server's
defaults for durability except ``fsync=off`` (the tests' setting; state it when quoting).
Pass ``--pg-url`` to measure an existing server instead.

Usage: ``python benchmarks/store_throughput.py [--cases 300] [--writers 1,3] [--pg-url URL]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests" / "store")]


def _writer(url: str, run_id: str, n: int, barrier: Any, out: Any) -> None:
    from aichaos import CaseObserved, CaseResult, EventBus, RunStarted
    from aichaos.store import ResultStore

    with ResultStore(url) as store:
        bus = EventBus()
        store.attach(bus)
        bus.publish(RunStarted(run_id=run_id, title="bench", seed=1, experiment={}))
        barrier.wait(timeout=120)
        lat = []
        for i in range(n):
            t0 = time.perf_counter()
            bus.publish(CaseObserved(CaseResult(
                run_id=run_id, layer=1, suite="capability", case_id=f"c{i}", variant="clean",
                input="How long do refunds take? " * 4, expected=["5 business days"],
                output="Refunds take 5 business days. " * 4, passed=True, score=1.0,
                scores={"contains": 1.0}, e2e_s=0.1)))
            lat.append(time.perf_counter() - t0)
        out.put((time.perf_counter(), lat))


def measure(url: str, writers: int, n: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(writers + 1), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, f"run-{writers}-{i}", n, barrier, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    start = time.perf_counter()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    end = max(r[0] for r in results)
    lat = sorted(results[0][1])
    return {"results_per_s": writers * n / (end - start),
            "p50_ms": statistics.median(lat) * 1000, "p99_ms": lat[int(len(lat) * 0.99)] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=300, help="results per writer")
    ap.add_argument("--writers", default="1,3", help="writer counts, comma-separated")
    ap.add_argument("--pg-url", help="an existing PostgreSQL database (else a throwaway one)")
    args = ap.parse_args()
    counts = [int(w) for w in args.writers.split(",")]
    cluster = None
    if args.pg_url is None:
        from aichaos.demo import free_port
        from store_pg import start_cluster

        cluster = start_cluster(free_port())
    try:
        print(f"{'backend':<11} {'writers':>7} {'results/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
        for backend in ("sqlite", "postgresql"):
            for writers in counts:
                if backend == "sqlite":
                    url = f"sqlite:///{tempfile.mkdtemp(prefix='aichaos-bench-')}/b.db"
                else:
                    url = args.pg_url or cluster.create_database()  # type: ignore[union-attr]
                m = measure(url, writers, args.cases)
                print(f"{backend:<11} {writers:>7} {m['results_per_s']:>10.0f} "
                      f"{m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f}", flush=True)
    finally:
        if cluster is not None:
            from store_pg import remove

            remove(cluster)


if __name__ == "__main__":
    main()
