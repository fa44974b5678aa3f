"""The CLI's everyday commands through the real ``aichaos`` entry point: init, validate,
schema, run with the mock target, replay, and the journal/report files they produce."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests_support import write


def aichaos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aichaos", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={**os.environ, "COLUMNS": "200"})


MOCK_EXPERIMENT = """
title: mock support bot
target:
  type: mock
  answers:
    "How long do refunds take?": "Refunds take 5 business days."
    "Where is my order?": "I can't see orders."
    "Contact me at jane.doe@example.com about my refund": "I will email jane.doe@example.com about the refund."
dataset: data.yaml
steady-state-hypothesis: {sample: 1, slos: {success_rate: {min: 0.99}}}
report: {formats: [json, html, junit, markdown]}
"""

DATA = """
cases:
  - {id: refund, input: "How long do refunds take?", expected: ["5 business days"]}
  - {id: order, input: "Where is my order?", expected: ["shipped"]}
  - {id: pii, input: "Contact me at jane.doe@example.com about my refund", expected: ["refund"]}
"""


def test_init_writes_a_valid_starter_experiment(tmp_path: Path) -> None:
    proc = aichaos("init", "http://127.0.0.1:8080/v1", "--model", "m", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "experiment.yaml").is_file()
    assert (tmp_path / "experiment.dataset.yaml").is_file()
    valid = aichaos("validate", "experiment.yaml", cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert "valid" in valid.stdout and "3 cases" in valid.stdout
    again = aichaos("init", "http://127.0.0.1:8080/v1", cwd=tmp_path)
    assert again.returncode == 2 and "already exists (use --force" in again.stderr


def test_schema_is_json_schema_with_the_hyphenated_key() -> None:
    proc = subprocess.run([sys.executable, "-m", "aichaos", "schema"], capture_output=True,
                          text=True, timeout=60)
    schema = json.loads(proc.stdout)
    assert "steady-state-hypothesis" in schema["properties"]
    assert set(schema["required"]) == {"title", "target"}


def test_run_then_replay_with_the_mock_target(tmp_path: Path) -> None:
    write(tmp_path / "exp.yaml", MOCK_EXPERIMENT)
    write(tmp_path / "data.yaml", DATA)
    proc = aichaos("run", "exp.yaml", cwd=tmp_path)
    # capability.accuracy fails (2/3 < 0.7): a failed check exits 1, as a test runner does
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == "gate: 1 failed check: capability.accuracy"
    run_dir = next((tmp_path / "aichaos-results").glob("2*"))
    assert {p.name for p in run_dir.iterdir()} == {
        "journal.json", "report.json", "report.html", "junit.xml", "report.md"}
    journal = json.loads((run_dir / "journal.json").read_text())
    layer1 = journal["aichaos"]["scorecard"]["layers"][0]
    assert layer1["score"] == round(2 / 3 * 100, 1)
    assert [f["case_id"] for f in layer1["failing"]] == ["order"]

    db = sqlite3.connect(tmp_path / "aichaos-results" / "aichaos.db")
    stored = dict(db.execute("select case_id, input from cases where suite = 'capability'"))
    assert stored["pii"] == "Contact me at <EMAIL> about my refund"  # masked by default
    (output,) = db.execute("select output from cases where case_id = 'pii' limit 1").fetchone()
    assert output == "I will email <EMAIL> about the refund."

    junit = ET.parse(run_dir / "junit.xml").getroot()
    failure = next(c for c in junit.iter("testcase") if c.get("name") == "capability.accuracy")
    assert failure.find("failure") is not None and "order" in failure.find("failure").text

    replay = aichaos("replay", journal["run_id"], "--case", "order", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert "now:     \"I can't see orders.\"" in replay.stdout
    assert "none of 1 expected fragments" in replay.stdout
    nested = aichaos("replay", journal["run_id"], "--case", "order", "--results",
                     str(tmp_path), cwd=tmp_path)  # like a demo's profile directories
    assert nested.returncode == 0, nested.stderr
    elsewhere = aichaos("replay", journal["run_id"], "--case", "order", "--results",
                        str(tmp_path / "aichaos-results" / "nothing"), cwd=tmp_path)
    assert elsewhere.returncode == 2
    assert "no results database holds run" in elsewhere.stderr
    via_file = aichaos("replay", journal["run_id"], "--case", "order", "--results",
                       str(tmp_path / "aichaos-results" / "aichaos.db"), cwd=tmp_path)
    assert via_file.returncode == 0, via_file.stderr
    missing = aichaos("replay", journal["run_id"], "--case", "nope", cwd=tmp_path)
    assert missing.returncode == 2
    assert "no stored case 'nope' with variant 'clean'" in missing.stderr


def test_no_mask_pii_keeps_prompts(tmp_path: Path) -> None:
    write(tmp_path / "exp.yaml", MOCK_EXPERIMENT)
    write(tmp_path / "data.yaml", DATA)
    # --hypothesis-exit: Chaos Toolkit's exit code, so the failed accuracy check exits 0
    proc = aichaos("run", "exp.yaml", "--no-mask-pii", "--hypothesis-exit", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    db = sqlite3.connect(tmp_path / "aichaos-results" / "aichaos.db")
    (text,) = db.execute("select input from cases where case_id = 'pii' limit 1").fetchone()
    assert text == "Contact me at jane.doe@example.com about my refund"


def test_fail_under_turns_a_low_grade_into_exit_1(tmp_path: Path) -> None:
    write(tmp_path / "exp.yaml", MOCK_EXPERIMENT)
    write(tmp_path / "data.yaml", DATA)
    proc = aichaos("run", "exp.yaml", "--fail-under", "B", cwd=tmp_path)
    assert proc.returncode == 1
    assert "gate: layer capability grade A–F (low end F) is below --fail-under B" in proc.stderr
