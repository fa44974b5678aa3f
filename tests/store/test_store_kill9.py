"""``kill -9`` of a real ``aichaos run`` mid-way, on SQLite and PostgreSQL: every result seen
committed before the kill is still there, unchanged, and the run's row says it never
finished; the database opens and takes new runs afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from store_support import case, write_run

from aichaos import StoreError
from aichaos.store import ResultStore
from store_pg import PgCluster
from tests_support import write

SLOW_MOCK = """
title: slow mock killed
target: {{type: mock, default: "an answer", latency_s: 0.15}}
dataset: data.yaml
steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.5}}}}}}
runtime: {{concurrency: 1}}
store: {{url: "{url}"}}
report: {{formats: [json]}}
"""
SEEN = 6  # results observed committed before the kill


def _committed(url: str) -> tuple[str, list[dict[str, object]]] | None:
    try:
        with ResultStore(url, readonly=True) as store:
            runs = store.latest_runs(limit=1)
            return (runs[0]["run_id"], store.cases(runs[0]["run_id"])) if runs else None
    except StoreError:  # not created yet
        return None


def _start_run(tmp_path: Path, url: str) -> subprocess.Popen[str]:
    write(tmp_path / "data.yaml", "cases:\n" + "".join(
        f"  - {{id: c{i}, input: question {i}, expected: [answer]}}\n" for i in range(80)))
    write(tmp_path / "exp.yaml", SLOW_MOCK.format(url=url))
    src = str(Path(__file__).resolve().parents[2] / "src")
    return subprocess.Popen(
        [sys.executable, "-m", "aichaos", "run", "exp.yaml"], cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200",
             "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])})


def _wait_for_results(proc: subprocess.Popen[str], url: str
                      ) -> tuple[str, list[dict[str, object]]] | None:
    seen = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        seen = _committed(url)
        if seen is not None and len(seen[1]) >= SEEN:
            break
        time.sleep(0.05)
    return seen


def test_kill_9_mid_run_loses_no_committed_result(store_url: str, tmp_path: Path) -> None:
    proc = _start_run(tmp_path, store_url)
    try:
        seen = _wait_for_results(proc, store_url)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err
    assert seen is not None and len(seen[1]) >= SEEN, f"the run never got going: {err}"
    run_id, before = seen

    with ResultStore(store_url) as store:  # opens (and recovers) read-write after the kill
        run = store.run(run_id)
        assert run is not None and run["status"] == "running" and run["ended_at"] is None
        after = {r["id"]: r for r in store.cases(run_id)}
        assert len(after) < 80 + 2  # killed mid-way, not finished
        for row in before:  # every result seen committed is there, unchanged
            assert after[row["id"]] == row
        write_run(store, "after-the-kill", [case("after-the-kill", "c0")])
        assert store.count_cases("after-the-kill") == 1
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as conn:
                assert conn.execute(sa.text("pragma integrity_check")).scalar() == "ok"


def test_postgresql_going_down_mid_run_stops_the_run_with_one_line(pg_cluster: PgCluster,
                                                                   tmp_path: Path) -> None:
    url = pg_cluster.create_database()
    proc = _start_run(tmp_path, url)
    try:
        seen = _wait_for_results(proc, url)
        pg_cluster.stop()
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        pg_cluster.restart()
    assert seen is not None and len(seen[1]) >= SEEN, f"the run never got going: {err}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, err
    assert "write failed:" in lines[0] and "Connection refused" in lines[0]
    run_id, before = seen
    with ResultStore(url, readonly=True) as store:  # what was stored before is kept
        assert store.run(run_id)["status"] == "running"
        after = {r["id"]: r for r in store.cases(run_id)}
        assert all(after[row["id"]] == row for row in before)
