"""``aichaos compare`` / ``watch`` through the CLI and the library, against a local app."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from aichaos.config import Experiment
from aichaos.dataset import Case
from aichaos.drift import watch
from aichaos.runner import EventBus, Runner
from aichaos.store import ResultStore

CASES = [Case(id=f"c{i}", input=f"question {i}", expected=[f"answer {i}"]) for i in range(4)]
#: 8 distinct cases: the paired tests count cases, so the same 4 sent twice would be 4
EIGHT = [Case(id=f"c{i}", input=f"question {i}", expected=[f"answer {i}"]) for i in range(8)]


class _Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


def _cli(*args: str) -> _Result:
    """Run the real ``aichaos`` CLI in-process (typer's runner; stdout and stderr apart)."""
    from typer.testing import CliRunner

    from aichaos.cli._main import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return _Result(result.exit_code, result.stdout, result.stderr)


def _mock_experiment(answers: dict[str, str]) -> Experiment:
    return Experiment.model_validate({
        "title": "mock drift", "steady-state-hypothesis": None,
        "target": {"type": "mock", "answers": answers, "default": "no idea"}})


def test_compare_cli_pin_baseline_and_errors(tmp_path: Path) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'aichaos.db'}")
    good = {c.input: f"the {c.expected[0]}" for c in EIGHT}
    ids = []
    for answers in (good, good, {}):
        bus = EventBus()
        store.attach(bus)
        ids.append(asyncio.run(Runner(_mock_experiment(answers), bus, cases=EIGHT).run()
                               ).run_id)
    store.close()
    pin = _cli("compare", ids[0], "--pin", "--results", str(tmp_path))
    assert pin.returncode == 0 and f"pinned {ids[0]} as the baseline of 'mock drift'" in pin.stdout
    worse = _cli("compare", "baseline", ids[2], "--results", str(tmp_path), "--json",
                 "--no-embeddings")
    assert worse.returncode == 1, worse.stderr
    data = json.loads(worse.stdout)
    verdicts = {m["metric"]: m["verdict"] for m in data["metrics"]}
    assert data["run_a"] == ids[0] and verdicts["pass_rate"] == "worse"
    assert verdicts["error_rate"] == "same" and "output_embedding" not in verdicts
    # the mock answers in microseconds, a warm second run reliably faster: answers only
    answers_only = [x for m in ("pass_rate", "score", "error_rate", "refusal_rate",
                                "output_length") for x in ("--metric", m)]
    same = _cli("compare", ids[0], ids[1], "--results", str(tmp_path), *answers_only)
    assert same.returncode == 0 and "overall: same" in same.stdout
    for args, message in (
        (("compare", "nope", ids[1]), "error: run 'nope': not in the results store"),
        (("compare", ids[0]), "error: RUN_B: missing"),
        (("compare", ids[0], ids[1], "--alpha", "3"), "error: alpha: expected a value in (0, 1)"),
    ):
        bad = _cli(*args, "--results", str(tmp_path), "--no-embeddings")
        assert bad.returncode == 2 and bad.stderr.strip().startswith(message), bad.stderr
        assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    missing = _cli("compare", "a", "b", "--results", str(tmp_path / "none"))
    assert missing.returncode == 2 and "no results database" in missing.stderr


