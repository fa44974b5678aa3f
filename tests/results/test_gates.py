"""Gates that cannot pass on nothing, and the overall interval through the weakest link.

The findings of issue 12 this reproduces: ``--fail-under A`` passed when no layer was
measured (grades compared as strings), ``AB`` was accepted as a bar, a run with failed checks
and grade F exited 0, and the overall grade had no interval.
"""

from __future__ import annotations

import json
import random

import pytest

from aichaos.results import (
    WEAKEST_LINK,
    Check,
    Grade,
    GradeRange,
    Interval,
    LayerResult,
    Scorecard,
    evaluate_gates,
    parse_bar,
    parse_layers,
    validate_report,
)
from aichaos.scoring import rate_verdict


def _card(*layers: LayerResult) -> Scorecard:
    card = Scorecard()
    for layer in layers:
        card.set(layer)
    return card


# --------------------------------------------------------------------------- the bar


@pytest.mark.parametrize("bad", ["AB", "Z", "-", "", "A+", "E", "1"])
def test_the_bar_is_one_letter_a_to_f(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_bar(bad)
    assert str(info.value) == f"expected a grade A-F, got {bad!r}"


def test_the_bar_takes_any_case_and_orders_as_grades() -> None:
    assert parse_bar("c") is Grade.C and parse_bar(" B ") is Grade.B
    assert Grade.F < parse_bar("D") < parse_bar("A")


def test_layer_names_are_keys_or_numbers() -> None:
    assert parse_layers(["scale", "1", "input-resilience", "capability"]) == [1, 2, 6]
    with pytest.raises(ValueError, match=r"unknown layer '7' \(expected one of capability"):
        parse_layers(["7"])
    with pytest.raises(ValueError, match="unknown layer 'caching'"):
        parse_layers(["caching"])


# --------------------------------------------------------------------------- the gates


def test_fail_under_fails_when_no_layer_was_measured() -> None:
    """Before: ``"-" > "C"`` was False as strings and the gate skipped unmeasured grades."""
    verdict = evaluate_gates(Scorecard(), 0, fail_under=Grade.A)
    assert verdict.code == 1
    assert verdict.reasons == ["no layer was measured: nothing meets --fail-under A"]


def test_fail_under_uses_the_low_end_of_a_grade_range() -> None:
    """Point grade B meets C; its range B–D does not: the low end decides."""
    layer = LayerResult(1, 84.0, grade_range=GradeRange.of(65, 88))
    assert Grade.of(layer.score).meets("C")
    verdict = evaluate_gates(_card(layer), 0, fail_under=Grade.C)
    assert verdict.code == 1
    assert verdict.reasons == ["layer capability grade B–D (low end D) is below --fail-under C"]
    firm = LayerResult(1, 84.0, grade_range=GradeRange.of(81, 88))
    assert evaluate_gates(_card(firm), 0, fail_under=Grade.C).code == 0


def test_fail_under_judges_every_measured_layer_not_the_first() -> None:
    good = LayerResult(1, 95.0)
    bad = LayerResult(4, 72.0)  # C: below B
    verdict = evaluate_gates(_card(good, bad), 0, fail_under=Grade.B)
    assert verdict.reasons == ["layer safety grade C is below --fail-under B"]


def test_failed_checks_fail_the_run_unless_hypothesis_only() -> None:
    """Before: a run with failed checks and grade F exited 0 (Chaos Toolkit's code)."""
    layer = LayerResult(1, 40.0, checks=[
        Check("capability.accuracy", False, 0.4, ">= 0.7"),
        Check("capability.errors", True, 0.0, "== 0")])
    card = _card(layer)
    verdict = evaluate_gates(card, 0)
    assert (verdict.code, verdict.reasons) == (1, ["1 failed check: capability.accuracy"])
    assert evaluate_gates(card, 0, hypothesis_only=True).code == 0


def test_a_not_measured_check_is_skipped_not_failed() -> None:
    layer = LayerResult(3, 100.0, checks=[
        Check("integration.crm.exercised", False, 0.0, "> 0",
              not_measured="the CRM saw no calls"),
        Check("integration.llm.success_rate", True, 1.0, ">= 0.9")])
    card = _card(layer)
    assert card.failed_checks() == []
    assert evaluate_gates(card, 0) == evaluate_gates(card, 0, hypothesis_only=True)
    assert evaluate_gates(card, 0).code == 0


def test_failed_checks_of_an_unmeasured_layer_count_too() -> None:
    layer = LayerResult(3, None, checks=[Check("integration.rollback", False, 1, "== 0")],
                        note="not measured: no fault was exercised")
    verdict = evaluate_gates(_card(layer), 0)
    assert verdict.reasons == ["1 failed check: integration.rollback"]


def test_a_required_layer_that_was_not_measured_fails() -> None:
    card = _card(LayerResult(1, 95.0),
                 LayerResult(3, None, note="not measured: no fault was exercised"))
    verdict = evaluate_gates(card, 0, required=[1, 3])
    assert verdict.code == 1
    assert verdict.reasons == [
        "required layer integration was not measured (not measured: no fault was exercised)"]
    assert evaluate_gates(card, 0, required=[1]).code == 0


def test_the_hypothesis_code_is_kept_and_interrupted_stays_130() -> None:
    card = _card(LayerResult(1, 40.0, checks=[Check("capability.accuracy", False, 0.4)]))
    assert evaluate_gates(card, 1).code == 1
    assert evaluate_gates(card, 130, fail_under=Grade.A).code == 130
    assert evaluate_gates(_card(LayerResult(1, 95.0)), 0, fail_under=Grade.A).code == 0


# --------------------------------------------------------------------------- overall interval


def test_overall_interval_is_the_min_of_lows_and_highs_at_a_bonferroni_level() -> None:
    card = _card(LayerResult(1, 80.0, interval=Interval(70.0, 90.0, "betting-cs", 0.95, 24)),
                 LayerResult(2, 75.0, interval=Interval(72.0, 78.0, "betting-cs", 0.95, 40)),
                 LayerResult(5, 100.0, interval=Interval(100.0, 100.0, "exact", 1.0, None)))
    interval = card.interval
    assert interval is not None
    assert (interval.low, interval.high) == (70.0, 78.0)
    assert interval.level == pytest.approx(0.90)  # the exact layer adds no error
    assert (interval.method, interval.n) == (WEAKEST_LINK, None)
    assert str(card.grade_range) == "C"  # 70-78 sits in one band
    assert card.overall == 75.0 and interval.low <= card.overall <= interval.high
    overall = card.to_dict()["overall"]
    assert overall["interval"] == {"low": 70.0, "high": 78.0, "method": "weakest-link",
                                   "level": 0.9, "n": None}
    assert overall["grade_range"] == "C"


def test_overall_interval_is_none_unless_every_measured_layer_has_one() -> None:
    assert Scorecard().interval is None and Scorecard().grade_range is None
    card = _card(LayerResult(1, 80.0, interval=Interval(70.0, 90.0, "betting-cs")),
                 LayerResult(4, 60.0))
    assert card.interval is None and card.to_dict()["overall"]["interval"] is None
    card.layers[4].interval = Interval(40.0, 75.0, "betting-cs")
    assert card.interval == Interval(40.0, 75.0, WEAKEST_LINK, 0.9, None)
    assert str(card.grade_range) == "C–F"
    card.layers[3].note = "not measured: no fault fired"  # unmeasured layers do not count
    assert card.interval is not None


def test_the_report_with_an_overall_interval_validates() -> None:
    card = _card(LayerResult(1, 80.0, interval=Interval(70.0, 90.0, "betting-cs", 0.95, 8),
                             grade_range=GradeRange.of(70, 90)))
    report = {"schema_version": "1.0.0", "aichaos": "0", "journal_status": None,
              "run": {"title": None, "run_id": None, "start": None, "end": None,
                      "duration_s": None, "status": None, "deviated": False,
                      "steady_state_before": None, "steady_state_after": None,
                      "activities": 0, "activities_failed": 0, "rollbacks": 0,
                      "failed": False},
              "scorecard": card.to_dict()}
    assert validate_report(json.loads(json.dumps(report))) == []
    assert report["scorecard"]["overall"]["grade_range"] == "A–C"


def test_the_weakest_link_interval_covers_the_true_minimum() -> None:
    """Monte Carlo: two layers of known true rates, per-case 0/1 scores, the layers' 95 %
    betting intervals, propagated; the overall interval must cover ``min`` of the true
    scores at least at its stated level (0.90) in repeated runs."""
    rng = random.Random(7)
    true = {1: 0.8, 2: 0.7}
    runs, covered = 150, 0
    for _ in range(runs):
        card = Scorecard()
        for number, rate in true.items():
            scores = [1.0 if rng.random() < rate else 0.0 for _ in range(20)]
            verdict = rate_verdict(scores)
            card.set(LayerResult(number, verdict.value * 100, interval=verdict.scaled()))
        interval = card.interval
        assert interval is not None and interval.level == pytest.approx(0.9)
        covered += interval.low <= 100 * min(true.values()) <= interval.high
    assert covered / runs >= 0.9, covered
