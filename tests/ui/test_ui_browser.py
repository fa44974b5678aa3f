"""The run browser end to end: real ``aichaos ui`` over a store seeded by real runs, driven
in Debian's headless Chromium (pages render, links work, no console errors, compare agrees
with ``aichaos compare``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

from ui_harness import Tab, UIProcess
from ui_seed import Seeded, run_cli

SHOTS = os.environ.get("AICHAOS_UI_SCREENSHOTS")  # a directory: save the docs' screenshots


def _shot(tab: Tab, name: str, height: int | None = None) -> None:
    """Save the page as ``NAME.png`` (whole page, or its top ``height`` pixels)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        clip = {"x": 0, "y": 0, "width": 1200, "height": height} if height else None
        tab.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True, clip=clip)


def _section(tab: Tab, title: str) -> Any:  # a Playwright locator
    return tab.page.locator("section.experiment", has=tab.page.locator("h2", has_text=title))


def test_runs_page_lists_each_experiment_with_its_grade_history(
        tab: Tab, ui_server: UIProcess, seeded: Seeded) -> None:
    page = tab.page
    response = page.goto(ui_server.base + "/")
    assert response is not None and response.status == 200
    returns, nightly = seeded.titles
    section = _section(tab, returns)
    assert section.count() == 1 and _section(tab, nightly).count() == 1
    ids = seeded.runs[returns]
    links = section.locator("table.runs a.run-link")
    assert links.all_inner_texts() == ids[::-1]  # newest first
    grades = section.locator("table.runs .grade").all_inner_texts()
    assert grades == ["F", "D", "D"]  # the bad release is the newest run
    chart = section.locator("svg.chart")
    assert chart.count() == 1
    points = chart.locator("a")
    assert points.count() == 3  # one linked point per run, oldest first
    assert [points.nth(i).get_attribute("href") for i in range(3)] == [f"/runs/{r}" for r in ids]
    assert chart.locator("text.pl").all_text_contents() == ["D", "D", "F"]
    _shot(tab, "runs")
    assert tab.problems == []


def test_scorecard_drills_down_to_failing_cases_and_their_replay_lines(
        tab: Tab, ui_server: UIProcess, seeded: Seeded) -> None:
    page = tab.page
    bad = seeded.runs[seeded.titles[0]][-1]
    page.goto(ui_server.base + "/")
    page.locator(f"a.run-link[href='/runs/{bad}']").click()
    assert urlparse(page.url).path == f"/runs/{bad}"
    assert page.locator("#overall .grade").inner_text() == "F"
    assert "Overall readiness F (8.3/100)" in page.locator("#overall").inner_text()
    assert page.locator("#layer-input_resilience .grade").inner_text() == "F"  # 8.3: only 1 of 6 cases keeps a correct answer
    # perturbed cases fail with their replay lines: typos break the bot's exact lookup
    replays = page.locator("#failing-input_resilience .case .replay").all_inner_texts()
    assert len(replays) == 11  # also answers consistent with a wrong clean answer (not invariant)
    variant = r"(casing|whitespace_noise|typo_keyboard)@1"
    assert all(re.fullmatch(rf"aichaos replay {bad} --case item-[0-3] --variant {variant}", r)
               for r in replays), replays
    assert any(r.endswith("typo_keyboard@1") for r in replays)
    card = page.locator("#layer-capability")
    assert "30.0" in card.locator(".score").inner_text()
    assert "capability.accuracy" in card.inner_text()
    cases = page.locator("#failing-capability .case")
    # answer_bad: 4 order questions raise, 10 other questions miss their fact
    assert cases.count() == 14
    reasons = page.locator("#failing-capability .case .reason").all_inner_texts()
    assert sum("RuntimeError: order service unavailable" in r for r in reasons) == 4
    assert sum(r == "none of 1 expected fragments" for r in reasons) == 10
    replay = page.locator(".case .replay").first.inner_text()
    assert re.fullmatch(rf"aichaos replay {bad} --case item-\d+ --variant clean", replay)
    _shot(tab, "run", height=1500)
    first = page.locator("#failing-capability a.case-link").first
    case_id = first.inner_text()
    assert case_id in {"item-3", "item-7", "item-13", "item-17"}  # errors first
    first.click()
    assert urlparse(page.url).path == f"/runs/{bad}/case"
    assert page.locator("h1").inner_text().startswith(f"Case {case_id}")
    assert page.locator("section.failing .replay").inner_text() == \
        f"aichaos replay {bad} --case {case_id} --variant clean"
    obs = page.locator("section.observation")
    # layer 2 also sends its 4 cases (item-0..3) unperturbed: one row per suite for those
    suites = ["capability", "input_resilience"] if case_id == "item-3" else ["capability"]
    assert obs.count() == len(suites)
    heads = obs.locator("h3").all_inner_texts()
    assert [h.split(" · ")[1] for h in heads] == suites, heads
    assert all("failed" in h for h in heads)
    assert "RuntimeError: order service unavailable" in obs.first.inner_text()
    number = case_id.removeprefix("item-")
    assert f"What is the return window for item number {number}?" in obs.first.inner_text()
    page.locator("#back-to-run").click()
    assert urlparse(page.url).path == f"/runs/{bad}"
    assert tab.problems == []


