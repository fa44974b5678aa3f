"""Context window (layer 6): front truncation and finish_reason length passed off are flagged,
middle-out truncation and a clear refusal pass, and answers that do not depend on the input
are "not measured", never passed."""

from __future__ import annotations

from typing import Any

import pytest
from context_apps import SYSTEM, context_app, reader_upstream

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.demo import free_port
from aichaos.results import LayerResult
from aichaos.runner import EventBus, Runner

CASES = [Case(id="c1", input="hello", expected=["ok"])]
WINDOW = 256  # tokens (chars/4): 0.5 and 0.9 fit the apps' 1,000-character budget, 1.0 not


async def run(mode: str, *, proxy: bool = True, length_over: int | None = None
              ) -> LayerResult:
    upstream = await reader_upstream(length_over).start()
    port = free_port()
    app = await context_app(mode, f"http://127.0.0.1:{port}" if proxy else upstream.url
                            ).start()
    try:
        data: dict[str, Any] = {
            "title": f"context {mode}",
            "target": {"type": "openai", "base_url": app.url + "/v1", "stream": False},
            "layers": {"capability": {"enabled": False},
                       "scale": {"arrival": "constant", "rates_rps": [5], "duration_s": 0.2,
                                 "context_window_tokens": WINDOW}},
            "runtime": {"seed": 5}}
        if proxy:
            data["dependencies"] = {"llm_provider": {"upstream": upstream.url,
                                                     "listen": f"127.0.0.1:{port}"}}
        outcome = await Runner(parse_experiment(data), EventBus(), cases=CASES).run()
        return outcome.scorecard.layers[6]
    finally:
        await app.stop()
        await upstream.stop()


def context_check(layer: LayerResult) -> Any:
    return next(c for c in layer.checks if c.name == "scale.context_window")


async def test_front_truncation_is_flagged_from_the_upstream_request() -> None:
    layer = await run("front")
    check = context_check(layer)
    assert not check.passed and check.not_measured is None
    assert layer.metrics["context_verdicts"] == (
        "0.5: recalled, 0.9: recalled, 1: front_truncation, 1.5: front_truncation")
    assert check.cases == ["context-1", "context-1.5"]
    assert "judged from answers and the upstream requests" in check.message
    reasons = {f.case_id: f.reason for f in layer.failing if f.case_id.startswith("context")}
    assert "system message did not reach the model" in reasons["context-1"]
    cases = {c["fraction"]: c for c in layer.details["context_window"]["cases"]}
    # at 1.0 only the system message and a few characters go; at 1.5 the start needle too
    assert cases[1.0]["upstream"]["end"]["system"] is False
    assert cases[1.0]["positions"] == {"start": True, "middle": True, "end": True}
    assert cases[1.5]["positions"] == {"start": False, "middle": True, "end": True}
    assert cases[1.5]["upstream"]["start"]["needle"] is False
    assert layer.details["context_window"]["control_system"] == SYSTEM


async def test_front_truncation_is_flagged_from_answers_without_a_proxy() -> None:
    layer = await run("front", proxy=False)
    check = context_check(layer)
    assert not check.passed and "judged from answers:" in check.message
    assert layer.metrics["context_upstream_seen"] is False
    # from the answers alone the system message dropped at 1.0 is invisible (every needle
    # still came back): what the upstream view above caught; at 1.5 the start needle is lost
    assert layer.metrics["context_verdicts"].endswith("1: recalled, 1.5: front_truncation")
    assert check.cases == ["context-1.5"]


@pytest.mark.parametrize("mode", ["middle", "refuse"])
async def test_middle_out_and_clear_refusal_pass(mode: str) -> None:
    layer = await run(mode)
    check = context_check(layer)
    assert check.passed and check.value == 0, check.message
    expected = {"middle": "1: middle_truncation, 1.5: middle_truncation",
                "refuse": "1: error, 1.5: error"}[mode]
    assert layer.metrics["context_verdicts"] == "0.5: recalled, 0.9: recalled, " + expected


@pytest.mark.parametrize(("mode", "passed"), [("hide_length", False),
                                               ("forward_length", True)])
async def test_finish_reason_length_passed_off_as_complete(mode: str, passed: bool) -> None:
    layer = await run(mode, length_over=800)
    check = context_check(layer)
    assert check.passed is passed, check.message
    verdicts = layer.metrics["context_verdicts"]
    assert ("0.9: length_passed_off" in verdicts) is not passed
    if not passed:
        assert "finish_reason length upstream, answered as complete" in " ".join(
            f.reason for f in layer.failing)


async def test_answers_that_ignore_the_input_are_not_measured() -> None:
    layer = await run("canned", proxy=False)
    check = context_check(layer)
    assert not check.passed and check.value is None
    assert check.not_measured is not None
    assert "answers do not depend on the input" in check.not_measured
    assert "Hello! How can I help" in check.not_measured
    assert layer.metrics["context_answers_depend_on_input"] is False
