"""Layer 2's unit is the golden case: its interval, the clean-vs-clean noise floor."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.runner import EventBus, Runner
from aichaos.targets import MockTarget, TargetRequest


def cases(n: int) -> list[Case]:
    return [Case(id=f"c{i}", input=f"What is the answer to question {i}?",
                 expected=[f"answer {i}"]) for i in range(n)]


def run(layer: dict[str, Any], responder: Any, n_cases: int) -> Any:
    experiment = parse_experiment({
        "title": "cases", "target": {"type": "mock"}, "steady-state-hypothesis": None,
        "layers": {"capability": {"enabled": False},
                   "input_resilience": {"health_after": False, "limit": None, **layer}},
        "runtime": {"seed": 7, "concurrency": 1},
    })
    outcome = asyncio.run(Runner(experiment, EventBus(), target=MockTarget(responder=responder),
                                 cases=cases(n_cases)).run())
    return outcome.scorecard.layers[2]


def half_broken(request: TargetRequest) -> str:
    """Right on clean input and on the first half of the cases, wrong on the others."""
    i = int(request.case_id[1:])
    if request.metadata["variant"].startswith("clean") or i % 2 == 0:
        return f"The answer {i}."
    return "No idea."


MANY = ["casing", "whitespace_noise", "zero_width", "emoji", "punctuation_noise", "repeat",
        "filler_words", "fullwidth", "char_swap", "typo_keyboard"]


def test_interval_counts_cases_not_requests() -> None:
    # 2 cases x 10 perturbations x 3 severities = 60 perturbed requests on only 2 cases
    few = run({"perturbations": MANY, "severity": [1, 2, 3]}, half_broken, 2)
    # 12 cases x 5 perturbations x 1 severity = 60 perturbed requests on 12 cases
    more = run({"perturbations": MANY[:5], "severity": [1]}, half_broken, 12)
    for layer, n in ((few, 2), (more, 12)):
        assert layer.metrics["perturbed_requests"] == 60
        assert layer.metrics["invariance_rate"] == 0.5 and layer.score == 50.0
        assert layer.interval is not None and layer.interval.n == n
        assert layer.interval.method == "betting-cs"
        assert layer.checks[0].interval is not None and layer.checks[0].interval.n == n
    width = {n: layer.interval.high - layer.interval.low
             for layer, n in ((few, 2), (more, 12))}
    # a pooled Wilson interval on 30/60 is +/-12.5 points for both; on cases, 2 cases say
    # almost nothing and 12 say more
    assert width[2] > 90.0 and width[12] < width[2] - 20.0
    assert str(few.grade_range) == "A–F" and "only 2 independent cases" in few.note
    assert "independent cases" not in more.note


def flaky() -> Any:
    """A target whose every second answer to a case is wrong, whatever the input."""
    calls: Counter[str] = Counter()

    def respond(request: TargetRequest) -> str:
        i = request.case_id[1:]
        calls[request.case_id] += 1
        return f"The answer {i}." if calls[request.case_id] % 2 == 1 else "No idea."

    return respond


def test_noise_floor_forgives_what_clean_input_also_does() -> None:
    # per case: clean right, re-sample wrong (r = 0.5), casing@1 right, casing@3 wrong
    layer = run({"perturbations": ["casing"], "severity": [1, 3]}, flaky(), 3)
    m = layer.metrics
    assert m["noise_floor"] == 1.0 and m["noisy_cases"] == ["c0", "c1", "c2"]
    assert m["noise_floor_ci_low"] > 0.2  # three noisy cases out of three
    rows = {r["variant"]: r for r in layer.details["perturbations"]}
    assert rows["casing@3"]["break_rate"] == 1.0 and rows["casing@3"]["beyond_noise"] == 0.0
    assert rows["casing@3"]["breaks"] is False and rows["casing@1"]["breaks"] is False
    # half the perturbed answers right where half the clean ones were: no effect
    assert layer.case_scores == {"c0": 1.0, "c1": 1.0, "c2": 1.0} and layer.score == 100.0
    assert m["invariance_to_correct_rate"] == 0.5


def test_a_stable_target_that_breaks_is_not_forgiven() -> None:
    def respond(request: TargetRequest) -> str:
        i = request.case_id[1:]
        return "No idea." if request.metadata["variant"] == "casing@3" else f"The answer {i}."

    layer = run({"perturbations": ["casing"], "severity": [1, 3]}, respond, 3)
    rows = {r["variant"]: r for r in layer.details["perturbations"]}
    assert layer.metrics["noise_floor"] == 0.0
    assert rows["casing@3"]["beyond_noise"] == 1.0 and rows["casing@3"]["breaks"] is True
    assert layer.case_scores == {"c0": 0.5, "c1": 0.5, "c2": 0.5} and layer.score == 50.0


@pytest.mark.parametrize("resample_errors", [True, False])
def test_a_clean_request_that_errors_once_is_noise(resample_errors: bool) -> None:
    from aichaos._events import CaseResult
    from aichaos.probes._resilience_cases import clean_floor

    def case_result(variant: str, output: str, passed: bool,
                    error_class: str | None = None) -> CaseResult:
        return CaseResult("run", 2, "input_resilience", "c0", variant, "q", None, output,
                          passed, float(passed), error_class=error_class)

    ok = case_result("clean", "The answer 0.", True)
    bad = case_result("clean_resample", "" if resample_errors else "The answer 0.",
                      not resample_errors, "http_5xx" if resample_errors else None)
    floor = clean_floor(ok, bad, lambda a, b: a.output == b.output)
    assert floor.noisy is resample_errors
    assert floor.clean_accuracy == (0.5 if resample_errors else 1.0)
