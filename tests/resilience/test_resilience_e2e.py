"""End to end: layer 2 through the CLI against the real local SmolLM2 server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests_support import ROOT

pytestmark = pytest.mark.e2e

PERTURBATIONS = ["typo_keyboard", "casing", "format_json", "truncate", "empty"]


def test_input_resilience_against_real_model(llm_server: str, tmp_path: Path) -> None:
    example = yaml.safe_load((ROOT / "examples" / "smollm2-support.yaml").read_text())
    experiment = {
        "title": "SmolLM2 survives messy input",
        "target": {**example["target"], "base_url": llm_server, "max_tokens": 32},
        "dataset": str(ROOT / "examples" / "datasets" / "support.yaml"),
        "steady-state-hypothesis": None,  # keep the run short: 26 requests in all
        "layers": {"capability": {"enabled": False},
                   "input_resilience": {"perturbations": PERTURBATIONS, "severity": [1, 3],
                                        "limit": 2}},
        "runtime": {"seed": 42, "concurrency": 2},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    results = tmp_path / "results"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "aichaos", "run", str(path), "--results", str(results)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "OPENAI_API_KEY": "", "COLUMNS": "160"},
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    run_dir = next(results.glob("2*"))
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "completed"
    assert [a["activity"]["name"] for a in journal["run"]] == ["layer2.input_resilience"]
    layer = journal["aichaos"]["scorecard"]["layers"][1]
    m = layer["metrics"]
    print(f"\nlayer 2 against SmolLM2 in {elapsed:.0f} s:", json.dumps(m, indent=1))
    for row in layer["details"]["perturbations"]:
        print(" ", row["variant"], f"inv={row['invariance_rate']:.2f}",
              f"[{row['ci_low']:.2f}, {row['ci_high']:.2f}]", "pdr=", row["pdr"],
              "err=", row["error_rate"], "clar=", row["clarification_rate"])
    for ex in layer["details"]["examples"]:
        print(" ", ex["name"], ex["severity"], repr(ex["perturbed_input"][:60]), "->",
              repr(ex["perturbed_output"][:100]), "|", ex["reason"])
    assert layer["measured"] is True and m["cases"] == 2 and m["perturbed_requests"] == 20
    assert layer["score"] == round(m["invariance_rate"] * 100, 1)
    assert 0 <= m["invariance_ci_low"] <= m["invariance_rate"] <= m["invariance_ci_high"] <= 1
    assert layer["interval"]["n"] == 2 and layer["interval"]["method"] == "betting-cs"
    assert 0 <= m["noise_floor"] <= 1 and len(layer["case_scores"]) == 2
    rows = layer["details"]["perturbations"]
    assert {r["variant"] for r in rows} == {f"{p}@{s}" for p in PERTURBATIONS for s in (1, 3)}
    assert [r["invariance_rate"] for r in rows] == sorted(r["invariance_rate"] for r in rows)
    assert all(r["n"] == 2 for r in rows)
    assert len(layer["details"]["examples"]) == len(rows)
    assert all(r["pdr"] is None for r in rows if r["name"] == "empty")
    assert m["error_rate"] == 0.0  # the real server answers every perturbed request

    db = sqlite3.connect(results / "aichaos.db")
    found = db.execute("select variant, case_id, error_class, output, metadata from cases "
                       "where run_id = ? and suite = 'input_resilience'",
                       (journal["run_id"],)).fetchall()
    variants = [r[0] for r in found]
    assert variants.count("clean") == 2 and variants.count("health_after") == 2
    assert variants.count("clean_resample") == 2  # the noise floor's second clean answer
    assert variants.count("typo_keyboard@1") == 2 and variants.count("empty@3") == 2
    assert len(found) == 26 and all(r[2] is None for r in found)
    typo = next(json.loads(r[4]) for r in found if r[0] == "typo_keyboard@3")
    assert typo["perturbation"] == "typo_keyboard" and typo["severity"] == 3
    assert typo["perturbation_seed"] == 42 and typo["lineage"][0]["op"]

    cases = {c.get("name"): c for c in ET.parse(run_dir / "junit.xml").getroot().iter("testcase")}
    for name in ("invariance", "crashes", "clarification", "health_after"):
        assert f"input_resilience.{name}" in cases
    assert cases["input_resilience.crashes"].find("failure") is None
    assert cases["input_resilience.health_after"].find("failure") is None
    assert (cases["input_resilience.invariance"].find("failure") is None) == (
        m["invariance_rate"] >= 0.8)
