"""The experiment lifecycle against the mock target: journal, statuses, rollbacks, events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.runner import (
    ActivityEnded,
    CaseObserved,
    EventBus,
    RunEnded,
    Runner,
)
from aichaos.targets import MockTarget, TargetRequest, TargetResponse

CASES = [
    Case(id=f"c{i}", input=f"question {i}", expected=[f"answer {i}"]) for i in range(6)
]


def experiment(**overrides: Any) -> Any:
    data: dict[str, Any] = {
        "title": "lifecycle",
        "target": {"type": "mock"},
        "steady-state-hypothesis": {"sample": 2, "slos": {"success_rate": {"min": 0.99}}},
        "runtime": {"seed": 7, "concurrency": 2},
    }
    data.update(overrides)
    return parse_experiment(data)


def good(request: TargetRequest) -> str:
    return "the " + request.input.replace("question", "answer")


def run(exp: Any, target: MockTarget, bus: EventBus | None = None) -> Any:
    return asyncio.run(Runner(exp, bus or EventBus(), target=target, cases=CASES).run())


def test_completed_run_has_chaos_toolkit_journal_and_full_score() -> None:
    bus = EventBus()
    observed: list[CaseObserved] = []
    bus.subscribe(CaseObserved, observed.append)
    outcome = run(experiment(), MockTarget(responder=good), bus)
    j = outcome.journal
    assert j["status"] == "completed"
    assert j["deviated"] is False
    assert outcome.exit_code == 0
    assert j["steady_states"]["before"]["steady_state_met"] is True
    assert j["steady_states"]["after"]["steady_state_met"] is True
    probe = j["steady_states"]["before"]["probes"][0]
    assert probe["activity"]["name"] == "success_rate" and probe["output"] == 1.0
    assert [a["activity"]["name"] for a in j["run"]] == ["layer1.capability"]
    assert j["run"][0]["status"] == "succeeded" and j["run"][0]["duration"] >= 0
    assert outcome.scorecard.layers[1].score == 100.0
    assert "based on only 6 independent cases: the grade is indicative" in outcome.scorecard.layers[1].note
    assert outcome.scorecard.layers[2].score is None  # not measured, never a pass
    overall = outcome.scorecard.to_dict()["overall"]
    assert (overall["measured_layers"], overall["layers"]) == (1, 6)
    # 2 before + 6 capability + 2 after
    assert len(observed) == 10
    assert sum(o.result.suite == "capability" for o in observed) == 6


def test_failed_steady_state_before_skips_method_and_exits_1() -> None:
    def broken(request: TargetRequest) -> TargetResponse:
        return TargetResponse(error_class="http_5xx", error="HTTP 500", status=500)

    bus = EventBus()
    ended: list[ActivityEnded] = []
    bus.subscribe(ActivityEnded, ended.append)
    outcome = run(experiment(), MockTarget(responder=broken), bus)
    assert ended[0].error == ("success_rate 0 not >= 0.99; 2/2 requests failed, first: "
                              "http_5xx: HTTP 500")
    assert outcome.journal["status"] == "failed"
    assert outcome.journal["run"] == []
    assert outcome.exit_code == 1
    assert outcome.scorecard.overall is None


def test_deviation_after_method_is_flagged() -> None:
    calls = {"n": 0}

    def degrading(request: TargetRequest) -> TargetResponse | str:
        calls["n"] += 1
        if calls["n"] > 8:  # healthy for the hypothesis and the method, broken after
            return TargetResponse(error_class="timeout", error="no answer")
        return good(request)

    exp = experiment(runtime={"seed": 7, "concurrency": 1})
    outcome = run(exp, MockTarget(responder=degrading))
    assert outcome.journal["status"] == "completed"
    assert outcome.journal["deviated"] is True
    assert outcome.exit_code == 1


def test_scorer_failures_lower_the_capability_score() -> None:
    def half(request: TargetRequest) -> str:
        return good(request) if request.input[-1] in "024" else "I don't know"

    outcome = run(experiment(), MockTarget(responder=half))
    layer = outcome.scorecard.layers[1]
    assert layer.score == 50.0
    assert layer.metrics["accuracy_ci_low"] < 0.5 < layer.metrics["accuracy_ci_high"]
    assert sorted(f.case_id for f in layer.failing) == ["c1", "c3", "c5"]
    assert all(f.reproduce.startswith("aichaos replay ") for f in layer.failing)
    check = next(c for c in layer.checks if c.name == "capability.accuracy")
    assert check.passed is False and check.value == 0.5


def test_abort_tolerance_stops_the_run() -> None:
    many = [Case(id=f"c{i}", input=f"q{i}", expected=["x"]) for i in range(30)]
    calls = {"n": 0}

    def failing_later(request: TargetRequest) -> TargetResponse | str:
        calls["n"] += 1
        return "x" if calls["n"] <= 2 else TargetResponse(error_class="connection", error="reset")

    exp = experiment(runtime={"seed": 1, "concurrency": 1, "abort": {"error_rate": {"max": 0.5}}})
    outcome = asyncio.run(Runner(exp, EventBus(), target=MockTarget(responder=failing_later),
                                 cases=many).run())
    assert outcome.journal["status"] == "aborted"
    assert outcome.exit_code == 1
    assert calls["n"] < 30  # stopped before sending everything


def test_rollbacks_always_run_and_a_failed_rollback_fails_the_run() -> None:
    from aichaos.probes import ProbeSuite, SuiteContext, suites
    from aichaos.results import LayerResult

    ran: list[str] = []

    class Registering(ProbeSuite):
        layer, name = 1, "capability"

        async def run(self, ctx: SuiteContext) -> LayerResult:
            async def undo_ok() -> None:
                ran.append("ok")

            async def undo_bad() -> None:
                ran.append("bad")
                raise RuntimeError("toxic still active")

            ctx.rollbacks.append(("remove toxic A", undo_ok))
            ctx.rollbacks.append(("remove toxic B", undo_bad))
            return LayerResult(1, 100.0)

    exp = experiment()
    runner = Runner(exp, EventBus(), target=MockTarget(responder=good), cases=CASES)
    original = suites._plugins["capability"]
    suites._plugins["capability"] = type(original)(
        "capability", "test", lambda config=None: Registering(), 1, {"config": None})
    try:
        outcome = asyncio.run(runner.run())
    finally:
        suites._plugins["capability"] = original
    assert ran == ["bad", "ok"]  # newest first, and the failure did not stop the others
    assert outcome.journal["status"] == "failed"
    statuses = [r["status"] for r in outcome.journal["rollbacks"]]
    assert statuses == ["failed", "succeeded"]
    assert "toxic still active" in outcome.journal["rollbacks"][0]["exception"][0]


def test_cancellation_marks_interrupted_keeps_results_and_runs_rollbacks() -> None:
    bus = EventBus()
    observed: list[CaseObserved] = []
    ended: list[RunEnded] = []
    bus.subscribe(CaseObserved, observed.append)
    bus.subscribe(RunEnded, ended.append)

    async def scenario() -> Any:
        target = MockTarget(responder=good)
        target.config.latency_s = 0.05
        runner = Runner(experiment(), bus, target=target, cases=CASES)
        task = asyncio.create_task(runner.run())
        while len(observed) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        return await task

    outcome = asyncio.run(scenario())
    assert outcome.journal["status"] == "interrupted"
    assert outcome.exit_code == 130
    assert len(ended) == 1 and ended[0].status == "interrupted"
    assert len(observed) >= 3


def test_activity_events_are_published_in_order() -> None:
    bus = EventBus()
    names: list[tuple[str, str]] = []
    bus.subscribe(ActivityEnded, lambda e: names.append((e.name, e.status)))
    run(experiment(), MockTarget(responder=good), bus)
    assert names == [
        ("steady-state-hypothesis.before", "succeeded"),
        ("layer1.capability", "succeeded"),
        ("steady-state-hypothesis.after", "succeeded"),
    ]


@pytest.mark.parametrize("layer", ["integration", "safety", "observability"])
def test_enabling_a_layer_without_a_suite_is_a_config_error(
    layer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aichaos.errors import ConfigError
    from aichaos.probes import suites

    monkeypatch.delitem(suites._plugins, layer, raising=False)  # as a build without it
    exp = experiment(layers={layer: {}})
    with pytest.raises(ConfigError, match=f"layers.{layer}: this aichaos version has no"):
        Runner(exp, EventBus(), target=MockTarget(), cases=CASES).prepare()


def test_errors_under_injected_faults_do_not_trip_the_abort_rule() -> None:
    from aichaos.probes import SuiteContext

    exp = experiment(runtime={"seed": 1, "abort": {"error_rate": {"max": 0.1}}})
    target = MockTarget(responder=lambda r: TargetResponse(error_class="http_5xx", error="503"))
    ctx = SuiteContext("run", exp, target, CASES, EventBus(), seed=1)

    async def send_many() -> None:
        for i in range(15):
            await ctx.send_one(ctx.plan(CASES[i % 6]), layer=3, suite="integration",
                               scorer=None, count_errors=False)

    asyncio.run(send_many())  # would raise RunAborted if these errors counted
    assert (ctx.observed, ctx.errors) == (0, 0)
