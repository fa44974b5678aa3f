"""Every exit 1 says why on stderr (found by a new-user trial: a deviated hypothesis exited 1
with an empty stderr, or only "required layer ... was not measured")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests_support import write


def test_a_deviated_hypothesis_is_named_in_a_gate_line(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", 'cases:\n  - {id: a, input: "a?", expected: ["yes"]}\n')
    write(tmp_path / "exp.yaml", """
title: impossible slo
target: {type: mock, answers: {"a?": "yes"}, latency_s: 0.05}
dataset: data.yaml
steady-state-hypothesis: {sample: 1, slos: {latency_p95_s: {max: 0.001}}}
report: {formats: [json]}
""")
    proc = subprocess.run([sys.executable, "-m", "aichaos", "run", "exp.yaml",
                           "--hypothesis-exit"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("gate: ")]
    assert any("the steady-state hypothesis deviated" in ln or "the run failed" in ln
               for ln in lines), proc.stderr
