"""``aichaos validate``'s sample-size lines: per layer, the cases the dataset gives it, and the
independent cases a decided check or a firm grade would need at an expected rate
(:func:`aichaos.scoring.cases_to_decide`, :func:`aichaos.scoring.cases_for_firm_grade`)."""

from __future__ import annotations

from dataclasses import dataclass

from aichaos.config import Experiment
from aichaos.dataset import Case
from aichaos.scoring import cases_for_firm_grade, cases_to_decide
from aichaos.stats._sequential import Direction

#: capability.accuracy's bound where the layer has no field for it (probes/_capability.py)
CAPABILITY_MIN_ACCURACY = 0.7


@dataclass(frozen=True, slots=True)
class RateCheck:
    """A check on a rate: ``name`` ``>=`` or ``<=`` ``threshold``."""

    name: str
    threshold: float
    direction: Direction

    def needed(self, expect: float) -> int | None:
        rate = expect if self.direction == "at_least" else 1.0 - expect
        return cases_to_decide(round(rate, 9), self.threshold, self.direction)

    def __str__(self) -> str:
        op = ">=" if self.direction == "at_least" else "<="
        return f"{self.name} {op} {self.threshold:g}"


def _layer_checks(experiment: Experiment, cases: list[Case]
                  ) -> list[tuple[str, str, int | None, list[RateCheck], bool]]:
    """(layer key, what its cases are, how many, rate checks, score is a rate x 100)."""
    layers = experiment.layers
    out: list[tuple[str, str, int | None, list[RateCheck], bool]] = []

    def on(cfg: object) -> bool:
        return cfg is not None and bool(getattr(cfg, "enabled", True))

    def first(limit: int | None) -> int:
        return len(cases[:limit]) if limit else len(cases)

    if on(layers.capability):
        cfg = layers.capability
        assert cfg is not None
        bound = float(getattr(cfg, "min_accuracy", CAPABILITY_MIN_ACCURACY))
        out.append(("capability", "cases", first(cfg.limit),
                    [RateCheck("accuracy", bound, "at_least")], True))
    if on(layers.input_resilience):
        res = layers.input_resilience
        assert res is not None
        out.append(("input_resilience", "golden cases perturbed", first(res.limit),
                    [RateCheck("invariance", res.min_invariance, "at_least"),
                     RateCheck("clarification", res.min_clarification, "at_least")], True))
    if on(layers.integration):
        integ = layers.integration
        assert integ is not None
        out.append(("integration", "cases per toxic", first(integ.limit),
                    [RateCheck("success_rate", integ.min_success_rate, "at_least")], True))
    if on(layers.safety):
        saf = layers.safety
        assert saf is not None
        out.append(("safety", "cases per probe", saf.limit, [
            RateCheck("hallucination", saf.max_hallucination_rate, "at_most"),
            RateCheck("abstention", saf.min_abstention_rate, "at_least"),
            RateCheck("false_abstention", saf.max_false_abstention_rate, "at_most"),
            RateCheck("attack_success", saf.max_attack_success_rate, "at_most"),
            RateCheck("leak", saf.max_leak_rate, "at_most")], False))
    return out


def _needs(n: int | None, have: int | None) -> str:
    if n is None:
        return "never"
    short = have is not None and have < n
    return f"{n}{' (short)' if short else ''}"


def plan_lines(experiment: Experiment, cases: list[Case], expect: float) -> list[str]:
    """One header line and one line per layer with rate checks.

    Args:
        experiment: the validated experiment.
        cases: its golden cases.
        expect: the expected pass rate in (0, 1]; bad-event rates are expected at
            ``1 - expect``.

    Returns:
        lines of plain text; empty when no enabled layer has rate checks.
    """
    rows = _layer_checks(experiment, cases)
    if not rows:
        return []
    lines = [f"cases needed at an expected rate of {expect:g} (bad-event rates "
             f"{1 - expect:.3g}), 95% betting CS; 'never': the bound equals the rate; "
             "'(short)': more than the experiment gives"]
    for key, what, have, checks, rate_score in rows:
        shown = "all" if have is None else str(have)
        parts = [f"{check}: {_needs(check.needed(expect), have)}" for check in checks]
        if rate_score:
            firm = cases_for_firm_grade(round(expect, 9))
            parts.append(f"firm grade: {_needs(firm, have)}")
        lines.append(f"  {key} ({what}: {shown}): " + ", ".join(parts))
    return lines
