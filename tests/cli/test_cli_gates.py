"""``aichaos run``'s gates through the real CLI (in process) against real targets: the mock
target and, for layer 3, a real chaos proxy in front of a real loopback HTTP server.

Findings of issue 12 reproduced here (each failed before the gates were rewritten):
``--fail-under A`` exited 0 when no layer was measured; ``--fail-under AB`` was accepted; a
run with failed checks and grade F exited 0; junit.xml held fewer failures than the terminal
listed (the failed checks of an unmeasured layer were missing from it).
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aichaos._net import free_port
from aichaos.cli import app
from aichaos.probes._capability import CapabilitySuite
from aichaos.results import GradeRange, LayerResult
from aichaos.scoring import rate_verdict
from tests_support import write

ENV = {"COLUMNS": "250"}

DATA = "cases:\n" + "".join(
    f"  - {{id: q{i}, input: question {i}, expected: [answer {i}]}}\n" for i in range(4))

NOTHING = """
title: nothing measured
target: {type: mock, default: "the answer"}
dataset: data.yaml
layers:
  capability: {enabled: false}
  observability: {otlp: false, fault_requests: 0}
report: {formats: [json, junit]}
"""

# every answer wrong: capability.accuracy fails, grade F, and the hypothesis still holds
ALL_WRONG = """
title: all wrong
target: {type: mock, default: "no idea"}
dataset: data.yaml
steady-state-hypothesis: {sample: 1, slos: {success_rate: {min: 0.99}}}
report: {formats: [json, junit]}
"""


def _run(tmp_path: Path, text: str, *args: str) -> Any:
    write(tmp_path / "data.yaml", DATA)
    exp = write(tmp_path / "exp.yaml", text)
    return CliRunner().invoke(app, ["run", str(exp), "--results", str(tmp_path / "r"), *args],
                              env=ENV, catch_exceptions=False)


def _gate_lines(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("gate: ")]


def test_fail_under_a_fails_when_no_layer_was_measured(tmp_path: Path) -> None:
    result = _run(tmp_path, NOTHING, "--fail-under", "A")
    assert result.exit_code == 1, result.output
    assert _gate_lines(result) == [
        "gate: required layer observability was not measured (not measured: OTLP receiver "
        "disabled and no prometheus_url)",
        "gate: no layer was measured: nothing meets --fail-under A"]


def test_require_none_and_no_bar_keeps_a_run_that_measured_nothing_at_0(tmp_path: Path) -> None:
    result = _run(tmp_path, NOTHING, "--require", "none")
    assert result.exit_code == 0, result.output
    assert _gate_lines(result) == []


@pytest.mark.parametrize("bar", ["AB", "Z", "-", ""])
def test_a_bar_that_is_not_one_letter_a_to_f_is_bad_input(tmp_path: Path, bar: str) -> None:
    result = _run(tmp_path, NOTHING, "--fail-under", bar)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: --fail-under: expected a grade A-F, got {bar!r}"
    assert result.stdout == ""
    assert not (tmp_path / "r").exists()  # nothing ran


def test_require_names_real_enabled_layers(tmp_path: Path) -> None:
    unknown = _run(tmp_path, NOTHING, "--require", "observability,caching")
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == (
        "error: --require: unknown layer 'caching' (expected one of capability, "
        "input_resilience, integration, safety, observability, scale, or 1-6)")
    off = _run(tmp_path, NOTHING, "--require", "6")
    assert off.exit_code == 2
    assert off.stderr.strip() == (f"error: --require: scale is not enabled in "
                                  f"{tmp_path / 'exp.yaml'}, so it cannot be measured")


def test_failed_checks_and_grade_f_exit_1_unless_hypothesis_exit(tmp_path: Path) -> None:
    result = _run(tmp_path, ALL_WRONG)
    assert result.exit_code == 1, result.output
    assert _gate_lines(result) == ["gate: 1 failed check: capability.accuracy"]
    [report] = (tmp_path / "r").glob("2*/report.json")
    doc = json.loads(report.read_text())
    assert doc["run"]["failed"] is False  # the hypothesis held: Chaos Toolkit would say 0
    assert doc["scorecard"]["overall"]["grade"] == "F"
    kept = _run(tmp_path, ALL_WRONG, "--hypothesis-exit")
    assert kept.exit_code == 0, kept.output
    assert _gate_lines(kept) == []
    barred = _run(tmp_path, ALL_WRONG, "--hypothesis-exit", "--fail-under", "D")
    assert barred.exit_code == 1
    assert _gate_lines(barred) == [
        "gate: layer capability grade D–F (low end F) is below --fail-under D"]


# --------------------------------------------------------------------------- one list everywhere


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    """A real HTTP server on loopback: the CRM the mock target never calls."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


MIXED = """
title: mixed verdicts
target:
  type: mock
  answers: {{"question 0": "answer 0", "question 1": "answer 1"}}
  default: "no idea"
dependencies:
  crm: {{upstream: "{upstream}"}}
dataset: data.yaml
steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.5}}}}}}
layers:
  integration: {{toxics: [{{dependency: crm, type: http_error, attributes: {{status: 500}}}}],
                limit: 2}}
report: {{formats: [terminal, json, junit, markdown]}}
"""


