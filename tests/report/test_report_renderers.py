"""Renderer tests: every format is parsed or inspected for real content, not just produced."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

from rich.console import Console

from aichaos.report._html import render_html
from aichaos.report._json import render_json
from aichaos.report._junit import render_junit
from aichaos.report._markdown import render_markdown
from aichaos.report._terminal import render_comparison, render_terminal
from aichaos.results import SCHEMA_VERSION

SWEEP = [
    {
        "offered_rps": r,
        "achieved_rps": min(r, 5.0),
        "p50_s": 0.2 * r,
        "p95_s": 0.4 * r,
        "p99_s": 0.5 * r,
        "error_rate": 0.0 if r < 8 else 0.2,
    }
    for r in (1.0, 2.0, 4.0, 8.0)
]


# --------------------------------------------------------------------------- JSON


def test_json_has_stable_sorted_shape(scorecard: dict[str, Any], journal: dict[str, Any]) -> None:
    text = render_json(scorecard, journal)
    doc = json.loads(text)
    assert list(doc) == ["aichaos", "journal_status", "run", "schema_version", "scorecard"]
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["journal_status"] == "completed"
    assert doc["run"]["run_id"] == "run-42"
    assert doc["run"]["failed"] is True  # deviated
    assert doc["run"]["steady_state_after"] is False
    assert doc["scorecard"] == scorecard
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"


def test_json_is_strict_with_nan(scorecard: dict[str, Any], journal: dict[str, Any]) -> None:
    scorecard["layers"][0]["metrics"]["latency_s"] = float("nan")
    doc = json.loads(render_json(scorecard, journal))
    assert doc["scorecard"]["layers"][0]["metrics"]["latency_s"] is None


# --------------------------------------------------------------------------- JUnit


def test_junit_counts_failures_and_skips(
    scorecard: dict[str, Any], journal: dict[str, Any]
) -> None:
    root = ET.fromstring(render_junit(scorecard, journal))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == [
        "Model capability",
        "Input resilience",
        "Integration reliability",
        "Safety & governance",
        "Observability",
        "Scalability & cost",
        "steady-state-hypothesis",
    ]
    for suite in [*suites.values(), root]:
        cases = suite.findall(".//testcase")
        assert int(suite.get("tests", -1)) == len(cases)
        assert int(suite.get("failures", -1)) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped", -1)) == sum(c.find("skipped") is not None for c in cases)
    # 1 capability check + 2 integration checks + 4 unmeasured + before/after
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("9", "2", "4")


def test_junit_failure_names_cases(scorecard: dict[str, Any], journal: dict[str, Any]) -> None:
    root = ET.fromstring(render_junit(scorecard, journal))
    case = root.find(".//testcase[@name='integration.success_rate']")
    assert case is not None
    assert case.get("classname") == "aichaos.integration"
    failure = case.find("failure")
    assert failure is not None
    assert ">= 0.9" in failure.get("message", "")
    assert "0.6" in failure.get("message", "")
    assert "refund-007" in (failure.text or "")
    assert "aichaos replay run-42 refund-007" in (failure.text or "")
    passed = root.find(".//testcase[@name='integration.timeout_adherence']")
    assert passed is not None and len(passed) == 0


def test_junit_unmeasured_layers_are_skipped(
    scorecard: dict[str, Any], journal: dict[str, Any]
) -> None:
    root = ET.fromstring(render_junit(scorecard, journal))
    for key in ("input_resilience", "safety", "observability", "scale"):
        cases = root.findall(f".//testcase[@classname='aichaos.{key}']")
        assert len(cases) == 1
        skipped = cases[0].find("skipped")
        assert skipped is not None
        assert skipped.get("message", "").startswith("not measured")
    obs = root.find(".//testcase[@classname='aichaos.observability']/skipped")
    assert obs is not None and obs.get("message") == "not measured: no OTLP endpoint configured"


def test_junit_steady_state_suite(scorecard: dict[str, Any], journal: dict[str, Any]) -> None:
    root = ET.fromstring(render_junit(scorecard, journal))
    suite = root.find("testsuite[@name='steady-state-hypothesis']")
    assert suite is not None
    before, after = suite.findall("testcase")
    assert before.get("name") == "before" and len(before) == 0
    failure = after.find("failure")
    assert failure is not None and "success-rate" in (failure.text or "")
    journal["steady_states"] = {"before": {"steady_state_met": True, "probes": []}}
    journal["status"] = "aborted"
    root = ET.fromstring(render_junit(scorecard, journal))
    after_skip = root.find(".//testcase[@name='after']/skipped")
    assert after_skip is not None and "aborted" in after_skip.get("message", "")


def test_junit_drops_characters_xml_forbids(
    scorecard: dict[str, Any], journal: dict[str, Any]
) -> None:
    scorecard["layers"][2]["checks"][1]["message"] = "bad\x00byte\x1b[31m"
    root = ET.fromstring(render_junit(scorecard, journal))
    failure = root.find(".//failure")
    assert failure is not None and "badbyte[31m" in failure.get("message", "")


# --------------------------------------------------------------------------- Markdown


def test_markdown_table_and_sections(scorecard: dict[str, Any], journal: dict[str, Any]) -> None:
    text = render_markdown(scorecard, journal)
    rows = [line for line in text.splitlines() if re.match(r"^\| [1-6] \|", line)]
    assert len(rows) == 6
    assert all(line.count("|") - line.count("\\|") == 6 for line in rows)
    assert "| 3 | Integration reliability | 55.0 | F |" in text
    assert "weakest layer: Integration reliability" in text
    assert text.count("_not measured") == 4
    assert "## Failed checks (1)" in text
    assert "`integration.success_rate`" in text
    assert "aichaos replay run-42 refund-007" in text
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_markdown_keeps_the_caveats_of_measured_grades(scorecard: dict[str, Any],
                                                      journal: dict[str, Any]) -> None:
    assert "## Notes" not in render_markdown(scorecard, journal)
    measured = next(lay for lay in scorecard["layers"] if lay.get("measured"))
    measured["note"] = "based on only 3 requests: the grade is indicative"
    text = render_markdown(scorecard, journal)
    assert "## Notes" in text
    assert f"- {measured['title']}: based on only 3 requests: the grade is indicative" in text


# --------------------------------------------------------------------------- HTML


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        if tag == "script":
            self.scripts += 1
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def test_html_grade_anchors_and_links(scorecard: dict[str, Any], journal: dict[str, Any]) -> None:
    html = render_html(scorecard, journal)
    page = _parse(html)
    assert '<div class="grade">F</div>' in html
    assert "Integration reliability" in html
    assert {"case-integration-1", "case-integration-2"} <= page.ids
    assert "#case-integration-1" in page.hrefs and "#case-integration-2" in page.hrefs
    # every in-page link resolves to an element on the page
    assert all(h.startswith("#") and h[1:] in page.ids for h in page.hrefs)
    assert "<code>aichaos replay run-42 refund-007</code>" in html
    assert "not measured: no OTLP endpoint configured" in html
    assert "apply toxic rate_limit" in html  # journal timeline
    assert page.scripts == 0


def test_html_escapes_case_output(
    scorecard: dict[str, Any], journal: dict[str, Any], hostile_output: str
) -> None:
    html = render_html(scorecard, journal)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert hostile_output not in html
    assert "&lt;b&gt;30 s&lt;/b&gt;" in html  # journal exception text escaped too


def test_html_is_self_contained(scorecard: dict[str, Any], journal: dict[str, Any]) -> None:
    journal["experiment"]["target"]["base_url"] = "http://127.0.0.1:8080/v1"
    html = render_html(scorecard, journal, charts={"scale": {"sweep": SWEEP}})
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(|@import|<link|<iframe|<object|<embed", html, re.I)
    assert "default-src 'none'" in html


def test_html_charts_from_details(scorecard: dict[str, Any], journal: dict[str, Any]) -> None:
    plain = render_html(scorecard, journal)
    # capability has per-case scores: a histogram; integration has a fault outcome matrix
    assert plain.count("<svg") == 1
    assert "Per-case scores (n=7)" in plain
    assert "Outcome matrix" in plain and "stream_cut" in plain

    scorecard["layers"][5]["details"]["sweep"] = SWEEP
    scorecard["layers"][1]["details"]["perturbations"] = [
        {
            "name": "typos<x>",
            "severity": 3,
            "invariance_rate": 0.7,
            "ci_low": 0.6,
            "ci_high": 0.8,
            "n": 40,
        },
    ]
    html = render_html(scorecard, journal)
    assert html.count("<svg") == 1 + 3 + 1  # histogram, sweep x3, perturbations
    assert "Latency vs offered load" in html
    assert "typos&lt;x&gt; @3 (n=40)" in html
    assert html.count("<polyline") >= 3


def test_html_charts_argument_supplements_details(
    scorecard: dict[str, Any], journal: dict[str, Any]
) -> None:
    html = render_html(scorecard, journal, charts={"scale": {"sweep": SWEEP}})
    assert "<svg" in html and "Latency vs offered load" in html


def test_html_with_empty_journal_and_nothing_measured(journal: dict[str, Any]) -> None:
    from aichaos.results import Scorecard

    html = render_html(Scorecard().to_dict(), {})
    assert "No layer measured" in html
    assert "The journal records no activities." in html
    assert "<svg" not in html


# --------------------------------------------------------------------------- terminal


def _record(scorecard: dict[str, Any], journal: dict[str, Any]) -> str:
    console = Console(record=True, width=120, color_system=None)
    render_terminal(scorecard, journal, console)
    return console.export_text()


def test_terminal_shows_weakest_and_unmeasured(
    scorecard: dict[str, Any], journal: dict[str, Any]
) -> None:
    text = _record(scorecard, journal)
    assert "not measured" in text
    assert "Integration reliability ← weakest" in text
    assert "weakest layer: Integration reliability" in text
    assert "integration.success_rate" in text
    assert "$ aichaos replay run-42 refund-007" in text
    assert "Run run-42: completed, deviated" in text


def test_terminal_prints_markup_verbatim(
    scorecard: dict[str, Any], journal: dict[str, Any]
) -> None:
    text = _record(scorecard, journal)
    assert "[bold]not markup[/bold]" in text


def test_terminal_limits_cases_per_layer(
    scorecard: dict[str, Any], journal: dict[str, Any]
) -> None:
    case = scorecard["layers"][2]["failing"][1]
    scorecard["layers"][2]["failing"] = [{**case, "case_id": f"bulk-{i}"} for i in range(8)]
    text = _record(scorecard, journal)
    assert "bulk-4" in text and "bulk-5" not in text
    assert "and 3 more" in text


def test_comparison_side_by_side(scorecard: dict[str, Any]) -> None:
    hardened = json.loads(json.dumps(scorecard))
    hardened["layers"][2].update(score=85.0, grade="B")
    hardened["overall"].update(score=85.0, grade="B", weakest_layer="integration")
    console = Console(record=True, width=120, color_system=None)
    render_comparison({"naive": scorecard, "hardened": hardened}, console)
    text = console.export_text()
    header = next(line for line in text.splitlines() if "naive" in line)
    assert header.index("naive") < header.index("hardened")
    row = next(line for line in text.splitlines() if "Integration reliability" in line)
    assert "F 55.0" in row and "B 85.0" in row and "+30.0" in row
    assert text.count("not measured") == 8
