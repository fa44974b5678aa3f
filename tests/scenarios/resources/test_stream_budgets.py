"""Stream budgets (layer 3): a TTFT timeout applied only after the first chunk is flagged for
that reason; the twin gives up within every declared budget."""

from __future__ import annotations

from typing import Any

import pytest
from stream_apps import IDLE_S, TOTAL_S, TTFT_S, sse_upstream, stream_app

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.results import LayerResult
from aichaos.runner import EventBus, Runner

CASES = [Case(id="c1", input="hello", expected=["tok0"])]
TOL = 0.3


async def run(fixed: bool, budgets: dict[str, Any]) -> LayerResult:
    upstream = await sse_upstream().start()
    port = free_port()
    app = await stream_app(f"http://127.0.0.1:{port}", fixed=fixed).start()
    try:
        exp = parse_experiment({
            "title": "stream budgets",
            "target": {"type": "openai", "base_url": app.url + "/v1", "stream": False},
            "dependencies": {"llm_provider": {"upstream": upstream.url,
                                              "listen": f"127.0.0.1:{port}"}},
            "layers": {"capability": {"enabled": False}, "integration": {
                "toxics": [{"dependency": "llm_provider", "type": "latency",
                            "attributes": {"latency": 1}}],
                "recovery_timeout_s": 1, "stream_budgets": budgets}},
            "runtime": {"seed": 5}})
        outcome = await Runner(exp, EventBus(), cases=CASES).run()
        return outcome.scorecard.layers[3]
    finally:
        await app.stop()
        await upstream.stop()


def stream_checks(layer: LayerResult) -> dict[str, Any]:
    return {c.name.removeprefix("integration.stream."): c for c in layer.checks
            if c.name.startswith("integration.stream")}


ALL = {"ttft_s": TTFT_S, "idle_s": IDLE_S, "total_s": TOTAL_S, "tolerance_s": TOL}


@pytest.mark.parametrize("fixed", [False, True], ids=["victim", "twin"])
async def test_ttft_applied_only_after_the_first_chunk(fixed: bool) -> None:
    layer = await run(fixed, ALL)
    checks = stream_checks(layer)
    assert set(checks) == {"ttft", "idle_after_1", "idle_after_3", "total"}
    ttft = checks["ttft"]
    assert ttft.passed is fixed, ttft.message
    trials = {t["condition"]: t for t in layer.details["stream_budgets"]["trials"]}
    if fixed:
        assert TTFT_S <= ttft.value <= TTFT_S + TOL
        assert trials["ttft"]["verdict"] == "within_budget"
    else:  # waited for the chunk delayed to 3 x 0.5 s, then judged it late
        assert ttft.value >= 3 * TTFT_S - 0.05
        assert "the timeout fired only after the late chunk arrived" in ttft.message
        assert trials["ttft"]["verdict"] == "fired_after_late_chunk"
        assert any(f.case_id == "stream-ttft" for f in layer.failing)
    # both apps enforce the idle and total budgets: those pass for both
    for name in ("idle_after_1", "idle_after_3", "total"):
        assert checks[name].passed, checks[name].message
        assert trials[name]["outcome"] == "error" and trials[name]["status"] == 504
    assert TOTAL_S - 0.05 <= checks["total"].value <= TOTAL_S + TOL
    assert IDLE_S - 0.05 <= checks["idle_after_1"].value <= IDLE_S + TOL + 0.2


async def test_undeclared_budgets_are_not_measured() -> None:
    layer = await run(True, {"ttft_s": TTFT_S})
    checks = stream_checks(layer)
    assert checks["ttft"].passed
    for name in ("idle_after_1", "idle_after_3", "total"):
        c = checks[name]
        assert not c.passed and c.not_measured is not None
        assert "declare layers.integration.stream_budgets." in c.not_measured


def test_verdicts_of_a_trial() -> None:
    from aichaos.probes._streams import StreamTrial, _judge

    def trial(gave_up: float | None, outcome: str, condition: str = "ttft") -> str:
        t = StreamTrial(condition, {}, 0.5, 0.5, 1.5, gave_up, outcome)
        return _judge(t, 0.3)

    assert trial(0.6, "error") == "within_budget"
    assert trial(1.55, "fallback") == "fired_after_late_chunk"
    assert trial(1.0, "error") == "late"  # after the budget, before the late chunk
    assert trial(1.6, "served") == "never_gave_up"
    assert trial(None, "hang") == "hang"