async def test_watch_detects_degradation_alerts_and_exposes_metrics(tmp_path: Path) -> None:
    state = {"broken": False}
    hooks: list[dict[str, object]] = []

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        number = body["input"].split()[-1]
        return web.json_response({"output": "sorry" if state["broken"] else f"answer {number}"})

    async def hook(request: web.Request) -> web.Response:
        hooks.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/chat", chat)
    app.router.add_route("HEAD", "/chat", _empty)
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    experiment = Experiment.model_validate({
        "title": "watched", "target": {"type": "http", "url": f"http://127.0.0.1:{port}/chat"},
        "layers": {"capability": {"scorer": {"type": "contains"}}}})
    store = ResultStore(f"sqlite:///{tmp_path / 'w.db'}")
    scraped: list[str] = []

    async def on_iteration(stats: object, metrics: object) -> None:
        if stats.iteration == 5:  # type: ignore[attr-defined]
            state["broken"] = True
        async with httpx.AsyncClient() as http:
            scraped.append((await http.get(metrics.url)).text)  # type: ignore[attr-defined]

    try:
        outcome = await watch(experiment, store, iterations=8, interval_s=0, sample=4,
                              webhook=f"http://127.0.0.1:{port}/hook",
                              metrics_listen="127.0.0.1:0", warmup=5, cases=CASES,
                              on_iteration=on_iteration, report=tmp_path / "watch.html")
    finally:
        await runner.cleanup()
    assert [s.pass_rate for s in outcome.iterations] == [1.0] * 5 + [0.0] * 3
    # a constant score alarms at once (threshold at its floor); the pass rate, whose
    # calibration allows a case that never failed in 5 warm-ups to fail now and then
    # (Jeffreys), one iteration later; both place the change after iteration 5
    assert [(a.metric, a.iteration, a.change_iteration) for a in outcome.alarms] == [
        ("score", 6, 5), ("pass_rate", 7, 5)]
    assert outcome.alarms[0].threshold == 4.0 and (outcome.alarms[1].threshold or 0) > 5
    assert outcome.thresholds["pass_rate"] is None  # re-warming on the new level
    assert outcome.per_metric_alpha == pytest.approx(1 - 0.95 ** (1 / 6))  # 6 metrics seen
    assert outcome.skipped == ["hallucination_rate", "bias_disparity"]  # no context, no probe
    assert outcome.exit_code == 1 and outcome.webhook_errors == []
    assert [h["metric"] for h in hooks] == ["score", "pass_rate"]
    assert hooks[0]["event"] == "aichaos.degradation" and hooks[0]["change_iteration"] == 5
    assert hooks[1]["run_id"] == outcome.iterations[6].run_id
    assert len({s.run_id for s in outcome.iterations}) == 8
    assert all(store.run(s.run_id)["status"] == "completed" for s in outcome.iterations)
    assert 'aichaos_watch_alarms_total{metric="pass_rate"} 1.0' in scraped[-1]
    assert 'aichaos_watch_requests_total{outcome="ok"} 32.0' in scraped[-1]
    assert "aichaos_watch_pass_rate 0.0" in scraped[-1]
    assert 'aichaos_watch_metric{metric="output_length"} 1.0' in scraped[-1]
    page = (tmp_path / "watch.html").read_text()
    charts = re.findall(r'<section class="chart" id="trend-(\w+)" data-metric="\w+" '
                        r'data-alarms="(\d)">', page)
    assert charts == [("latency_s", "0"), ("pass_rate", "1"), ("error_rate", "0"),
                      ("refusal_rate", "0"), ("score", "1"), ("output_length", "0")]
    assert page.count('class="change-point"') == 2 and page.count('class="alarm-line"') == 2
    assert "change point after iteration 5, alarm at 7 (down)" in page
    store.close()


async def _empty(_request: web.Request) -> web.Response:
    return web.Response()


def test_watch_cli_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    experiment = tmp_path / "exp.yaml"
    experiment.write_text("title: w\ntarget: {type: mock}\n", encoding="utf-8")
    for args, message in (
        (("--false-alarm-rate", "2"), "error: need 0 < --false-alarm-rate < 1 (got 2.0)"),
        (("--horizon", "0"), "error: need 0 < --false-alarm-rate < 1 (got 0.05), --horizon "
                             ">= 1 (got 0)"),
        (("--threshold", "-1"), "error: --threshold: expected a positive number of sigmas"),
    ):
        bad = _cli("watch", str(experiment), "--iterations", "1", "--metrics-listen", "",
                   "--results", str(tmp_path), *args)
        assert bad.returncode == 2 and bad.stderr.strip().startswith(message), bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert not (tmp_path / "watch.html").exists()  # nothing ran, nothing written
