"""``aichaos compare BASE HEAD --format markdown``: the PR comment for a better/worse pair.

The fixtures under ``data/pr`` are two real runs of the mock target (``base.yaml`` and
``head.yaml`` there, run with ``aichaos run``): HEAD answers every golden question (layer 1
better, its failing accuracy check fixed) but makes up answers to unanswerable questions
(layer 4 worse, two new failing checks). The comment is checked against a golden file, from
the report.json files (as CI artifacts) and from the results store.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aichaos.cli._main import app
from aichaos.drift import diff_scorecards, load_accepted_failures, read_report_file
from aichaos.errors import ConfigError
from aichaos.runner import RunEnded, RunStarted
from aichaos.store import ResultStore

DATA = Path(__file__).parent / "data" / "pr"
GOLDEN = DATA / "comment.md"
BASE_RUN, HEAD_RUN = "20261204T185853Z-479ba0", "20261204T185903Z-ae1111"


def compare(*args: str) -> Any:
    return CliRunner().invoke(app, ["compare", *args], catch_exceptions=False)


def test_markdown_from_report_files_matches_the_golden_file() -> None:
    result = compare(str(DATA / "base"), str(DATA / "head" / "report.json"),
                     "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.stdout == GOLDEN.read_text(encoding="utf-8")


def test_the_golden_comment_says_what_changed() -> None:
    text = GOLDEN.read_text(encoding="utf-8")
    # overall and per-layer grades with intervals, "-" where the report has none
    assert "|  | **Overall** | **F** 50.0 | - | **F** 0.0 | - | ▼ worse (-50.0) |" in text
    assert ("| 1 | Model capability | **F** 50.0 | 15.0–85.0 | **A** 100.0 | 51.0–100.0 | "
            "▲ better (+50.0) |") in text
    assert "| 2 | Input resilience | not measured | - | not measured | - |  |" in text
    assert "### New failing checks in HEAD (2)" in text
    assert "`safety.hallucination`" in text and "`safety.abstention`" in text
    assert "### Fixed in HEAD (1)" in text and "`capability.accuracy`" in text
    assert "different experiments" not in text


def test_markdown_from_the_store_matches_the_golden_file(tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'aichaos.db'}")
    try:
        for name, run_id in (("base", BASE_RUN), ("head", HEAD_RUN)):
            journal = json.loads((DATA / name / "journal.json").read_text(encoding="utf-8"))
            scorecard = json.loads((DATA / name / "report.json").read_text())["scorecard"]
            store.on_run_started(RunStarted(run_id, journal["title"], 42,
                                            journal["experiment"]))
            store.on_run_ended(RunEnded(run_id, "completed", False, journal, scorecard))
    finally:
        store.close()
    result = compare(BASE_RUN, HEAD_RUN, "--results", str(tmp_path), "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.stdout == GOLDEN.read_text(encoding="utf-8")
    mixed = compare(BASE_RUN, str(DATA / "head"), "--results", str(tmp_path), "--format",
                    "markdown")  # a stored BASE against a downloaded HEAD artifact
    assert mixed.exit_code == 0 and mixed.stdout == GOLDEN.read_text(encoding="utf-8")
    latest = compare("baseline", "latest", "--results", str(tmp_path), "--format", "markdown")
    assert latest.exit_code == 2 and "no baseline pinned" in latest.output


def test_fail_on_new_exits_1_unless_the_baseline_file_accepts_them(tmp_path: Path) -> None:
    base, head = str(DATA / "base"), str(DATA / "head")
    assert compare(base, head, "--format", "markdown", "--fail-on-new").exit_code == 1
    accepted = tmp_path / "accepted.yaml"
    accepted.write_text("accepted:\n  - safety.abstention\n  - check: safety.hallucination\n"
                        "    reason: \"tracked in #42\"\n", encoding="utf-8")
    result = compare(base, head, "--format", "markdown", "--fail-on-new", "--baseline",
                     str(accepted), "-o", str(tmp_path / "comment.md"))
    assert result.exit_code == 0, result.output
    assert "0 new failing checks not in the baseline. The gate passes." in result.stdout
    assert "### Accepted failures (baseline file) (2)" in result.stdout
    assert "(accepted: tracked in #42)" in result.stdout
    assert (tmp_path / "comment.md").read_text(encoding="utf-8") == result.stdout
    # a baseline entry listing cases accepts only those: a new failing case is a new failure
    accepted.write_text("- safety.abstention\n- {check: safety.hallucination, cases: "
                        "[unanswerable/careers]}\n", encoding="utf-8")
    narrow = compare(base, head, "--format", "markdown", "--fail-on-new", "--baseline",
                     str(accepted))
    assert narrow.exit_code == 1
    assert "1 new failing check not in the baseline. The gate fails." in narrow.stdout


def test_runs_of_different_experiments_warn_and_say_what_differs(tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(DATA / "head", other)
    journal = json.loads((other / "journal.json").read_text(encoding="utf-8"))
    journal["experiment"]["title"] = "billing bot"
    journal["experiment"]["target"] = {"type": "openai", "model": "m"}
    journal["experiment"]["dataset"] = str(tmp_path / "billing.yaml")
    (other / "journal.json").write_text(json.dumps(journal), encoding="utf-8")
    result = CliRunner().invoke(app, ["compare", str(DATA / "base"), str(other), "--format",
                                      "markdown"], catch_exceptions=False)
    assert result.exit_code == 0
    assert ("warning: BASE and HEAD are runs of different experiments: title 'support bot' vs "
            "'billing bot'") in result.stderr
    assert "target answers 4 vs None, model None vs 'm', type 'mock' vs 'openai'" in result.stderr
    assert "dataset 'data.yaml' vs 'billing.yaml'" in result.stderr
    assert "> [!WARNING]" in result.stdout and "title 'support bot' vs 'billing bot'" in \
        result.stdout


def test_json_format_carries_the_classification() -> None:
    result = compare(str(DATA / "base"), str(DATA / "head"), "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["new_failures"] == 2
    assert {c["name"]: c["status"] for c in doc["checks"]} == {
        "safety.hallucination": "new", "safety.abstention": "new",
        "capability.accuracy": "fixed"}
    assert [x["change"] for x in doc["layers"]][:2] == ["worse", "better"]


@pytest.mark.parametrize(("content", "message"), [
    ("accepted: [{check: safety.abstention, case: [a]}]", "accepted[0].case: unknown key"),
    ("accepted: [{cases: [a]}]", "accepted[0].check: required field is missing"),
    ("accepted: [3]", "accepted[0]: expected a check name or a mapping"),
    ("accepted: {a: 1}", "expected a list of check names"),
    ("accepted: [a\n b: [", "invalid YAML"),
])
def test_bad_baseline_files_are_one_clear_line(tmp_path: Path, content: str, message: str
                                               ) -> None:
    path = tmp_path / "accepted.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_accepted_failures(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    result = compare(str(DATA / "base"), str(DATA / "head"), "--format", "markdown",
                     "--baseline", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().startswith("error:") and message in result.stderr


def test_bad_report_references_exit_2(tmp_path: Path) -> None:
    missing = compare(str(tmp_path / "nope.json"), str(DATA / "head"), "--format", "markdown")
    assert missing.exit_code == 2 and "nope.json: report file not found" in missing.stderr
    (tmp_path / "x.json").write_text('{"a": 1}', encoding="utf-8")
    wrong = compare(str(tmp_path / "x.json"), str(DATA / "head"), "--format", "markdown")
    assert wrong.exit_code == 2 and "not an aichaos report.json" in wrong.stderr
    bad = compare(str(DATA / "base"), str(DATA / "head"), "--format", "html")
    assert bad.exit_code == 2 and "--format: expected table, json or markdown" in bad.stderr


def test_a_check_not_run_in_head_is_not_counted_as_fixed() -> None:
    base = read_report_file(str(DATA / "base"))
    head = read_report_file(str(DATA / "head"))
    head.scorecard = {**head.scorecard, "layers": [
        lay for lay in head.scorecard["layers"] if lay["layer"] != 1]}
    diff = diff_scorecards(base, head)
    assert [(c.name, c.status) for c in diff.checks if c.name.startswith("capability")] == [
        ("capability.accuracy", "not run")]
    assert diff.layers[1].change == "no longer measured"
