"""``aichaos validate`` says how many independent cases a decided check or a firm grade needs
at an expected rate, beside what the experiment gives each layer."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from typer.testing import CliRunner

from aichaos.cli import app
from aichaos.results import GradeRange
from aichaos.scoring import (
    balanced_scores,
    cases_for_firm_grade,
    cases_to_decide,
    rate_verdict,
)
from tests_support import write


def test_the_balanced_sequence_keeps_every_prefix_mean_at_the_rate() -> None:
    for rate in (0.05, 0.7, 0.95):
        xs = balanced_scores(rate, 200)
        assert set(xs) <= {0.0, 1.0}
        assert all(abs(sum(xs[:i]) / i - rate) <= 1 / i + 1e-12 for i in range(1, 201))
    with pytest.raises(ValueError, match="rate must be in"):
        balanced_scores(1.5, 3)


@pytest.mark.parametrize(("rate", "threshold", "direction"), [
    (0.95, 0.7, "at_least"), (0.95, 0.9, "at_least"), (0.05, 0.2, "at_most"),
    (0.5, 0.7, "at_least"),  # decided as a fail
])
def test_cases_to_decide_is_the_first_n_the_verdict_decides(
        rate: float, threshold: float, direction: Literal["at_least", "at_most"]) -> None:
    n = cases_to_decide(rate, threshold, direction)
    assert n is not None and n > 5

    def decided(k: int) -> bool:
        return rate_verdict(balanced_scores(rate, k), threshold, direction).decided

    assert decided(n) and not decided(n - 1)
    assert decided(n + 10) and not decided(n // 2)


def test_closer_bounds_need_more_cases_and_equal_ones_never_decide() -> None:
    near, far = cases_to_decide(0.95, 0.9), cases_to_decide(0.95, 0.7)
    assert near is not None and far is not None and near > 5 * far
    assert cases_to_decide(0.8, 0.8) is None
    assert cases_to_decide(0.0, 0.0, "at_most") is None  # zero tolerance met: never proven


def test_a_firm_grade_needs_the_interval_inside_one_band() -> None:
    n = cases_for_firm_grade(0.95)
    assert n is not None
    for k, firm in ((n, True), (n - 1, False)):
        scaled = rate_verdict(balanced_scores(0.95, k)).scaled()
        assert GradeRange.of(scaled.low, scaled.high).firm is firm
    assert cases_for_firm_grade(0.9) is None  # a band floor: the interval always crosses it


def test_validate_prints_cases_needed_per_layer(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", "cases:\n" + "".join(
        f"  - {{id: c{i}, input: q{i}, expected: [a]}}\n" for i in range(30)))
    exp = write(tmp_path / "exp.yaml", """
        title: plan
        target: {type: mock, default: a}
        dataset: data.yaml
        layers:
          input_resilience: {perturbations: [casing], limit: 4}
    """)
    result = CliRunner().invoke(app, ["validate", str(exp)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    capability = next(line for line in lines if line.startswith("  capability "))
    need, firm = cases_to_decide(0.95, 0.7), cases_for_firm_grade(0.95)
    assert need is not None and need <= 30 and firm is not None and firm > 30
    assert capability == (f"  capability (cases: 30): accuracy >= 0.7: {need}, "
                          f"firm grade: {firm} (short)")
    resilience = next(line for line in lines if line.startswith("  input_resilience "))
    assert resilience.startswith("  input_resilience (golden cases perturbed: 4): "
                                 f"invariance >= 0.8: {cases_to_decide(0.95, 0.8)} (short)")
    lower = CliRunner().invoke(app, ["validate", str(exp), "--expect", "0.75"],
                               env={"COLUMNS": "250"})
    assert f"accuracy >= 0.7: {cases_to_decide(0.75, 0.7)} (short)" in lower.stdout


def test_a_bad_expected_rate_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write(tmp_path / "data.yaml", "cases: [{id: a, input: q, expected: [a]}]\n")
    exp = write(tmp_path / "exp.yaml", "title: t\ntarget: {type: mock}\ndataset: data.yaml\n")
    result = CliRunner().invoke(app, ["validate", str(exp), "--expect", "0.3"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --expect: expected a rate between 0.5 and 1, got 0.3"
