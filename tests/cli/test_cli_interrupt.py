"""Ctrl-C and SIGTERM halfway through a real ``aichaos run``: rollbacks run, the journal says
interrupted, the exit code is 130, and every case measured so far is in the database."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests_support import write

SLOW_MOCK = """
title: slow mock
target: {type: mock, default: "an answer", latency_s: 0.2}
dataset: data.yaml
steady-state-hypothesis: {sample: 1, slos: {success_rate: {min: 0.5}}}
runtime: {concurrency: 1}
report: {formats: [json, junit]}
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_halfway_keeps_results_and_marks_interrupted(tmp_path: Path, sig: int) -> None:
    cases = "".join(f"  - {{id: c{i}, input: question {i}, expected: [answer]}}\n"
                    for i in range(60))
    write(tmp_path / "data.yaml", "cases:\n" + cases)
    write(tmp_path / "exp.yaml", SLOW_MOCK)
    proc = subprocess.Popen([sys.executable, "-m", "aichaos", "run", "exp.yaml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    db_path = tmp_path / "aichaos-results" / "aichaos.db"
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and stored < 5:  # wait until the method is under way
        time.sleep(0.2)
        if db_path.exists():
            try:
                stored = sqlite3.connect(db_path).execute("select count(*) from cases").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0
    assert stored >= 5, "the run never got going"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    run_dir = next((tmp_path / "aichaos-results").glob("2*"))
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    db = sqlite3.connect(db_path)
    (rows,) = db.execute("select count(*) from cases").fetchone()
    assert 5 <= rows < 61  # what was measured is kept; the run did not finish
    (status,) = db.execute("select status from runs").fetchone()
    assert status == "interrupted"
    assert (run_dir / "junit.xml").is_file()


@pytest.mark.e2e
def test_ctrl_c_while_the_demo_starts_stops_everything_and_exits_130(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "aichaos", "demo", "--quick"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    stack = tmp_path / "aichaos-results" / "stack" / "logs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(stack.glob("app-*.log*")):
        time.sleep(0.1)  # the model server is up and the apps are starting
    assert any(stack.glob("app-*")), "the demo never started its apps"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "interrupted" in out and "Traceback" not in out
    # no CRM, proxy or app left running (their command lines name the results directory) ...
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert left.stdout.strip() == ""
    # ... and the model server's port (in its log's name) is free again
    [log] = stack.glob("llm-server-*.log")
    port = int(log.stem.rsplit("-", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
