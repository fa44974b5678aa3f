"""A lone surrogate in a dataset is measured, stored escaped and reported; it never crashes the
run after its results were measured (found by the new-user trial: the terminal report and
report.md raised UnicodeEncodeError, the run was stored as completed with no reports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests_support import write


def test_a_lone_surrogate_in_the_dataset_is_reported_escaped(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", 'cases:\n  - {id: s, input: "hi \\ud800 there", '
                                  'expected: ["hi"]}\n')
    exp = write(tmp_path / "exp.yaml", """
title: surrogate
target: {type: mock, answers: {}}
dataset: data.yaml
layers:
  capability: {scorer: {type: contains}}
report: {formats: [terminal, json, html, junit, markdown]}
""")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8")}
    proc = subprocess.run([sys.executable, "-m", "aichaos", "run", str(exp), "--results",
                           str(tmp_path / "res")], capture_output=True, env=env, timeout=120)
    out = proc.stdout.decode("utf-8") + proc.stderr.decode("utf-8")
    assert "Traceback" not in out and proc.returncode in (0, 1), out
    (run_dir,) = [p for p in (tmp_path / "res").iterdir() if p.is_dir()]
    files = {p.name for p in run_dir.iterdir()}
    assert files == {"journal.json", "report.json", "report.html", "junit.xml", "report.md"}
    assert "hi \\ud800 there" in (run_dir / "report.md").read_text(encoding="utf-8")
    assert "hi \\ud800 there" in out  # the terminal shows it escaped
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["scorecard"]["layers"][0]["failing"][0]["input"] == "hi \ud800 there"
