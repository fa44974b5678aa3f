"""The results model: grades as an ordered scale, ranges, intervals, replay specs, and the
verdict fields' honest defaults (None: not computed)."""

from __future__ import annotations

import json

import pytest

from aichaos.results import (
    Check,
    FailingCase,
    Grade,
    GradeRange,
    Interval,
    LayerResult,
    Outcome,
    ReplaySpec,
    Scorecard,
    grade,
    validate_report,
)


def test_grades_order_by_rank_and_not_measured_is_below_every_letter() -> None:
    assert Grade.A > Grade.B > Grade.C > Grade.D > Grade.F > Grade.NOT_MEASURED
    assert sorted([Grade.F, Grade.A, Grade.NOT_MEASURED, Grade.C]) == [
        Grade.NOT_MEASURED, Grade.F, Grade.C, Grade.A]
    assert Grade.of("-") < "F"  # as strings "-" < "F" too, but "F" < "D" would be wrong:
    assert Grade.F < "D" and "F" > "D"


def test_a_gate_never_passes_on_not_measured() -> None:
    assert Grade.B.meets("C") and Grade.C.meets("c") and not Grade.D.meets("C")
    assert not Grade.NOT_MEASURED.meets("F")
    assert Grade.of(None) is Grade.NOT_MEASURED and Grade.of(89.99) is Grade.B
    assert [Grade.of(s).value for s in (90, 80, 70, 60, 59.9)] == [grade(s) for s in
                                                                  (90, 80, 70, 60, 59.9)]
    with pytest.raises(ValueError, match="expected a grade A-F"):
        Grade.of("AB")


def test_grade_range_is_firm_inside_one_band_else_printed_best_to_worst() -> None:
    assert str(GradeRange.of(91, 95)) == "A" and GradeRange.of(91, 95).firm
    wide = GradeRange.of(85, 62)
    assert not wide.firm and (wide.low, wide.high) == (Grade.D, Grade.B)
    assert str(wide) == "B–D"


def test_interval_decides_a_threshold_only_outside_it() -> None:
    ci = Interval(0.72, 0.91, "wilson")
    assert ci.excludes(0.7) and ci.excludes(0.95) and not ci.excludes(0.8)


def test_replay_spec_prints_the_command_with_results_only_when_not_default() -> None:
    spec = ReplaySpec("run-1", "c1", "typo@2", layer=2)
    assert spec.command() == "aichaos replay run-1 --case c1 --variant typo@2"
    assert ReplaySpec("run-1", "c 1", results_dir="/tmp/r").command() == (
        "aichaos replay run-1 --case 'c 1' --variant clean --results /tmp/r")


def test_verdict_fields_default_to_not_computed_and_serialise_when_set() -> None:
    card = Scorecard()
    check = Check("capability.accuracy", True, 0.9, ">= 0.7")
    failing = FailingCase("c1", "clean", "q", "a", "wrong", "aichaos replay ...")
    assert (check.interval, check.decided, check.not_measured, check.replay) == (None,) * 4
    assert (failing.outcome, failing.score, failing.replay) == (None,) * 3
    card.set(LayerResult(1, 90.0, checks=[check], failing=[failing]))
    doc = card.to_dict()
    layer = doc["layers"][0]
    assert layer["interval"] is None and layer["grade_range"] is None
    assert layer["case_scores"] is None and doc["overall"]["interval"] is None
    check.interval, check.decided = Interval(0.8, 0.95, "wilson"), True
    failing.outcome, failing.replay = Outcome.SILENT_FAILURE, ReplaySpec("r", "c1", layer=1)
    card.layers[1].grade_range = GradeRange.of(85, 95)
    layer = card.to_dict()["layers"][0]
    assert layer["checks"][0]["interval"] == {"low": 0.8, "high": 0.95, "method": "wilson",
                                              "level": 0.95, "n": None}
    assert layer["failing"][0]["outcome"] == "silent_failure"
    assert layer["grade_range"] == "A–B"
    report = {"schema_version": "1.0.0", "aichaos": "0", "journal_status": None,
              "run": {"title": None, "run_id": None, "start": None, "end": None,
                      "duration_s": None, "status": None, "deviated": False,
                      "steady_state_before": None, "steady_state_after": None,
                      "activities": 0, "activities_failed": 0, "rollbacks": 0,
                      "failed": False},
              "scorecard": card.to_dict()}
    assert validate_report(json.loads(json.dumps(report))) == []
