"""Layer-6 load requests: built like the capability layer's, and progress counted in requests."""

from __future__ import annotations

import asyncio
import io
import json

import httpx
import pytest
from rich.console import Console
from scale_support import CASES, CapacityTarget, experiment

from aichaos.config import OpenAITargetConfig
from aichaos.dataset import Case
from aichaos.load import approx_tokens
from aichaos.probes import SuiteContext
from aichaos.probes._scale import LoadProgressed, LoadStepFinished, ScaleSuite
from aichaos.runner import ActivityStarted, EventBus
from aichaos.session import ConsoleProgress
from aichaos.targets import OpenAITarget

PRICING = {"m": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}
CONTEXT = "Refunds are accepted within 30 days of purchase with the receipt. " * 6  # 396 chars
QUESTION = "Can I return a jacket I bought last week?"


def test_load_requests_carry_the_case_context_like_the_capability_layer() -> None:
    bodies: list[dict[str, object]] = []

    def llm(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        # no usage: input tokens are counted from the request (chars/4)
        return httpx.Response(200, json={"choices": [{"message": {"content": "Yes."},
                                                      "finish_reason": "stop"}]})

    target = OpenAITarget(
        OpenAITargetConfig(type="openai", base_url="http://llm.test/v1", stream=False),
        client=httpx.AsyncClient(transport=httpx.MockTransport(llm)))
    cases = [Case(id="refund", input=QUESTION, context=CONTEXT, expected=["yes"])]
    exp = experiment({"arrival": "constant", "rates_rps": [10], "duration_s": 0.3,
                      "price_model": "m", "pricing": PRICING})
    ctx = SuiteContext("run", exp, target, cases, EventBus(), seed=7)
    layer = asyncio.run(ScaleSuite(exp.layers.scale).run(ctx))
    assert len(bodies) == 3
    # the capability layer's request for the same case renders to the same messages
    capability = target.messages(ctx.plan(cases[0]).request)
    assert all(b["messages"] == capability for b in bodies)
    assert CONTEXT in capability[-1]["content"] and QUESTION in capability[-1]["content"]
    # input tokens per request = chars/4 of the question (11) and of the context (99); the
    # bare question alone gave 11
    assert layer.metrics["mean_input_tokens"] == approx_tokens(QUESTION) + approx_tokens(CONTEXT)
    assert layer.metrics["mean_input_tokens"] == 110
    assert layer.metrics["token_source"] == "chars/4"
    # three requests cannot show a knee: the grade says it is indicative
    assert "the base step held only 3 requests" in layer.note


def test_planned_count_and_progress_during_each_step() -> None:
    # 10 and 20 req/s constant over 0.25 s warm-up + 1 s: 13 and 25 sends (ceil 12.5, 25)
    exp = experiment({"arrival": "constant", "rates_rps": [10, 20], "duration_s": 1.0,
                      "warmup_s": 0.25})
    bus = EventBus()
    ctx = SuiteContext("run", exp, CapacityTarget(0.01, 4), CASES, bus, seed=7)
    suite = ScaleSuite(exp.layers.scale)
    assert suite.planned_count(ctx) == 38
    finished: list[LoadStepFinished] = []
    bus.subscribe(LoadStepFinished, finished.append)
    calls: list[tuple[int, int]] = []  # (steps finished so far, completions reported)
    ctx.on_progress = lambda n: calls.append((len(finished), n))
    events: list[LoadProgressed] = []
    bus.subscribe(LoadProgressed, events.append)
    out = io.StringIO()
    console = ConsoleProgress(Console(file=out, width=200))
    console.attach(bus)
    bus.publish(ActivityStarted("run", "layer6.scale", "action", total=38))
    layer = asyncio.run(suite.run(ctx))
    # the run's progress bar (aichaos run) moved with the same reports
    assert sum(e.completed for e in events) == 38
    assert console.progress.tasks[0].completed == 38
    assert layer.metrics["steps"] == 2
    assert "held only" not in layer.note  # 25 requests in the base step
    # capacity 400 req/s: every planned request completes, and each is reported once
    assert sum(n for _, n in calls) == 38
    first = [n for k, n in calls if k == 0]
    # several reports while step 1 ran (every ~0.5 s), not one per step
    assert len(first) >= 3 and sum(first) == 13
    # each step's overload verdict and its power at 1.25x are printed as it finishes:
    # 10 and 20 requests hold little power, so both steps are open
    assert [e.verdict for e in finished] == ["open", "open"]
    assert all(e.power is not None and e.power < 0.9 for e in finished)
    assert out.getvalue().count("(open, power 0.") == 2


@pytest.mark.parametrize(("scale", "expected"), [
    ({"profile": "closed", "duration_s": 1.0}, None),  # open-ended: no total
    ({"rates_rps": [1], "price_model": "nope"}, None),  # cannot run: run() says why
    ({"arrival": "poisson", "rates_rps": [3, 6], "duration_s": 2.0}, 18),  # expected counts
])
def test_planned_count_when_unknown_or_random(scale: dict[str, object],
                                              expected: int | None) -> None:
    exp = experiment(scale)
    ctx = SuiteContext("run", exp, CapacityTarget(), CASES, EventBus(), seed=7)
    assert ScaleSuite(exp.layers.scale).planned_count(ctx) == expected
