"""End to end: the example experiment, through the CLI, against the real local SmolLM2 server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests_support import ROOT

pytestmark = pytest.mark.e2e


def test_example_experiment_against_real_model(llm_server: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    secret = "sk-e2eCanarySecret1234567890"
    proc = subprocess.run(
        [sys.executable, "-m", "aichaos", "run", str(ROOT / "examples" / "smollm2-support.yaml"),
         "--limit", "10", "--results", str(results)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "AICHAOS_LLM_URL": llm_server, "OPENAI_API_KEY": secret,
             "COLUMNS": "160"},
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    run_dir = next(results.glob("2*"))

    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "completed"
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert [a["activity"]["name"] for a in journal["run"]] == ["layer1.capability"]
    assert journal["experiment"]["target"]["model"] == "smollm2-135m-instruct"
    failed = [c["name"] for lay in journal["aichaos"]["scorecard"]["layers"]
              for c in lay["checks"] if not c["passed"] and not c["not_measured"]]
    assert proc.returncode == (1 if journal["deviated"] or failed else 0)  # failed checks: 1
    capability = journal["aichaos"]["scorecard"]["layers"][0]
    assert capability["measured"] is True and capability["metrics"]["cases"] == 10

    db = sqlite3.connect(results / "aichaos.db")
    rows = db.execute(
        "select suite, output, error_class, e2e_s, ttft_s, output_tokens, seed, variant "
        "from cases where run_id = ?", (journal["run_id"],)).fetchall()
    suites = [r[0] for r in rows]
    assert suites.count("capability") == 10
    assert suites.count("steady_state.before") == 4 and suites.count("steady_state.after") == 4
    answered = [r for r in rows if r[2] is None]
    assert len(answered) == len(rows), [r for r in rows if r[2]]  # the real model answered all
    assert all(r[1].strip() for r in answered)  # a real, non-empty answer each
    assert all(0 < r[4] <= r[3] for r in answered)  # TTFT within E2E
    assert all(r[5] and r[5] > 0 for r in answered)  # usage tokens from the stream
    assert {r[6] for r in rows} == {42} and {r[7] for r in rows} == {"clean"}
    status, score = db.execute("select status, overall_score from runs where run_id = ?",
                               (journal["run_id"],)).fetchone()
    assert status == "completed" and score == capability["score"]

    suites_xml = ET.parse(run_dir / "junit.xml").getroot()
    cases = {c.get("name"): c for c in suites_xml.iter("testcase")}
    assert "capability.accuracy" in cases
    skipped = [c for c in suites_xml.iter("testcase") if c.find("skipped") is not None]
    assert len(skipped) == 5  # layers 2-6 were not run: skipped, never passed
    accuracy = capability["metrics"]["accuracy"]
    assert (cases["capability.accuracy"].find("failure") is None) == (accuracy >= 0.7)

    everything = "".join(p.read_text(errors="replace") for p in run_dir.iterdir())
    everything += (results / "aichaos.db").read_bytes().decode("latin-1")
    assert secret not in everything + proc.stdout + proc.stderr  # API keys never stored
