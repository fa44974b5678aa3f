"""The scorecard: one score per layer of the AI Production Readiness Stack.

Scores run 0-100 and map to letter grades (:mod:`aichaos.results._grades`). Overall readiness
is the weakest *measured* layer: a chain breaks at its weakest link (shared/DESIGN.md). A layer
that was not run is "not measured", never a pass, and an assessment with no measured layer has
no overall grade.

Fields for the verdict work (per check an interval and decided/open, per layer a grade range
and per-case scores, per failing case its outcome and replay spec) default to None: "not
computed". A suite fills them when it measures them; nothing here invents a value. The overall
interval is derived from the layers' intervals (:attr:`Scorecard.interval`), never set by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from aichaos.results._evidence import Interval, Outcome, ReplaySpec
from aichaos.results._grades import GradeRange, grade
from aichaos.results._hints import hint_for

#: method name of the overall interval (:attr:`Scorecard.interval`)
WEAKEST_LINK = "weakest-link"

LAYERS: dict[int, tuple[str, str]] = {
    1: ("capability", "Model capability"),
    2: ("input_resilience", "Input resilience"),
    3: ("integration", "Integration reliability"),
    4: ("safety", "Safety & governance"),
    5: ("observability", "Observability"),
    6: ("scale", "Scalability & cost"),
}


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
        interval: confidence interval on ``value``; None when not computed.
        decided: True when ``interval`` excludes the threshold, False when it is still open,
            None when not computed.
        not_measured: why the check could not be measured (nothing to exercise), else None.
        replay: how to re-send the case behind the verdict, when there is one.
        hint: what usually fixes this check when it fails (:func:`~aichaos.results.hint_for`);
            filled from the check's name when not given.
    """

    name: str
    passed: bool
    value: float | None
    threshold: str = ""
    unit: str = ""
    message: str = ""
    cases: list[str] = field(default_factory=list)
    interval: Interval | None = None
    decided: bool | None = None
    not_measured: str | None = None
    replay: ReplaySpec | None = None
    hint: str = ""

    def __post_init__(self) -> None:
        if not self.hint:
            self.hint = hint_for(self.name)

    @property
    def failed(self) -> bool:
        """Did not pass and was measured: the checks every report lists as failed, and the
        ones that fail ``aichaos run``'s exit code. A not-measured check is skipped instead."""
        return not self.passed and self.not_measured is None


@dataclass(slots=True)
class FailingCase:
    """A failing case with a one-line reproduction (``aichaos replay RUN CASE``).

    Attributes:
        outcome: what the request observably did; None when not classified.
        score: the case's 0..1 score (its requests averaged); None when not computed.
        replay: the structured form of ``reproduce``; None when not recorded.
    """

    case_id: str
    variant: str
    input: str
    output: str
    reason: str
    reproduce: str
    outcome: Outcome | None = None
    score: float | None = None
    replay: ReplaySpec | None = None


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
        interval: confidence interval on ``score`` (0-100); None when not computed.
        grade_range: the grades ``interval`` spans (firm or a range); None when not computed.
        case_scores: case id -> 0..1 score (a case's requests averaged); None when not
            computed.
    """

    layer: int
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    failing: list[FailingCase] = field(default_factory=list)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    interval: Interval | None = None
    grade_range: GradeRange | None = None
    case_scores: dict[str, float] | None = None

    def cap(self, ceiling: float) -> None:
        """Lower the score (and its interval's ends) to at most ``ceiling`` (0-100): a layer
        whose decided checks failed cannot keep a high headline. No-op when not measured or
        already below."""
        if self.score is None or self.score <= ceiling:
            return
        self.score = ceiling
        if self.interval is not None:
            iv = self.interval
            self.interval = Interval(min(iv.low, ceiling), min(iv.high, ceiling), iv.method,
                                     iv.level, iv.n)
            self.grade_range = GradeRange.of(self.interval.low, self.interval.high)

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
    """All six layers (unmeasured ones included) and the overall verdict.

    Attributes:
        layers: layer number -> result.
    """

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

    @property
    def interval(self) -> Interval | None:
        """Interval on the overall score (0-100), propagated through the weakest-link rule.

        The overall score is ``min_i s_i`` over the measured layers, so its interval is
        ``[min_i low_i, min_i high_i]``. Why it holds: if layer ``i``'s interval covers its true
        score ``t_i`` with probability at least ``1 - a_i``, all of them cover at once with
        probability at least ``1 - sum_i a_i`` (Bonferroni's inequality, the union bound), and
        on that event ``min_i low_i <= min_i t_i <= min_i high_i`` because the minimum is
        monotone in each argument. The interval's ``level`` is therefore ``1 - sum_i a_i``
        (0.85 for three layers at 95 %); an ``exact`` layer (level 1) adds no error. Its method
        is ``weakest-link``; ``n`` is None (the layers rest on different cases).

        Returns:
            None when no layer was measured, when any measured layer has no interval (not
            computed: a partial propagation would claim more certainty than there is), or
            when the summed error reaches 1 (no statement left).
        """
        measured = [r for r in self.layers.values() if r.score is not None]
        if not measured or any(r.interval is None for r in measured):
            return None
        intervals = [r.interval for r in measured if r.interval is not None]
        level = 1.0 - sum(1.0 - i.level for i in intervals)
        if level <= 0:
            return None
        return Interval(min(i.low for i in intervals), min(i.high for i in intervals),
                        WEAKEST_LINK, round(level, 6), None)

    @property
    def grade_range(self) -> GradeRange | None:
        """The grades :attr:`interval` spans (firm or a range); None when it is None."""
        interval = self.interval
        return None if interval is None else GradeRange.of(interval.low, interval.high)

    def checks(self) -> list[Check]:
        return [c for n in sorted(self.layers) for c in self.layers[n].checks]

    def failed_checks(self) -> list[Check]:
        """Every :attr:`Check.failed` check, in stack order (unmeasured layers included)."""
        return [c for c in self.checks() if c.failed]

    def to_dict(self) -> dict[str, Any]:
        weakest = self.weakest
        grade_range = self.grade_range
        return {
            "overall": {
                "score": self.overall,
                "grade": self.overall_grade,
                "weakest_layer": weakest.key if weakest else None,
                "measured_layers": sum(r.measured for r in self.layers.values()),
                "layers": len(self.layers),
                "interval": _interval(self.interval),
                "grade_range": None if grade_range is None else str(grade_range),
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
                    "interval": _interval(r.interval),
                    "grade_range": None if r.grade_range is None else str(r.grade_range),
                    "case_scores": r.case_scores,
                }
                for r in (self.layers[n] for n in sorted(self.layers))
            ],
        }


def _interval(interval: Interval | None) -> dict[str, Any] | None:
    return None if interval is None else asdict(interval)
