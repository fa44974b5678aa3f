"""How system checks fold into a layer's result: a failure caps the score (and its interval)
at 50, a layer whose own probes measured nothing is scored by its measured system checks, and
not-measured checks change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from aichaos.config import parse_experiment
from aichaos.results import Check, Interval, LayerResult
from aichaos.system import FAILED_CAP, SYSTEM_CHECKS, system_checks

OUTCOME: list[bool] = []


@dataclass
class View:
    experiment: Any


@pytest.fixture
def scripted() -> Iterator[list[bool]]:
    """A registered layer-3 check whose measured checks pass or fail as scripted."""

    async def run(view: Any, system: Any, *, prefix: str, layer: int) -> Any:
        return ([Check(f"{prefix}.scripted.{i}", ok, 0 if ok else 1, "== 0")
                 for i, ok in enumerate(OUTCOME)], [], {"scripted": len(OUTCOME)})

    from aichaos.system._checks import _register

    _register("scripted_test", 3, "scripted outcomes for a test", run)
    try:
        yield OUTCOME
    finally:
        SYSTEM_CHECKS.unregister("scripted_test")
        OUTCOME.clear()


def fold(result: LayerResult, outcomes: list[bool], system: bool = True) -> LayerResult:
    OUTCOME[:] = outcomes
    exp = parse_experiment({"title": "t", "target": {"type": "mock"},
                            **({"system": {}} if system else {})})
    return asyncio.run(system_checks(View(exp), result))  # type: ignore[arg-type]


def test_a_failed_check_caps_score_and_interval(scripted: list[bool]) -> None:
    result = LayerResult(3, 90.0, interval=Interval(85.0, 95.0, "betting", 0.95, 10))
    out = fold(result, [True, False])
    assert out.score == FAILED_CAP == 50.0
    assert out.interval is not None and (out.interval.low, out.interval.high) == (50.0, 50.0)
    assert out.grade_range is not None and str(out.grade_range) == out.grade
    assert "integration.system.scripted.1" in out.note
    # the built-in checks that had nothing declared are present and not measured
    names = {c.name: c for c in out.checks}
    assert names["integration.system.idempotency"].not_measured is not None
    assert names["integration.system.cache_key"].not_measured is not None


def test_passing_checks_leave_the_score_alone(scripted: list[bool]) -> None:
    assert fold(LayerResult(3, 90.0), [True, True]).score == 90.0


@pytest.mark.parametrize(("outcomes", "score"), [([True, True], 100.0),
                                                 ([True, True, True, False], 50.0),
                                                 ([], None)])
def test_an_unmeasured_layer_is_scored_by_its_measured_system_checks(
        scripted: list[bool], outcomes: list[bool], score: float | None) -> None:
    out = fold(LayerResult(3, None), outcomes)
    assert out.score == score
    if score is not None:
        assert "score from" in out.note


def test_no_system_block_changes_nothing(scripted: list[bool]) -> None:
    result = LayerResult(3, 90.0)
    out = fold(result, [False], system=False)
    assert out.score == 90.0 and out.checks == [] and "system" not in out.metrics
