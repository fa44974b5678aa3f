"""Several runs writing one database at once, on SQLite (WAL) and PostgreSQL: three
processes open the same new database at the same moment (racing its creation and
migration), then each commits one case at a time. No row is lost or duplicated."""

from __future__ import annotations

import multiprocessing

from store_support import concurrent_writer

from aichaos.store import ResultStore, head_revision

N_PROCESSES = 3
N_CASES = 60


def test_three_processes_write_runs_concurrently(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(N_PROCESSES)
    run_ids = [f"20260301T00000{i}Z-conc{i:02d}" for i in range(N_PROCESSES)]
    procs = [ctx.Process(target=concurrent_writer, args=(store_url, run_id, N_CASES, barrier))
             for run_id in run_ids]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * N_PROCESSES
    with ResultStore(store_url, readonly=True) as store:
        assert store.revision_before == head_revision()
        assert sorted(r["run_id"] for r in store.latest_runs()) == run_ids
        for run_id in run_ids:
            assert store.run(run_id)["status"] == "completed"
            rows = store.cases(run_id)
            assert [r["case_id"] for r in rows] == [f"c{i:03d}" for i in range(N_CASES)]
            assert [r["e2e_s"] for r in rows] == [i / 1000 for i in range(N_CASES)]
        ids = [r["id"] for run_id in run_ids for r in store.cases(run_id)]
        assert len(set(ids)) == N_PROCESSES * N_CASES
