"""The composite action's own shell steps, run locally with bash against the committed
better/worse fixture pair (GitHub cannot run here, its steps' scripts can): the comment step
writes the golden PR comment and reports the compare exit code; the gate step fails the job
on new failing checks and on a failed run, and passes otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests_support import ROOT

ACTION = ROOT / ".github" / "actions" / "aichaos" / "action.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "aichaos.yml"
PR = ROOT / "tests" / "drift" / "data" / "pr"


def _step(name: str) -> dict[str, Any]:
    steps = yaml.safe_load(ACTION.read_text(encoding="utf-8"))["runs"]["steps"]
    return next(s for s in steps if s.get("name") == name)


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    """A directory with an ``aichaos`` command running this checkout's sources."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "aichaos"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m aichaos "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return bin_dir


def _run_step(name: str, env: dict[str, str], cwd: Path, shim: Path
              ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    output = cwd / "github_output"
    output.write_text("", encoding="utf-8")
    summary = cwd / "step_summary"
    full = {**os.environ, **env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY":
            str(summary), "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(["bash", "-e", "-c", _step(name)["run"]], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=full)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if line)
    return proc, outputs


def test_the_comment_step_writes_the_golden_comment(tmp_path: Path, shim: Path) -> None:
    proc, outputs = _run_step("Write the comment", {
        "RUN_DIR": str(PR / "head"), "BASE_REPORT": str(PR / "base" / "report.json"),
        "BASELINE": "", "FAIL_ON_NEW": "true"}, tmp_path, shim)
    assert proc.returncode == 0, proc.stderr
    assert outputs["compare-code"] == "1"  # two new failing checks
    golden = (PR / "comment.md").read_text(encoding="utf-8")
    assert (tmp_path / "aichaos-comment.md").read_text(encoding="utf-8") == golden.replace(
        "2 new failing checks.", "2 new failing checks. The gate fails.")
    assert (tmp_path / "step_summary").read_text(encoding="utf-8").startswith("## ❌")


def test_without_a_reference_the_comment_is_the_runs_report(tmp_path: Path, shim: Path
                                                            ) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "report.md").write_text("# aichaos readiness report: x\n", encoding="utf-8")
    proc, outputs = _run_step("Write the comment", {
        "RUN_DIR": str(run_dir), "BASE_REPORT": "", "BASELINE": "", "FAIL_ON_NEW": "true"},
        tmp_path, shim)
    assert proc.returncode == 0 and outputs["compare-code"] == "0"
    assert (tmp_path / "aichaos-comment.md").read_text() == "# aichaos readiness report: x\n"


@pytest.mark.parametrize(("run_code", "compare_code", "passes", "says"), [
    ("0", "0", True, ""),
    ("0", "1", False, "new failing checks not in the baseline"),
    ("1", "0", False, "aichaos run exited 1"),
    ("0", "2", False, "aichaos compare failed (exit 2)"),
    ("", "", False, "aichaos run exited"),  # the run step never reported
])
def test_the_gate_step(tmp_path: Path, shim: Path, run_code: str, compare_code: str,
                       passes: bool, says: str) -> None:
    proc, _ = _run_step("Gate", {"RUN_CODE": run_code, "COMPARE_CODE": compare_code},
                        tmp_path, shim)
    assert (proc.returncode == 0) is passes
    assert says in proc.stdout


def test_the_action_and_workflow_are_wired_together() -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    runs = " ".join(str(s.get("run", "")) + str(s.get("uses", ""))
                    for s in action["runs"]["steps"])
    for needed in ("aichaos ci pr-comment", "--format markdown", "--fail-under",
                   "actions/upload-artifact@v4", "--fail-on-new", "--baseline"):
        assert needed in runs, needed
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["readiness"]["steps"]
    uses = [s for s in steps if s.get("uses") == "./.github/actions/aichaos"]
    assert len(uses) == 1 and set(uses[0]["with"]) <= set(action["inputs"])
    assert workflow["permissions"]["pull-requests"] == "write"
