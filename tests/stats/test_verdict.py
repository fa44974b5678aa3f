"""Per-case scores and the layer verdict built on them (aichaos.scoring._verdict)."""

import pytest

from aichaos._events import CaseResult
from aichaos.scoring import case_scores, exact, rate_verdict


def result(case: str, passed: bool, score: float | None = None) -> CaseResult:
    return CaseResult(run_id="r", layer=1, suite="s", case_id=case, variant="clean", input="q",
                      expected=None, output="a", passed=passed, score=score)


def test_requests_of_one_case_are_averaged_into_one_unit() -> None:
    rs = [result("a", True), result("a", False), result("b", True, 0.25), result("b", True, 0.75)]
    assert case_scores(rs) == {"a": 0.5, "b": 0.5}


def test_repeats_of_a_case_do_not_narrow_the_interval() -> None:
    once = [result(str(i), i % 4 != 0) for i in range(12)]
    thrice = [r for r in once for _ in range(3)]
    assert rate_verdict(case_scores(once)).interval == rate_verdict(case_scores(thrice)).interval
    assert rate_verdict(case_scores(thrice)).interval.n == 12


def test_a_check_is_decided_only_when_the_interval_excludes_the_threshold() -> None:
    few = rate_verdict([1.0] * 4, 0.7)
    many = rate_verdict([1.0] * 40, 0.7)
    assert few.state == "open" and not few.grade_range.firm
    assert many.state == "pass" and many.interval.low > 0.7
    assert rate_verdict([0.0] * 40, 0.7).state == "fail"
    assert rate_verdict([0.0] * 40, 0.2, "at_most").state == "pass"


def test_scaled_interval_and_exact_interval() -> None:
    v = rate_verdict([1.0] * 30 + [0.0] * 2)
    assert v.scaled().low == pytest.approx(v.interval.low * 100)
    assert v.scaled().n == 32
    assert exact(1.0).method == "exact" and exact(1.0).low == exact(1.0).high == 1.0
    with pytest.raises(ValueError):
        rate_verdict([])
