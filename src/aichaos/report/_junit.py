"""JUnit XML report: every check becomes a test case CI can show.

Layout (the de-facto JUnit schema read by Jenkins, GitLab and GitHub test reporters)::

    <testsuites name="aichaos" tests= failures= errors="0" skipped= time=>
      <testsuite name="<layer title>" ...>          one per layer, stack order
        <properties> layer, key, score, grade </properties>
        <testcase classname="aichaos.<layer key>" name="<check name>">
          <failure message="value ..., threshold ...: message" type="ThresholdNotMet">
            ... failing case ids with their reproduction lines ...
          </failure>
        </testcase>
      </testsuite>
      <testsuite name="steady-state-hypothesis">    before / after
    </testsuites>

A layer that was not measured yields one ``<testcase>`` holding ``<skipped message="not
measured: ..."/>``: CI shows it as skipped, never as a pass.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from aichaos.report._format import check_line, fmt_score, layers
from aichaos.results import run_summary

_FAILURE_TYPE = "ThresholdNotMet"
# Characters XML 1.0 forbids anywhere (perturbed inputs can carry them); dropped on output.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _set_counts(element: ET.Element, cases: list[ET.Element]) -> tuple[int, int, int]:
    tests = len(cases)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", "0")
    element.set("skipped", str(skipped))
    return tests, failures, skipped


def _properties(parent: ET.Element, values: dict[str, Any]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value="" if value is None else str(value))


def _failure_text(check: dict[str, Any], layer: dict[str, Any]) -> str:
    repro = {f.get("case_id"): f.get("reproduce", "") for f in layer.get("failing") or []}
    lines = [check_line(check)]
    case_ids: list[str] = [str(c) for c in check.get("cases") or []]
    if case_ids:
        lines.append(f"failing cases ({len(case_ids)}):")
        for case_id in case_ids:
            how = repro.get(case_id)
            lines.append(f"  {case_id}" + (f"  reproduce: {how}" if how else ""))
    return "\n".join(lines)


def _layer_suite(root: ET.Element, layer: dict[str, Any]) -> None:
    key = str(layer.get("key", layer.get("layer")))
    suite = ET.SubElement(root, "testsuite", name=str(layer.get("title", key)))
    _properties(
        suite,
        {
            "layer": layer.get("layer"),
            "key": key,
            "score": fmt_score(layer.get("score")),
            "grade": layer.get("grade", "-"),
        },
    )
    classname = f"aichaos.{key}"
    cases: list[ET.Element] = []
    if not layer.get("measured"):
        case = ET.SubElement(suite, "testcase", classname=classname, name=key, time="0")
        note = layer.get("note") or "layer was not run"
        reason = note if note.startswith("not measured") else f"not measured: {note}"
        ET.SubElement(case, "skipped", message=reason)
        cases.append(case)
    checks: list[dict[str, Any]] = layer.get("checks") or []
    for check in checks if layer.get("measured") else []:
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=str(check.get("name")), time="0"
        )
        if check.get("not_measured"):  # a check that could not run: skipped, never passed
            ET.SubElement(case, "skipped", message=str(check["not_measured"]))
        elif not check.get("passed"):
            failure = ET.SubElement(case, "failure", message=check_line(check), type=_FAILURE_TYPE)
            failure.text = _failure_text(check, layer)
        cases.append(case)
    if layer.get("measured") and not checks:
        # A measured layer without checks still shows up, as a pass carrying its score.
        case = ET.SubElement(suite, "testcase", classname=classname, name=f"{key}.score")
        case.set("time", "0")
        out = ET.SubElement(case, "system-out")
        out.text = f"score {fmt_score(layer.get('score'))}, grade {layer.get('grade', '-')}"
        cases.append(case)
    _set_counts(suite, cases)
    suite.set("time", "0")


def _steady_state_suite(root: ET.Element, journal: dict[str, Any]) -> None:
    suite = ET.SubElement(root, "testsuite", name="steady-state-hypothesis")
    states = journal.get("steady_states") or {}
    cases: list[ET.Element] = []
    for phase in ("before", "after"):
        entry = states.get(phase)
        case = ET.SubElement(
            suite, "testcase", classname="aichaos.steady_state", name=phase, time="0"
        )
        if not isinstance(entry, dict):
            entry = {}
        met = entry.get("steady_state_met")
        if met is None:
            status = journal.get("status") or "unknown"
            ET.SubElement(case, "skipped", message=f"not evaluated (run {status})")
        elif not met:
            probes: list[Any] = entry.get("probes") or []
            failed = [p for p in probes if isinstance(p, dict) and not p.get("tolerance_met")]
            names = [str((p.get("activity") or {}).get("name", "?")) for p in failed]
            failure = ET.SubElement(
                case,
                "failure",
                message=f"steady state not met {phase} the method",
                type="SteadyStateDeviated",
            )
            failure.text = "probes outside tolerance: " + (", ".join(names) or "(none listed)")
        cases.append(case)
    _set_counts(suite, cases)
    suite.set("time", "0")


def render_junit(scorecard: dict[str, Any], journal: dict[str, Any]) -> str:
    """Render the scorecard and the steady-state hypothesis as JUnit XML.

    Args:
        scorecard: ``Scorecard.to_dict()``.
        journal: a Chaos Toolkit journal dict (for the steady-state test suite).

    Returns:
        The XML document (UTF-8 declaration included), ending with a newline.
    """
    summary = run_summary(journal)
    root = ET.Element("testsuites", name="aichaos")
    for layer in layers(scorecard):
        _layer_suite(root, layer)
    _steady_state_suite(root, journal)
    suites = root.findall("testsuite")
    all_cases = [c for s in suites for c in s.findall("testcase")]
    _set_counts(root, all_cases)
    duration = summary["duration_s"]
    root.set("time", f"{duration:.3f}" if isinstance(duration, int | float) else "0")
    if summary["start"]:
        for suite in suites:
            suite.set("timestamp", str(summary["start"]))
    ET.indent(root)
    body = _INVALID_XML.sub("", ET.tostring(root, encoding="unicode"))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
