"""Layer 1, model capability: the golden dataset, scored, with a 95% confidence interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from aichaos.config import CapabilityLayer, Experiment
from aichaos.dataset import Case
from aichaos.errors import ConfigError
from aichaos.probes._adaptive import Pair, RateCheck, layer_budget
from aichaos.probes._base import (
    PlannedCase,
    ProbeSuite,
    SuiteContext,
    case_count_note,
    suites,
)
from aichaos.probes._summary import failing_cases, latency_metrics
from aichaos.results import Check, LayerResult
from aichaos.scoring import build_scorer, case_scores, exact

ACCURACY, ACCURACY_BOUND = "capability.accuracy", 0.7


@suites.register("capability", summary="golden dataset accuracy with 95% CI", layer=1)
class CapabilitySuite(ProbeSuite):
    """Sends every golden case once, unperturbed, and scores each answer.

    Layer score = accuracy x 100, where accuracy is the mean over cases of the share of the
    case's requests whose scorer passed (target errors count as failures). The 95% interval
    is the betting confidence sequence over those per-case scores (Waudby-Smith & Ramdas
    2023, via :func:`aichaos.scoring.rate_verdict`); the check ``accuracy >= 0.7`` is
    decided when it excludes 0.7. With ``runtime.confidence: decided`` the cases are drawn
    in a seeded order until that check is decided or the layer's budget is spent.
    """

    layer = 1
    name = "capability"

    def __init__(self, config: CapabilityLayer | None = None) -> None:
        self.config = config or CapabilityLayer()

    def _cases(self, ctx: SuiteContext) -> list[Case]:
        return ctx.cases[: self.config.limit] if self.config.limit else ctx.cases

    def validate(self, experiment: Experiment, cases: list[Case]) -> None:
        try:
            layer_budget(experiment, self.config.budget)
        except ConfigError as exc:
            raise ConfigError(f"layers.capability.{exc}") from exc
        try:
            build_scorer(self.config.scorer)
        except ConfigError as exc:
            raise ConfigError(f"layers.capability.scorer: {exc}") from exc
        for i, case in enumerate(cases):
            if case.scorer is not None:
                try:
                    build_scorer(case.scorer)
                except ConfigError as exc:
                    raise ConfigError(f"{experiment.dataset}: cases[{i}].scorer: {exc}") from exc

    def planned_count(self, ctx: SuiteContext) -> int | None:
        return len(self._cases(ctx))

    async def run(self, ctx: SuiteContext) -> LayerResult:
        default = build_scorer(self.config.scorer)
        planned: dict[str, list[PlannedCase]] = {}
        for case in self._cases(ctx):
            item = ctx.plan(case)
            item.scorer = build_scorer(case.scorer) if case.scorer else None
            planned.setdefault(case.id, []).append(item)
        check = RateCheck(ACCURACY, ACCURACY_BOUND, "at_least", scores=_passed_scores)
        sampled = await ctx.send_until_decided(
            planned, [check], layer_budget(ctx.experiment, self.config.budget), layer=1,
            suite=self.name, scorer=default, pass_threshold=self.config.pass_threshold)
        results = sampled.results
        n = len(results)
        if not n:
            return LayerResult(1, note=f"not measured: no case sent ({sampled.stopped})",
                               details={"sampling": sampled.summary()})
        passed = sum(1 for r in results if r.passed)
        verdict = sampled.verdicts[ACCURACY]
        iv = verdict.interval
        per_case = _passed_scores(sampled.pairs)
        errors = sum(1 for r in results if r.error_class)
        scores = [r.score or 0.0 for r in results]
        metrics = {
            "accuracy": verdict.value,
            "accuracy_ci_low": iv.low,
            "accuracy_ci_high": iv.high,
            "ci_method": iv.method,
            "cases": len(per_case),
            "requests": n,
            "mean_score": sum(scores) / n,
            "error_rate": errors / n,
            "scorer": default.name,
            **latency_metrics(results),
        }
        failing = failing_cases(ctx.run_id, results)
        state = "decided" if verdict.decided else "open"
        checks = [
            Check(ACCURACY, verdict.value >= ACCURACY_BOUND, verdict.value,
                  f">= {ACCURACY_BOUND:g}", "ratio",
                  f"{passed}/{n} cases passed (95% {iv.method} {iv.low:.2f}-{iv.high:.2f}, "
                  f"{state})", [f.case_id for f in failing], interval=iv,
                  decided=verdict.decided),
            Check("capability.errors", errors == 0, errors / n, "== 0", "ratio",
                  f"{errors}/{n} requests errored",
                  [r.case_id for r in results if r.error_class],
                  interval=exact(errors / n), decided=True),
        ]
        notes = [case_count_note(len(per_case))]
        grades = verdict.grade_range
        if not grades.firm:
            notes.append(f"the 95% interval of accuracy spans {iv.low:.0%}-{iv.high:.0%} over "
                         f"{len(per_case)} cases, so the grade is {grades}; add cases for a "
                         "firmer verdict")
        notes.append(sampled.open_note())
        return LayerResult(1, round(verdict.value * 100, 1), metrics, checks, failing,
                           note="; ".join(n for n in notes if n),
                           details={"scores": scores, "sampling": sampled.summary()},
                           interval=verdict.scaled(), grade_range=grades, case_scores=per_case)


def _passed_scores(pairs: Sequence[Pair]) -> dict[str, float]:
    """Per-case share of passed requests (accuracy's unit: a case, its repeats averaged)."""
    return case_scores(replace(r, score=1.0 if r.passed else 0.0) for _, r in pairs)