def _as_compare_prints(value: float) -> float:
    """A figure as ``aichaos compare`` prints it: 3 decimals, or 2 significant digits below
    0.001 (a 0.6 ms latency is 0.00062, not 0.001)."""
    return float(f"{value:.2g}") if 0 < abs(value) < 0.001 else round(value, 3)


def test_compare_shows_the_verdicts_and_deltas_of_aichaos_compare(
        tab: Tab, ui_server: UIProcess, seeded: Seeded) -> None:
    page = tab.page
    good, bad = seeded.runs[seeded.titles[0]][1], seeded.runs[seeded.titles[0]][2]
    page.goto(ui_server.base + "/")
    section = _section(tab, seeded.titles[0])
    section.locator(f"input[name=a][value='{good}']").check()
    section.locator(f"input[name=b][value='{bad}']").check()
    section.locator("button[type=submit]").click()
    assert urlparse(page.url).path == "/compare"
    assert page.locator("#run-a").inner_text() == good
    assert page.locator("#run-b").inner_text() == bad
    code, out, err = run_cli("compare", good, bad, "--db", seeded.url, "--json",
                             "--no-embeddings")
    assert code == 1, err  # a metric got worse
    expected = json.loads(out)
    assert page.locator("#verdict").inner_text() == expected["verdict"] == "worse"
    rows = page.locator("#metrics tbody tr")
    assert rows.count() == len(expected["metrics"])
    for m in expected["metrics"]:
        row = page.locator(f"#metrics tr[data-metric='{m['metric']}']")
        assert row.locator(".verdict").inner_text() == m["verdict"], m["metric"]
        a, b = m["value_a"], m["value_b"]
        assert float(row.locator(".a").inner_text()) == _as_compare_prints(a), m["metric"]
        assert float(row.locator(".b").inner_text()) == _as_compare_prints(b), m["metric"]
        assert abs(float(row.locator(".delta").inner_text()) - (b - a)) <= 0.0005 + 1e-12, \
            m["metric"]  # half a unit of the 3rd decimal, e.g. 0.0625 shown as 0.062
    verdicts = {m["metric"]: m["verdict"] for m in expected["metrics"]}
    assert verdicts["pass_rate"] == "worse" and verdicts["latency_s"] == "worse"
    pass_row = page.locator("#metrics tr[data-metric='pass_rate']")
    assert pass_row.locator(".delta").inner_text() == "-0.650"  # 19/20 -> 6/20
    layer = page.locator("#layers tbody tr", has_text="Model capability")
    assert layer.locator("td").nth(3).inner_text() == "-65.0"  # 95.0 -> 30.0
    _shot(tab, "compare")
    page.locator("#run-a").click()
    assert urlparse(page.url).path == f"/runs/{good}"
    assert tab.problems == []


