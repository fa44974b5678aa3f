"""The scorecard: one score per layer of the AI Production Readiness Stack.

Scores run 0-100 and map to letter grades on the common US academic scale (A >= 90,
B >= 80, C >= 70, D >= 60, else F). Overall readiness is the weakest *measured* layer: a chain
breaks at its weakest link (shared/DESIGN.md). A layer that was not run is "not measured",
never a pass, and an assessment with no measured layer has no overall grade.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LAYERS: dict[int, tuple[str, str]] = {
    1: ("capability", "Model capability"),
    2: ("input_resilience", "Input resilience"),
    3: ("integration", "Integration reliability"),
    4: ("safety", "Safety & governance"),
    5: ("observability", "Observability"),
    6: ("scale", "Scalability & cost"),
}

GRADE_FLOORS: tuple[tuple[float, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))


def grade(score: float | None) -> str:
    """Letter grade for a 0-100 score; ``"-"`` when the score is None (not measured)."""
    if score is None:
        return "-"
    for floor, letter in GRADE_FLOORS:
        if score >= floor:
            return letter
    return "F"


@dataclass(slots=True)
class Check:
    """One pass/fail check behind a score (a JUnit test case in CI).

    Attributes:
        name: stable identifier, e.g. ``capability.accuracy``.
        passed: whether the measured value met the threshold.
        value: the measured value (unit in ``unit``), or None when it could not be measured.
        threshold: human-readable bound, e.g. ``>= 0.7``.
        unit: unit of ``value`` (``ratio``, ``s``, ``ms``, ``req/s``, ...).
        message: one line explaining the verdict, including failing-case counts.
        cases: ids of the failing cases (reproductions live in the store and JSON report).
    """

    name: str
    passed: bool
    value: float | None
    threshold: str = ""
    unit: str = ""
    message: str = ""
    cases: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FailingCase:
    """A failing case with a one-line reproduction (``aichaos replay RUN CASE``)."""

    case_id: str
    variant: str
    input: str
    output: str
    reason: str
    reproduce: str


@dataclass(slots=True)
class LayerResult:
    """A layer's outcome.

    Attributes:
        layer: 1..6.
        score: 0-100, or None when not measured.
        metrics: headline figures (name -> value), units in the metric names (``_s``, ``_rps``).
        checks: the checks behind the score.
        failing: failing cases, worst first.
        note: why the layer was not measured, or caveats.
        details: suite-specific tables for the reports (e.g. per-perturbation rows).
    """

    layer: int
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    failing: list[FailingCase] = field(default_factory=list)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return LAYERS[self.layer][0]

    @property
    def title(self) -> str:
        return LAYERS[self.layer][1]

    @property
    def grade(self) -> str:
        return grade(self.score)

    @property
    def measured(self) -> bool:
        return self.score is not None


@dataclass(slots=True)
class Scorecard:
    """All six layers (unmeasured ones included) and the overall verdict."""

    layers: dict[int, LayerResult] = field(
        default_factory=lambda: {n: LayerResult(n, note="not measured") for n in LAYERS}
    )

    def set(self, result: LayerResult) -> None:
        self.layers[result.layer] = result

    @property
    def overall(self) -> float | None:
        """Score of the weakest measured layer, or None when nothing was measured."""
        measured = [r.score for r in self.layers.values() if r.score is not None]
        return min(measured) if measured else None

    @property
    def overall_grade(self) -> str:
        return grade(self.overall)

    @property
    def weakest(self) -> LayerResult | None:
        measured = [r for r in self.layers.values() if r.score is not None]
        return min(measured, key=lambda r: (r.score, r.layer)) if measured else None

    def checks(self) -> list[Check]:
        return [c for n in sorted(self.layers) for c in self.layers[n].checks]

    def to_dict(self) -> dict[str, Any]:
        weakest = self.weakest
        return {
            "overall": {
                "score": self.overall,
                "grade": self.overall_grade,
                "weakest_layer": weakest.key if weakest else None,
                "measured_layers": sum(r.measured for r in self.layers.values()),
                "layers": len(self.layers),
            },
            "layers": [
                {
                    "layer": r.layer,
                    "key": r.key,
                    "title": r.title,
                    "score": r.score,
                    "grade": r.grade,
                    "measured": r.measured,
                    "note": r.note,
                    "metrics": r.metrics,
                    "checks": [asdict(c) for c in r.checks],
                    "failing": [asdict(f) for f in r.failing],
                    "details": r.details,
                }
                for r in (self.layers[n] for n in sorted(self.layers))
            ],
        }
