"""Layer-2 suite against the mock target: the metric arithmetic on known numbers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aichaos.config import parse_experiment
from aichaos.dataset import Case
from aichaos.errors import ConfigError, PluginError
from aichaos.runner import CaseObserved, EventBus, Runner
from aichaos.targets import MockTarget, TargetRequest, TargetResponse

CASES = [Case(id=f"c{i}", input=f"What is the answer to question {i}?",
              expected=[f"answer {i}"]) for i in range(5)]
ASK = "Could you clarify your question?"


def experiment(layer: dict[str, Any]) -> Any:
    return parse_experiment({
        "title": "resilience", "target": {"type": "mock"},
        "layers": {"capability": {"enabled": False}, "input_resilience": layer},
        "runtime": {"seed": 7, "concurrency": 2},
    })


def scripted(request: TargetRequest) -> TargetResponse | str:
    """Known answers per (variant, case): see the expected figures in the test below."""
    case = request.case_id
    i = case[1:]
    right, wrong = f"The answer {i}.", "No idea."
    variant = request.metadata["variant"]
    if variant in ("clean", "health_after"):
        return wrong if case == "c3" else right
    if variant == "clean_resample":  # c2 is noisy: its clean answer moves when sent again
        assert request.metadata["headers"] == {"Cache-Control": "no-cache"}
        return wrong if case in ("c2", "c3") else right
    if variant == "casing@1":  # c1 regresses, c3 repeats its wrong clean answer (equivalent)
        return {"c0": right, "c1": "Bananas.", "c2": right, "c3": wrong}[case]
    if variant == "casing@3":  # c0 errors, c1 empty, c2 right, c3 now right
        if case == "c0":
            return TargetResponse(error_class="http_5xx", error="HTTP 500", status=500)
        return "" if case == "c1" else right
    assert variant.startswith("empty@") and request.input == ""
    return "The answer is 42." if case == "c3" else ASK


def run(layer: dict[str, Any], responder: Any = scripted) -> tuple[Any, list[Any]]:
    bus = EventBus()
    observed: list[Any] = []
    bus.subscribe(CaseObserved, lambda e: e.result.layer == 2 and observed.append(e.result))
    outcome = asyncio.run(Runner(experiment(layer), bus, target=MockTarget(responder=responder),
                                 cases=CASES).run())
    return outcome, observed


def test_metric_arithmetic_on_known_numbers() -> None:
    outcome, observed = run({"perturbations": ["casing", "empty"], "severity": [1, 3]})
    assert outcome.journal["status"] == "completed"
    assert [a["activity"]["name"] for a in outcome.journal["run"]] == ["layer2.input_resilience"]
    layer = outcome.scorecard.layers[2]
    m = layer.metrics
    # default limit 4: 4 clean + 4 re-sampled clean + 4 cases x 2 perturbations x 2
    # severities + 4 health_after
    assert len(observed) == 4 + 4 + 16 + 4 and m["cases"] == 4 and m["perturbed_requests"] == 16
    assert {r.case_id for r in observed} == {"c0", "c1", "c2", "c3"}
    # invariant to the clean answer (right or wrong): casing@1 3/4 (c0, c2, c3), casing@3
    # 2/4 (c2, c3), empty@1 3/4, empty@3 3/4; to a correct one c3 never counts (its clean
    # answers are both wrong): casing@1 2/4, casing@3 1/4
    assert m["invariance_to_clean_rate"] == 11 / 16 and m["pooled_invariance_rate"] == 9 / 16
    assert m["invariance_to_correct_rate"] == 9 / 16
    # per case (answers as a share of the case's clean accuracy r, then the asks):
    # c0 (0.5*2 + 2)/4, c1 (0 + 2)/4, c2 r=0.5 and both casing answers right (1*2 + 2)/4,
    # c3 r=0 and no clarification: 0
    assert layer.case_scores == {"c0": 0.75, "c1": 0.5, "c2": 1.0, "c3": 0.0}
    assert m["invariance_rate"] == 0.5625 and layer.score == 56.2
    assert m["noise_floor"] == 0.25 and m["noisy_cases"] == ["c2"]
    # the interval is over the 4 cases (betting CS), not the 16 requests (Wilson)
    assert layer.interval is not None and layer.interval.n == 4
    assert layer.interval.method == "betting-cs" and m["interval_method"] == "betting-cs"
    assert (m["invariance_ci_low"], m["invariance_ci_high"]) == pytest.approx((0.0175, 1.0))
    assert layer.interval.low == pytest.approx(1.75) and layer.interval.high == 100.0
    assert str(layer.grade_range) == "A–F" and "4 independent cases" in layer.note
    assert m["clean_accuracy"] == 0.75  # c3 is wrong when clean
    assert m["perturbed_accuracy"] == 4 / 8  # answer rows only (casing)
    assert m["pdr"] == pytest.approx(1 - 0.5 / 0.75)
    assert m["error_rate"] == 1 / 16 and m["empty_rate"] == 1 / 16
    assert m["clarification_rate"] == 6 / 8 and m["health_after_error_rate"] == 0.0
    assert m["worst_perturbation"] == "casing@3"

    rows = {r["variant"]: r for r in layer.details["perturbations"]}
    assert [r["variant"] for r in layer.details["perturbations"]] == [
        "casing@3", "casing@1", "empty@1", "empty@3"]  # worst first, ties by name
    c1, c3 = rows["casing@1"], rows["casing@3"]
    assert (c1["invariance_rate"], c1["accuracy"], c1["n"]) == (0.5, 0.5, 4)
    assert c1["invariance_to_clean"] == 0.75 and c3["invariance_to_clean"] == 0.5
    assert c1["pdr"] == pytest.approx(1 / 3) and c3["pdr"] == pytest.approx(1 / 3)
    assert (c1["ci_low"], c1["ci_high"]) == pytest.approx((0.15004, 0.84996), abs=1e-4)
    assert (c3["invariance_rate"], c3["error_rate"], c3["empty_rate"]) == (0.25, 0.25, 0.25)
    # against the noise floor: casing@1 breaks 50% of answers where 25% move unperturbed
    assert (c1["break_rate"], c1["noise_floor"], c1["beyond_noise"], c1["breaks"]) == (
        0.5, 0.25, 0.25, True)
    assert rows["empty@1"]["beyond_noise"] is None
    assert c3["errors"] == {"http_5xx": 1}
    assert rows["empty@1"]["pdr"] is None and rows["empty@1"]["clarification_rate"] == 0.75
    assert c1["clarification_rate"] is None and c1["mean_similarity"] == 1.0  # c3 identical

    checks = {c.name: c for c in layer.checks}
    inv = checks["input_resilience.invariance"]
    assert inv.passed is False and inv.value == 0.5625 and inv.decided is False  # open
    assert inv.interval is not None and inv.interval.n == 4 and inv.interval.high == 1.0
    assert "noise floor 25%" in inv.message and "to a correct one 56%" in inv.message
    assert checks["input_resilience.crashes"].passed is False
    assert checks["input_resilience.crashes"].decided is True  # a crash seen is a crash
    assert checks["input_resilience.health_after"].decided is False  # none seen: open
    assert checks["input_resilience.crashes"].cases == ["c0/casing@3"]
    assert "http_5xx x1" in checks["input_resilience.crashes"].message
    assert checks["input_resilience.clarification"].value == 0.75
    assert checks["input_resilience.clarification"].passed is False
    assert checks["input_resilience.health_after"].passed is True

    examples = {(e["name"], e["severity"]): e for e in layer.details["examples"]}
    ex = examples[("casing", 1)]
    assert ex["case_id"] == "c1" and ex["perturbed_output"] == "Bananas."
    assert ex["clean_output"] == "The answer 1." and ex["invariant"] is False
    assert ex["perturbed_input"] != ex["clean_input"] and ex["lineage"]
    # failing cases: worst perturbation first, each with a replay line
    assert layer.failing[0].variant == "casing@3" and layer.failing[0].case_id == "c0"
    assert layer.failing[0].reproduce.endswith("--case c0 --variant casing@3")
    perturbed = [r for r in observed if "@" in r.variant]
    assert all(r.metadata["perturbation_seed"] == 7 and "lineage" in r.metadata
               for r in perturbed)
    assert {r.passed for r in perturbed if r.variant == "empty@1"} == {True, False}


def test_pdr_is_none_when_clean_accuracy_is_zero() -> None:
    outcome, _ = run({"perturbations": ["casing"], "severity": [2], "limit": 2,
                      "health_after": False}, responder=lambda r: "Same wrong answer.")
    layer = outcome.scorecard.layers[2]
    row = layer.details["perturbations"][0]
    assert row["pdr"] is None and layer.metrics["pdr"] is None  # undefined, never NaN
    # consistently wrong: identical answers, so invariant to the clean answer, but there is no
    # correct answer to keep: invariance to a correct answer (the score) is 0
    assert row["invariance_to_clean"] == 1.0 and layer.metrics["invariance_to_clean_rate"] == 1.0
    assert row["invariance_rate"] == 0.0 and layer.score == 0.0
    names = {c.name for c in layer.checks}
    assert names == {"input_resilience.invariance", "input_resilience.crashes"}


def test_unknown_perturbation_fails_before_anything_is_sent() -> None:
    # imported here: `import aichaos.probes` before `aichaos.runner` hits a circular import
    from aichaos.probes import suites

    with pytest.raises(PluginError, match=r"^layers\.input_resilience: unknown perturbation"):
        suites.create("input_resilience", config=experiment(
            {"perturbations": ["typo_keybord"]}).layers.input_resilience)
    with pytest.raises(ConfigError, match=r"layers\.input_resilience\.severity\[0\]: "
                       r"Input should be less than or equal to 3 \(got 4\)"):
        experiment({"severity": [4]})