def test_trends_plot_each_metric_and_flag_the_alarm_watch_would_raise(
        tab: Tab, ui_server: UIProcess, seeded: Seeded) -> None:
    page = tab.page
    title = seeded.titles[0]
    page.goto(ui_server.base + "/")
    _section(tab, title).locator("a.trends-link").click()
    assert urlparse(page.url).path == "/trends"
    assert page.locator("#no-alarms").count() == 1  # 3 runs: within the default warm-up
    assert page.locator("svg.chart").count() == 8  # layer scores + 7 metrics
    page.goto(page.url + "&warmup=2&threshold=5")
    alarms = page.locator("#alarms tr.alarm")
    assert alarms.count() == 1
    text = alarms.inner_text()
    bad = seeded.runs[title][-1]
    assert "pass_rate" in text and "decrease" in text and bad in text
    assert page.locator("svg.chart circle.alarm").count() == 1
    rows = page.locator("#trend-runs tbody tr")
    assert rows.count() == 3
    assert rows.first.locator("a.vs-previous").count() == 1
    rows.first.locator("a.vs-previous").click()
    assert urlparse(page.url).path == "/compare"
    assert page.locator("#run-b").inner_text() == bad
    assert tab.problems == []


def test_every_link_of_every_page_opens_a_page_without_errors(
        tab: Tab, ui_server: UIProcess, seeded: Seeded) -> None:
    page = tab.page
    seen: set[str] = set()
    todo = ["/"]
    while todo and len(seen) < 80:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(ui_server.base + path)
        assert response is not None and response.status == 200, path
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            url = urlparse(urljoin(ui_server.base + path, href))
            if url.netloc == urlparse(ui_server.base).netloc and not url.fragment:
                todo.append(url.path + (f"?{url.query}" if url.query else ""))
    kinds = {p.split("?")[0].rsplit("/", 1)[-1] if p.startswith("/runs/") else p.split("?")[0]
             for p in seen}
    assert {"/", "/compare", "/trends", "case"} <= kinds, kinds
    assert len(seen) >= 20
    assert tab.problems == []


def test_unknown_run_and_bad_compare_are_pages_with_one_clear_line(
        tab: Tab, ui_server: UIProcess, seeded: Seeded) -> None:
    page = tab.page
    response = page.goto(ui_server.base + "/runs/nope")
    assert response is not None and response.status == 404
    assert page.locator("#error").inner_text() == "run 'nope': not in the results store"
    run = seeded.runs[seeded.titles[0]][0]
    response = page.goto(ui_server.base + f"/compare?a={run}&b={run}")
    assert response is not None and response.status == 400
    assert page.locator("#error").inner_text() == f"A and B are the same run ({run})"
    response = page.goto(ui_server.base + f"/compare?a=baseline&b={run}")
    assert response is not None and response.status == 400
    assert "no baseline pinned" in page.locator("#error").inner_text()
    response = page.goto(ui_server.base + "/trends?experiment=nope&warmup=x")
    assert response is not None and response.status == 400
    assert page.locator("#error").inner_text() == "warmup: expected a number, got 'x'"
    # the browser logs each 4xx response itself, and nothing else went wrong
    assert len(tab.problems) == 4 and all(p.startswith("Failed to load resource: the server "
                                                      "responded with a status of 4")
                                          for p in tab.problems), tab.problems


def test_compare_with_output_embeddings_matches_the_command_too(seeded: Seeded) -> None:
    """The default of both: output embeddings compared too (aichaos[semantic]'s model)."""
    from starlette.testclient import TestClient

    from aichaos.ui import StoreReader, create_app

    good, bad = seeded.runs[seeded.titles[0]][0], seeded.runs[seeded.titles[0]][2]
    code, out, err = run_cli("compare", good, bad, "--db", seeded.url, "--json")
    assert code == 1, err
    expected = {m["metric"]: m["verdict"] for m in json.loads(out)["metrics"]}
    assert "output_embedding" in expected
    with TestClient(create_app(StoreReader(seeded.url))) as client:
        page = client.get(f"/compare?a={good}&b={bad}")
    assert page.status_code == 200
    shown = dict(re.findall(r'<tr data-metric="([^"]+)">.*?class="verdict v-[^"]+">([^<]+)<',
                            page.text, flags=re.S))
    assert shown == expected