def test_junit_terminal_and_json_list_the_same_failed_checks(tmp_path: Path,
                                                             upstream: str) -> None:
    """Capability fails accuracy (2/4); the CRM fault never fires (the mock target calls no
    CRM), so layer 3 is not measured and its ``exercised`` check is not measured either:
    every output lists the same failed checks, and JUnit skips the unmeasured one."""
    result = _run(tmp_path, MIXED.format(upstream=upstream))
    assert result.exit_code == 1, result.output
    [run_dir] = (tmp_path / "r").glob("2*")

    doc = json.loads((run_dir / "report.json").read_text())
    from_json = [c["name"] for lay in doc["scorecard"]["layers"] for c in lay["checks"]
                 if not c["passed"] and c["not_measured"] is None]

    root = ET.parse(run_dir / "junit.xml").getroot()
    from_junit = [case.get("name") for suite in root.iter("testsuite")
                  for case in suite.iter("testcase")
                  if case.find("failure") is not None
                  and str(case.get("classname")) != "aichaos.steady_state"]
    failures = sum(int(s.get("failures") or 0) for s in root.iter("testsuite")
                   if s.get("name") != "steady-state-hypothesis")

    from_terminal = re.findall(r"^  ✗ (\S+) \(", result.stdout, re.M)
    header = re.search(r"^Failed checks \((\d+)\)$", result.stdout, re.M)
    md = (run_dir / "report.md").read_text()
    from_markdown = re.findall(r"^- ❌ `([^`]+)`", md, re.M)
    [gate] = [line for line in _gate_lines(result) if "failed check" in line]

    assert "capability.accuracy" in from_json
    unmeasured = [c["name"] for lay in doc["scorecard"]["layers"] for c in lay["checks"]
                  if c["not_measured"]]
    assert any(n.startswith("integration.") and n.endswith(".exercised") for n in unmeasured)
    skipped = [case.get("name") for case in root.iter("testcase")
               if case.find("skipped") is not None]
    assert set(unmeasured) <= set(skipped), (unmeasured, skipped)
    assert from_junit == from_json and failures == len(from_json)
    assert from_terminal == from_json and header and int(header.group(1)) == len(from_json)
    assert from_markdown == from_json
    plural = "s" if len(from_json) != 1 else ""
    assert gate == f"gate: {len(from_json)} failed check{plural}: {', '.join(from_json)}"
    layers = {lay["key"]: lay for lay in doc["scorecard"]["layers"]}
    assert not layers["integration"]["measured"]  # required by default: a gate line says so
    assert any(line.startswith("gate: required layer integration was not measured")
               for line in _gate_lines(result))


# --------------------------------------------------------------------------- ranges, end to end


RANGED = """
title: ranged verdicts
target:
  type: mock
  answers: {answers}
  default: "no idea"
dataset: data.yaml
steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.5}}}}}}
report: {{formats: [terminal, json, junit, markdown, html]}}
"""


def test_a_run_prints_the_grade_range_interval_and_n_in_every_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The capability layer's interval and range come from ``rate_verdict`` over the run's
    own per-case scores (what each layer computes in its own work); the CLI, session, store
    and every renderer are the real ones."""
    original = CapabilitySuite.run

    async def with_interval(self: CapabilitySuite, ctx: Any) -> LayerResult:
        result = await original(self, ctx)
        verdict = rate_verdict(result.details["scores"], 0.7)
        result.interval = verdict.scaled()
        result.grade_range = GradeRange.of(verdict.scaled().low, verdict.scaled().high)
        result.checks[0].interval, result.checks[0].decided = verdict.interval, verdict.decided
        return result

    monkeypatch.setattr(CapabilitySuite, "run", with_interval)
    cases = 12
    write(tmp_path / "data.yaml", "cases:\n" + "".join(
        f"  - {{id: q{i}, input: question {i}, expected: [answer {i}]}}\n" for i in range(cases)))
    answers = json.dumps({f"question {i}": f"answer {i}" for i in range(9)})  # 9/12 right
    exp = write(tmp_path / "exp.yaml", RANGED.format(answers=answers))
    result = CliRunner().invoke(app, ["run", str(exp), "--results", str(tmp_path / "r")],
                                env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output  # accuracy 0.75 >= 0.7 passes
    [run_dir] = (tmp_path / "r").glob("2*")
    doc = json.loads((run_dir / "report.json").read_text())
    layer = doc["scorecard"]["layers"][0]
    low, high = layer["interval"]["low"], layer["interval"]["high"]
    assert layer["interval"]["n"] == cases and low < 75.0 < high
    grade_range = layer["grade_range"]
    assert "–" in grade_range  # 12 cases cannot make a firm grade
    overall = doc["scorecard"]["overall"]
    assert overall["interval"] == {**layer["interval"], "method": "weakest-link", "n": None}
    assert overall["grade_range"] == grade_range

    shown = f"75.0 [{low:.1f}–{high:.1f}], n={cases} cases"
    row = next(line for line in result.stdout.splitlines() if line.startswith("  1 "))
    assert grade_range in row and shown in row
    assert f"Readiness  {grade_range} " in result.stdout
    md = (run_dir / "report.md").read_text()
    assert f"| {shown} | {grade_range} |" in md
    html = (run_dir / "report.html").read_text()
    assert f'<div class="grade">{grade_range}</div>' in html and shown in html
    suite = ET.parse(run_dir / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["grade_range"] == grade_range and props["n"] == str(cases)
    state = "decided" if layer["checks"][0]["decided"] else "open"
    assert layer["checks"][0]["decided"] is False  # 0.75 on 12 cases cannot exclude 0.7
    assert f"threshold &gt;= 0.7, {state}: 9/12 cases passed" in html  # every check listed
