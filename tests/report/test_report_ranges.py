"""Every renderer prints a grade's range, a score's interval and n, and a check's decided or
open state when the scorecard carries them, and prints as before when they are None.

The fields are set here by hand on a real Scorecard: the layers fill them in their own work.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from rich.console import Console

from aichaos.report import (
    render_comparison,
    render_html,
    render_junit,
    render_markdown,
    render_terminal,
)
from aichaos.results import Check, GradeRange, Interval, LayerResult, Scorecard

JOURNAL: dict[str, Any] = {"title": "t", "run_id": "run-1", "status": "completed",
                           "deviated": False, "duration": 1.0}


def _uncertain_card() -> Scorecard:
    """Layer 1 B–D with an interval on 24 cases and one decided, one open and one not measured
    check; layer 5 exact; the overall interval propagated from both (level 0.95)."""
    card = Scorecard()
    card.set(LayerResult(
        1, 82.0, metrics={"accuracy": 0.82},
        checks=[
            Check("capability.accuracy", True, 0.82, ">= 0.5", "ratio", "20/24 passed",
                  interval=Interval(0.62, 0.88, "betting-cs", 0.95, 24), decided=True),
            Check("capability.refusals", False, 0.7, ">= 0.8", "ratio", "open bound",
                  interval=Interval(0.55, 0.9, "betting-cs", 0.95, 24), decided=False),
            Check("capability.crm_lookups", False, 0.0, "> 0", "calls", "no CRM case",
                  not_measured="no case needed the CRM"),
        ],
        interval=Interval(62.0, 88.0, "betting-cs", 0.95, 24),
        grade_range=GradeRange.of(62.0, 88.0)))
    card.set(LayerResult(5, 100.0, checks=[Check("observability.spans", True, 1.0, "true")],
                         interval=Interval(100.0, 100.0, "exact", 1.0, None),
                         grade_range=GradeRange.of(100, 100)))
    return card


def _terminal(scorecard: dict[str, Any]) -> str:
    console = Console(record=True, width=200, color_system=None)
    render_terminal(scorecard, JOURNAL, console)
    return console.export_text()


def test_the_terminal_prints_range_interval_n_and_check_states() -> None:
    text = _terminal(_uncertain_card().to_dict())
    assert "Readiness  B–D   82.0/100 [62.0–88.0]" in text  # overall = layer 1's, level 95 %
    row = next(line for line in text.splitlines() if line.startswith("  1 "))
    assert "B–D" in row and "82.0 [62.0–88.0], n=24 cases" in row
    obs = next(line for line in text.splitlines() if line.startswith("  5 "))
    assert re.search(r"\bA\b", obs) and "100.0 exact" in obs
    assert "capability.refusals (Model capability): value 0.7 [0.55–0.9], n=24 cases, " \
           "threshold >= 0.8, open: open bound" in text
    assert "capability.crm_lookups" not in text.split("Not measured checks")[0]
    assert "– capability.crm_lookups (Model capability): no case needed the CRM" in text
    assert "Failed checks (1)" in text


def test_markdown_prints_range_interval_and_states() -> None:
    md = render_markdown(_uncertain_card().to_dict(), JOURNAL)
    row = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    assert "| 82.0 [62.0–88.0], n=24 cases | B–D |" in row
    assert "Overall readiness B–D (82.0/100 [62.0–88.0])" in md
    assert "threshold &gt;= 0.8, open: open bound" in md
    assert "## Failed checks (1)" in md and "## Not measured checks (1)" in md


def test_html_prints_range_interval_and_not_measured_checks() -> None:
    page = render_html(_uncertain_card().to_dict(), JOURNAL)
    assert '<div class="grade">B–D</div>' in page
    assert "Overall readiness B–D</strong> (82.0/100, interval [62.0–88.0])" in page
    assert "<td>B–D</td>" in page and "82.0 [62.0–88.0], n=24 cases" in page
    assert "– not measured" in page and "decided" in page
    assert "<td>1 / 3</td>" in page  # the not-measured check is not counted as failed


def test_junit_properties_carry_range_interval_and_n_and_skip_not_measured() -> None:
    root = ET.fromstring(render_junit(_uncertain_card().to_dict(), JOURNAL))
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "Model capability")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["grade"] == "B" and props["grade_range"] == "B–D"
    assert props["interval"] == "[62.0–88.0]" and props["n"] == "24"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    skipped = cases["capability.crm_lookups"].find("skipped")
    assert skipped is not None and skipped.get("message") == (
        "not measured: no case needed the CRM")
    failure = cases["capability.refusals"].find("failure")
    assert failure is not None and ", open: open bound" in str(failure.get("message"))
    assert (suite.get("failures"), suite.get("skipped")) == ("1", "1")


def test_the_comparison_shows_ranges(scorecard: dict[str, Any]) -> None:
    console = Console(record=True, width=200, color_system=None)
    render_comparison({"naive": scorecard,
                       "hardened": _uncertain_card().to_dict()}, console)
    row = next(line for line in console.export_text().splitlines() if "Model capability" in line)
    assert "A 92.0" in row and "B–D 82.0 [62.0–88.0]" in row


def test_an_overall_level_below_95_is_printed() -> None:
    card = _uncertain_card()
    card.set(LayerResult(2, 70.0, interval=Interval(60.0, 80.0, "betting-cs", 0.95, 10)))
    overall = card.to_dict()["overall"]
    assert overall["interval"]["level"] == 0.9 and overall["grade_range"] == "B–D"
    assert "Readiness  B–D   70.0/100 [60.0–80.0] (90%)" in _terminal(card.to_dict())


def test_fields_that_are_not_computed_print_as_before(scorecard: dict[str, Any]) -> None:
    text = _terminal(scorecard)
    md = render_markdown(scorecard, JOURNAL)
    assert "Readiness  F   55.0/100\n" in text or "Readiness  F   55.0/100 " in text
    for out in (text.split("Failing cases")[0], md.split("## Top failing cases")[0]):
        assert "[" not in out and not re.search(r"\bn=\d", out)
        assert not re.search(r"\b(decided|open)\b", out)
    assert "| 92.0 | A |" in md
    suite = ET.fromstring(render_junit(scorecard, JOURNAL)).find("testsuite")
    assert suite is not None
    assert {p.get("name") for p in suite.iter("property")} == {"layer", "key", "score", "grade"}
