"""Layer 1, model capability: the golden dataset, scored, with a 95% confidence interval."""

from __future__ import annotations

from aichaos.config import CapabilityLayer, Experiment
from aichaos.dataset import Case
from aichaos.errors import ConfigError
from aichaos.probes._base import ProbeSuite, SuiteContext, suites
from aichaos.probes._summary import failing_cases, latency_metrics
from aichaos.results import Check, LayerResult, grade
from aichaos.scoring import build_scorer, proportion_ci


@suites.register("capability", summary="golden dataset accuracy with 95% CI", layer=1)
class CapabilitySuite(ProbeSuite):
    """Sends every golden case once, unperturbed, and scores each answer.

    Layer score = accuracy x 100, where accuracy is the share of cases whose scorer passed
    (target errors count as failures). The 95% CI is Wilson's score interval.
    """

    layer = 1
    name = "capability"

    def __init__(self, config: CapabilityLayer | None = None) -> None:
        self.config = config or CapabilityLayer()

    def _cases(self, ctx: SuiteContext) -> list[Case]:
        return ctx.cases[: self.config.limit] if self.config.limit else ctx.cases

    def validate(self, experiment: Experiment, cases: list[Case]) -> None:
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
        planned = []
        for case in self._cases(ctx):
            item = ctx.plan(case)
            item.scorer = build_scorer(case.scorer) if case.scorer else None
            planned.append(item)
        results = await ctx.send_all(planned, layer=1, suite=self.name, scorer=default,
                                     pass_threshold=self.config.pass_threshold)
        n = len(results)
        passed = sum(1 for r in results if r.passed)
        acc = proportion_ci(passed, n)
        errors = sum(1 for r in results if r.error_class)
        scores = [r.score or 0.0 for r in results]
        metrics = {
            "accuracy": acc.value,
            "accuracy_ci_low": acc.low,
            "accuracy_ci_high": acc.high,
            "cases": n,
            "mean_score": sum(scores) / n,
            "error_rate": errors / n,
            "scorer": default.name,
            **latency_metrics(results),
        }
        failing = failing_cases(ctx.run_id, results)
        checks = [
            Check("capability.accuracy", acc.value >= 0.7, acc.value, ">= 0.7", "ratio",
                  f"{passed}/{n} cases passed (95% CI {acc.low:.2f}-{acc.high:.2f})",
                  [f.case_id for f in failing]),
            Check("capability.errors", errors == 0, errors / n, "== 0", "ratio",
                  f"{errors}/{n} requests errored",
                  [r.case_id for r in results if r.error_class]),
        ]
        note = ""
        if acc.high - acc.low > 0.2:
            note = (f"only {n} cases: the 95% CI of accuracy spans {acc.low:.0%}-{acc.high:.0%}, "
                    f"so the grade could be anywhere from {grade(acc.low * 100)} to "
                    f"{grade(acc.high * 100)}; add cases for a firmer verdict")
        return LayerResult(1, round(acc.value * 100, 1), metrics, checks, failing, note=note,
                           details={"scores": scores})
