"""``aichaos run ... | head``: the reader leaves early; the run still completes and writes every
report file (found by a new-user trial: only journal.json was left, and the store said
"running")."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests_support import write


def test_a_closed_stdout_loses_no_report_and_no_run(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", "cases:\n" + "".join(
        f'  - {{id: c{i}, input: "q{i}?", expected: ["yes"]}}\n' for i in range(6)))
    write(tmp_path / "exp.yaml", """
title: pipe
target: {type: mock, answers: {"q0?": "yes"}}
dataset: data.yaml
layers: {capability: {scorer: {type: contains}}}
report: {formats: [terminal, json, junit, markdown]}
""")
    proc = subprocess.Popen([sys.executable, "-m", "aichaos", "run", "exp.yaml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1, err  # 5 of 6 cases fail: a failed check, not a crash
    assert "Traceback" not in err and "BrokenPipe" not in err
    (run_dir,) = [p for p in (tmp_path / "aichaos-results").iterdir() if p.is_dir()]
    assert {p.name for p in run_dir.iterdir()} == {"journal.json", "report.json", "junit.xml",
                                                    "report.md"}
    assert json.loads((run_dir / "journal.json").read_text())["status"] == "completed"
    db = sqlite3.connect(tmp_path / "aichaos-results" / "aichaos.db")
    assert db.execute("select status from runs").fetchall() == [("completed",)]
