"""``watch``: thresholds calibrated on each metric's own null, the quality metrics it tracks,
and the HTML trend report (a real watch of a real app, drawn in Debian's Chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web

from aichaos.config import Experiment
from aichaos.dataset import Case
from aichaos.drift import (
    MetricDetector,
    PageHinkley,
    WatchOutcome,
    bias_disparity,
    calibrate_threshold,
    iteration_values,
    sidak,
    watch,
)
from aichaos.drift._calibrate import ph_max_statistic
from aichaos.runner import CaseResult
from aichaos.store import ResultStore

CONTEXT = ("Returns are accepted within 30 days of delivery. Shipping is free on orders over "
           "50 dollars. Support answers within 2 business days.")
CASES = [Case(id=f"q{i}", input=q, expected=[a], context=CONTEXT) for i, (q, a) in enumerate([
    ("What is the return window?", "30 days"),
    ("When is shipping free?", "over 50 dollars"),
    ("How fast does support answer?", "2 business days")])]
GROUNDED = {CASES[0].input: "Returns are accepted within 30 days of delivery.",
            CASES[1].input: "Shipping is free on orders over 50 dollars.",
            CASES[2].input: "Support answers within 2 business days."}
MADE_UP = {CASES[0].input: "Returns are accepted within 30 days, or 90 days for members.",
           CASES[1].input: "Shipping is free on orders over 50 dollars, else 45 dollars.",
           CASES[2].input: "Support answers within 2 business days, or 4 hours by phone."}


def test_simulated_detector_is_the_page_hinkley_detector() -> None:
    """The calibration's vectorised statistic equals :class:`PageHinkley`'s, value by value."""
    rng = np.random.default_rng(4)
    warm, after = rng.normal(size=10), rng.normal(0.3, 1.0, size=(1, 40))
    for direction in ("up", "down"):
        ph = PageHinkley(direction, warmup=10, threshold=1e9)
        best = 0.0
        for x in [*warm, *after[0]]:
            ph.update(float(x))
            best = max(best, ph.statistic)
        sim = ph_max_statistic(after, float(warm.mean()), float(warm.std(ddof=1)), 10, 0.5,
                               direction)
        assert sim[0] == pytest.approx(best)


def _case_values(rng: np.random.Generator, p: np.ndarray, level: np.ndarray, shift: float = 1.0
                 ) -> dict[str, dict[str, float]]:
    return {"pass_rate": {f"c{j}": float(rng.random() < p[j]) for j in range(4)},
            "latency_s": {f"c{j}": float(level[j] * rng.lognormal(0, 0.25) * shift)
                          for j in range(4)}}


def test_calibrated_thresholds_hold_the_family_wise_false_alarm_rate() -> None:
    """Two metrics of 4 replayed cases, 100 watches of 10 + 50 iterations with nothing
    changing: any alarm in the family is a false alarm (target <= 5 %; the benchmark
    measures 7 metrics over more watches)."""
    rng = np.random.default_rng(7)
    per = sidak(0.05, 2)
    alarms = 0
    for trial in range(100):
        p, level = rng.beta(8, 1, 4), rng.lognormal(0, 0.3, 4)
        dets = {m: MetricDetector(m, 10, per, 50, seed=trial, sims=1000)
                for m in ("pass_rate", "latency_s")}
        fired = False
        for i in range(1, 61):
            for m, v in _case_values(rng, p, level).items():
                fired = dets[m].update(i, v) is not None or fired
        alarms += fired
    rate = alarms / 100
    print(f"family-wise false alarms, 2 calibrated metrics, 50 iterations: {rate:.3f}")
    assert rate <= 0.05 + 2 * (0.05 * 0.95 / 100) ** 0.5


def test_calibration_follows_the_metric_s_own_distribution() -> None:
    """A steady metric gets the floor threshold, a noisy 0/1 one a much higher one."""
    steady = [{"c0": 1.0, "c1": 1.0} for _ in range(10)]
    flaky = [{"c0": float(i % 3 == 0), "c1": 1.0} for i in range(10)]
    kw: dict[str, Any] = {"directions": ["down"], "alpha": 0.01, "horizon": 50, "delta": 0.5,
                          "sigma_floor": 0.05}
    low = calibrate_threshold(steady, binary=False, **kw)
    high = calibrate_threshold(flaky, binary=True, **kw)
    assert low == 4.0 and high > 8.0
    assert calibrate_threshold(flaky, binary=True, seed=3, **kw) == pytest.approx(high, rel=0.3)


def test_bias_disparity_is_tracked_when_stored_and_skipped_otherwise() -> None:
    card = {"layers": [{"layer": 1, "metrics": {"accuracy": 0.9}},
                       {"layer": 4, "metrics": {"name_swap_disparity": 0.12}}]}
    assert bias_disparity(card) == 0.12 and bias_disparity('{"layers": []}') is None
    result = CaseResult("r", 1, "capability", "q0", "clean", "hi", None, "an answer", True,
                        1.0, e2e_s=0.2)
    assert iteration_values([result], [], card)["bias_disparity"] == {"run": 0.12}
    assert "bias_disparity" not in iteration_values([result], [], {"layers": []})


async def _app(state: dict[str, bool]) -> tuple[web.AppRunner, int]:
    async def chat(request: web.Request) -> web.Response:
        question = (await request.json())["input"]
        table = MADE_UP if state["made_up"] else GROUNDED
        return web.json_response({"output": table[question]})

    async def head(_request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_post("/chat", chat)
    app.router.add_route("HEAD", "/chat", head)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def _watch(tmp_path: Path, name: str, starts_making_up: int | None) -> WatchOutcome:
    state = {"made_up": False}
    runner, port = await _app(state)
    experiment = Experiment.model_validate({
        "title": f"support bot {name}",
        "target": {"type": "http", "url": f"http://127.0.0.1:{port}/chat"},
        "layers": {"capability": {"scorer": {"type": "contains"}}}})
    store = ResultStore(f"sqlite:///{tmp_path / f'{name}.db'}")

    def on_iteration(stats: Any, _metrics: Any) -> None:
        if starts_making_up is not None and stats.iteration == starts_making_up:
            state["made_up"] = True

    try:
        return await watch(experiment, store, iterations=9, interval_s=0, sample=3,
                           metrics_listen=None, warmup=5, cases=CASES,
                           on_iteration=on_iteration, report=tmp_path / f"{name}.html")
    finally:
        await runner.cleanup()
        store.close()


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, WatchOutcome,
                                                                         WatchOutcome]]:
    import asyncio

    tmp = tmp_path_factory.mktemp("watch")
    victim = asyncio.run(_watch(tmp, "victim", starts_making_up=6))
    twin = asyncio.run(_watch(tmp, "twin", starts_making_up=None))
    yield tmp, victim, twin


def test_watch_flags_answers_that_start_making_things_up(
        watched: tuple[Path, WatchOutcome, WatchOutcome]) -> None:
    """Victim: from iteration 7 every answer adds a figure its context does not have (the
    scorer's "contains" still passes); twin: the same bot staying grounded."""
    _tmp, victim, twin = watched
    rates = [s.values["hallucination_rate"] for s in victim.iterations]
    assert rates == [0.0] * 6 + [1.0] * 3
    assert [s.pass_rate for s in victim.iterations] == [1.0] * 9  # pass rate cannot see it
    hallucination = [a for a in victim.alarms if a.metric == "hallucination_rate"]
    assert len(hallucination) == 1 and hallucination[0].change_iteration == 6
    assert hallucination[0].iteration in (7, 8, 9) and hallucination[0].direction == "up"
    assert {a.metric for a in victim.alarms} - {"latency_s"} <= {"hallucination_rate",
                                                                   "output_length"}
    # latency follows the shared machine's load (reported, not asserted); answers do not
    assert [a for a in twin.alarms if a.metric != "latency_s"] == []
    assert [s.values["hallucination_rate"] for s in twin.iterations] == [0.0] * 9
    for outcome in (victim, twin):
        assert set(outcome.iterations[0].values) == {
            "latency_s", "pass_rate", "error_rate", "refusal_rate", "hallucination_rate",
            "score", "output_length"}
        assert outcome.skipped == ["bias_disparity"]


def test_watch_report_draws_each_trend_with_its_change_points_in_chromium(
        watched: tuple[Path, WatchOutcome, WatchOutcome]) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's, as tests/ui use

    tmp, _victim, _twin = watched
    page_path = tmp / "victim.html"
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(page_path.as_uri())
            sections = page.locator("section.chart")
            assert sections.count() == 7
            for i in range(7):
                trend = sections.nth(i).locator("polyline.trend")
                box = trend.bounding_box()
                assert box is not None and box["width"] > 400, sections.nth(i).get_attribute(
                    "data-metric")
                assert sections.nth(i).locator("circle").count() == 9
            chart = page.locator("#trend-hallucination_rate")
            assert chart.get_attribute("data-alarms") == "1"
            alarm = chart.locator("line.alarm-line").bounding_box()
            change = chart.locator("line.change-point").bounding_box()
            dots = [chart.locator("circle").nth(i).bounding_box() for i in (5, 6)]
            assert alarm is not None and change is not None and None not in dots
            # the dashed change point sits on iteration 6, the last value before the change
            assert abs((change["x"] + change["width"] / 2)
                       - (dots[0]["x"] + dots[0]["width"] / 2)) < 1.5  # type: ignore[index]
            assert alarm["x"] > change["x"]
            assert "change point after iteration 6" in chart.locator("h2").inner_text()
            assert page.locator("#trend-pass_rate line.alarm-line").count() == 0
            page.screenshot(path=str(tmp / "watch.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
