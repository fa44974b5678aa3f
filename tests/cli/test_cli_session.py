"""The run session through ``aichaos run``: ``--layer`` subsets, ``--resume`` of a really
interrupted run, and report.json valid against its versioned schema."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from aichaos.cli import app
from aichaos.results import SCHEMA_VERSION, report_schema, validate_report
from aichaos.session import run_experiment
from tests_support import write

MOCK = """
title: session mock
target: {type: mock, default: "the answer"}
dataset: data.yaml
layers:
  capability: {scorer: {type: contains}}
  input_resilience: {perturbations: [casing], severity: [1], limit: 2,
                     scorer: {type: contains}, health_after: false}
report: {formats: [json]}
"""


def _mock_experiment(tmp_path: Path) -> Path:
    cases = "".join(f"  - {{id: c{i}, input: question {i}, expected: [answer]}}\n"
                    for i in range(4))
    write(tmp_path / "data.yaml", "cases:\n" + cases)
    return write(tmp_path / "exp.yaml", MOCK)


def _report(results: Path) -> dict:
    [path] = results.glob("2*/report.json")
    return json.loads(path.read_text())


def test_layer_option_runs_only_the_chosen_layers(tmp_path: Path) -> None:
    exp = _mock_experiment(tmp_path)
    res = CliRunner().invoke(app, ["run", str(exp), "--layer", "capability",
                                   "--results", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    layers = {lay["key"]: lay for lay in _report(tmp_path / "r")["scorecard"]["layers"]}
    assert layers["capability"]["measured"] and layers["capability"]["score"] == 100.0
    assert not layers["input_resilience"]["measured"]  # enabled in the file, not selected
    db = sqlite3.connect(tmp_path / "r" / "aichaos.db")
    assert db.execute("select distinct layer from cases order by layer").fetchall() == [
        (0,), (1,)]  # the steady-state checks, and layer 1 only


def test_layer_option_takes_numbers_and_keeps_stack_order(tmp_path: Path) -> None:
    done = run_experiment(_mock_experiment(tmp_path), results_dir=tmp_path / "r",
                          layers=["2", "capability"], console=Console(quiet=True))
    assert [a["activity"]["name"] for a in done.outcome.journal["run"]] == [
        "layer1.capability", "layer2.input_resilience"]


def test_unknown_or_disabled_layer_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    exp = _mock_experiment(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(app, ["run", str(exp), "--layer", "capability,nope",
                              "--results", str(tmp_path / "r")])
    assert bad.exit_code == 2
    assert bad.output.strip() == ("error: --layer: unknown layer 'nope' (expected one of "
                                  "capability, input_resilience, integration, safety, "
                                  "observability, scale, or 1-6)")
    off = runner.invoke(app, ["run", str(exp), "--layer", "scale",
                              "--results", str(tmp_path / "r")])
    assert off.exit_code == 2 and off.output.strip() == f"error: --layer: scale is not enabled in {exp}"
    assert not (tmp_path / "r" / "aichaos.db").exists() or not sqlite3.connect(
        tmp_path / "r" / "aichaos.db").execute("select * from cases").fetchall()


def test_resume_of_an_unknown_or_completed_run_is_refused(tmp_path: Path) -> None:
    exp = _mock_experiment(tmp_path)
    runner = CliRunner()
    unknown = runner.invoke(app, ["run", str(exp), "--resume", "nosuchrun",
                                  "--results", str(tmp_path / "r")])
    assert unknown.exit_code == 2
    assert unknown.output.strip() == ("error: --resume nosuchrun: no such run in the results "
                                      "store")
    done = run_experiment(exp, results_dir=tmp_path / "r",
                          console=Console(quiet=True))
    again = runner.invoke(app, ["run", str(exp), "--resume", done.outcome.run_id,
                                "--results", str(tmp_path / "r")])
    assert again.exit_code == 2 and "the run completed; nothing to resume" in again.output


def test_report_json_of_a_real_run_validates_against_the_schema(tmp_path: Path) -> None:
    exp = _mock_experiment(tmp_path)
    run_experiment(exp, results_dir=tmp_path / "r", console=Console(quiet=True))
    doc = _report(tmp_path / "r")
    assert doc["schema_version"] == SCHEMA_VERSION
    assert report_schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert validate_report(doc) == []
    # the schema is strict where it promises a shape: a wrong type or a stray key is caught
    doc["scorecard"]["layers"][0]["score"] = "high"
    doc["scorecard"]["layers"][0]["checks"][0]["surprise"] = 1
    errors = validate_report(doc)
    assert any(e.startswith("scorecard.layers.0.score: 'high' is not of type") for e in errors)
    assert any(e.startswith("scorecard.layers.0.checks.0: Additional properties") for e in errors)


# --------------------------------------------------------------------------- --resume

APP = """
import asyncio, os

async def answer(text):
    await asyncio.sleep(0.15)
    with open(os.environ["AICHAOS_RESUME_LOG"], "a", encoding="utf-8") as log:
        log.write(repr(text) + "\\n")
    return "the answer"
"""

PYTHON = """
title: resumable
target: {type: python, function: "resume_app:answer", path: "%s"}
dataset: data.yaml
steady-state-hypothesis: {sample: 1, slos: {success_rate: {min: 0.5}}}
layers:
  capability: {scorer: {type: contains}}
  input_resilience: {perturbations: [casing, typo_keyboard], severity: [1], limit: 4,
                     scorer: {type: contains}, health_after: false}
runtime: {concurrency: 1, seed: 3}
report: {formats: [json]}
"""


def _rows(db: Path) -> Counter[tuple]:
    conn = sqlite3.connect(db)
    try:
        return Counter(conn.execute("select layer, suite, case_id, variant from cases"))
    finally:
        conn.close()


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def test_resume_continues_an_interrupted_run_without_resending_stored_cases(
    tmp_path: Path, monkeypatch
) -> None:
    write(tmp_path / "resume_app.py", APP)
    cases = "".join(f"  - {{id: c{i}, input: question number {i}, expected: [answer]}}\n"
                    for i in range(8))
    write(tmp_path / "data.yaml", "cases:\n" + cases)
    write(tmp_path / "exp.yaml", PYTHON % tmp_path)
    env = {**os.environ, "COLUMNS": "200"}

    # the reference: the same experiment, uninterrupted
    monkeypatch.setenv("AICHAOS_RESUME_LOG", str(tmp_path / "reference.log"))
    reference = run_experiment(tmp_path / "exp.yaml", results_dir=tmp_path / "ref",
                               console=Console(quiet=True))
    assert reference.outcome.journal["status"] == "completed"
    expected_rows = _rows(tmp_path / "ref" / "aichaos.db")
    sends = _lines(tmp_path / "reference.log")
    # 1 + 8 + 4 clean + 4 re-sampled clean + 8 perturbed + 1
    assert sends == sum(expected_rows.values()) == 26

    # a real run, interrupted (SIGINT) in the middle of layer 2
    log = tmp_path / "sends.log"
    env["AICHAOS_RESUME_LOG"] = str(log)
    proc = subprocess.Popen([sys.executable, "-m", "aichaos", "run", "exp.yaml"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _lines(log) < 13:
        time.sleep(0.05)
    assert _lines(log) >= 13, proc.communicate(timeout=60)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    db = tmp_path / "aichaos-results" / "aichaos.db"
    (run_id, status), = sqlite3.connect(db).execute("select run_id, status from runs")
    assert status == "interrupted"
    stored_before = _rows(db)
    sent_before = _lines(log)
    assert 0 < sum(stored_before.values()) < sends
    assert sent_before - sum(stored_before.values()) <= 1  # at most one answer not yet stored

    resumed = subprocess.run([sys.executable, "-m", "aichaos", "run", "exp.yaml",
                              "--resume", run_id], cwd=tmp_path, capture_output=True,
                             text=True, env=env, timeout=180)
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    reused = sum(stored_before.values())
    assert f"resumed {run_id}: {reused} stored cases reused, not sent again" in resumed.stdout
    # every case stored before the interruption was not sent again; the rest was sent once
    assert _lines(log) - sent_before == sends - reused
    assert _rows(db) == expected_rows  # one row per case, as in the uninterrupted run
    ((final,),) = sqlite3.connect(db).execute("select status from runs")
    assert final == "completed"
    report = _report(tmp_path / "aichaos-results")
    assert report["run"]["run_id"] == run_id
    got = {lay["key"]: lay["score"] for lay in report["scorecard"]["layers"]}
    want = {lay.key: lay.score for lay in reference.outcome.scorecard.layers.values()}
    assert got == want and got["capability"] == 100.0 and got["input_resilience"] is not None


MASKED = """
title: masked resume
target: {type: mock, default: "the answer"}
dataset: data.yaml
layers:
  capability: {scorer: {type: contains}}
report: {formats: [json]}
"""

UNREACHABLE = """
title: masked resume
target: {type: http, url: "http://127.0.0.1:%d/chat", timeout_s: 2}
dataset: data.yaml
layers:
  capability: {scorer: {type: contains}}
report: {formats: [json]}
"""


def test_resume_resends_masked_cases_and_a_resume_that_cannot_start_loses_nothing(
    tmp_path: Path,
) -> None:
    from aichaos.demo import free_port

    write(tmp_path / "data.yaml", "cases:\n"
          "  - {id: plain, input: what is the answer, expected: [answer]}\n"
          "  - {id: email, input: mail jane.doe@example.com the answer, expected: [answer]}\n")
    write(tmp_path / "exp.yaml", MASKED)
    write(tmp_path / "down.yaml", UNREACHABLE % free_port())
    results = tmp_path / "r"
    first = run_experiment(tmp_path / "exp.yaml", results_dir=results,
                           console=Console(quiet=True))
    db = results / "aichaos.db"
    conn = sqlite3.connect(db)
    with conn:  # as if the run had been interrupted after storing its cases
        conn.execute("update runs set status = 'interrupted'")
    rows = conn.execute("select id, case_id, input from cases where layer = 1").fetchall()
    assert {r[1] for r in rows} == {"plain", "email"}
    assert any("<EMAIL>" in r[2] for r in rows)  # the store masked it
    all_rows = conn.execute("select input from cases").fetchall()

    runner = CliRunner()
    down = runner.invoke(app, ["run", str(tmp_path / "down.yaml"), "--results", str(results),
                               "--resume", first.outcome.run_id])
    assert down.exit_code == 2 and "error:" in down.output
    assert conn.execute("select id, case_id, input from cases where layer = 1").fetchall() == rows

    again = runner.invoke(app, ["run", str(tmp_path / "exp.yaml"), "--results", str(results),
                                "--resume", first.outcome.run_id])
    assert again.exit_code == 0, again.output
    plain = sum("<EMAIL>" not in r[0] for r in all_rows)
    # plain rows: steady state before and after, and layer 1
    assert plain == 3 and f"{plain} stored cases reused" in again.output  # masked: re-sent
    after = conn.execute("select id, case_id from cases where layer = 1 order by id").fetchall()
    assert [c for _, c in after] == ["plain", "email"]
    stored_plain = next(r[0] for r in rows if r[1] == "plain")  # cases may be sent in any order
    assert after[0] == (stored_plain, "plain") and after[1][0] > max(r[0] for r in rows)
    conn.close()
