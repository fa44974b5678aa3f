"""Layer 2, input resilience: do answers survive messy input? Scored by invariance.

For the first ``limit`` golden cases the suite sends the clean input once (variant
``clean``), then every selected perturbation at every configured severity (variant
``name@severity``), then, with ``health_after``, the clean inputs again (variant
``health_after``) to see whether one bad input took the service down (scenario S12).

Each perturbed answer is judged by :func:`judge`; the rules and the calibration of the
equivalence threshold are in docs/scoring.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aichaos._events import CaseResult
from aichaos.config import InputResilienceLayer
from aichaos.dataset import Case
from aichaos.errors import PluginError
from aichaos.perturb import Perturbation, build_perturbations, is_clarification, to_transport
from aichaos.probes._base import PlannedCase, ProbeSuite, SuiteContext, suites
from aichaos.probes._summary import failing_cases, latency_metrics
from aichaos.results import Check, FailingCase, LayerResult
from aichaos.scoring import Score, Scorer, build_scorer, proportion_ci, similarity
from aichaos.scoring._equivalence import answers_equivalent

_EXAMPLE_CHARS = 400  # longer example texts are cut for the reports (long_input is ~10k)
#: edits of a perturbation's lineage kept with each case (replay rebuilds the text from
#: (name, severity, seed), so the rest is only evidence; a 10 MB input has ~10^6 edits)
_LINEAGE_KEPT = 50


@dataclass(slots=True)
class Verdict:
    """How one perturbed answer compares with the clean answer to the same case.

    Attributes:
        empty: the answer is empty or whitespace only.
        correct: the case's scorer passed the perturbed answer.
        clarified: the answer asks for clarification or politely declines (``is_clarification``).
        similarity: cosine similarity to the clean answer, when it had to be computed.
        equivalent: same meaning as the clean answer (similarity >= threshold, identical
            text, or both answers pass the case's scorer).
        invariant: the answer survived the perturbation (rules in :func:`judge`).
        reason: one line for reports.
    """

    empty: bool = False
    correct: bool = False
    clarified: bool = False
    similarity: float | None = None
    equivalent: bool = False
    invariant: bool = False
    reason: str = ""


def judge(output: str, correct: bool, clean_output: str, clean_passed: bool, *,
          expects_clarification: bool, changes_meaning: bool, threshold: float,
          sim: Callable[[str, str], float] = similarity) -> Verdict:
    """Judge one perturbed answer (the target answered; errors never reach here).

    Rules, in order:

    * ``expects_clarification`` (empty, whitespace-only, gibberish input): invariant iff the
      answer is a clarification or polite refusal; any other answer was made up.
    * otherwise an empty answer is never invariant;
    * when the clean answer passed the case's scorer, invariant iff the perturbed answer
      passes too (a correct answer must stay correct: no regression);
    * when the clean answer failed, invariant iff the perturbed answer is correct or
      equivalent to the clean one (the system is at least consistent);
    * ``changes_meaning`` (truncation: the question may be gone): a clarification is also
      invariant, as asking what the user meant is the right reply to a cut-off question.

    Similarity is computed only when it decides the verdict (clean and perturbed answers
    both failed the scorer and differ), so a deterministic target never loads the model.
    """
    v = Verdict(empty=not output.strip(), correct=correct)
    v.clarified = is_clarification(output)
    if expects_clarification:
        v.invariant = v.clarified
        v.reason = "asked for clarification" if v.clarified else "answered instead of asking"
        return v
    if v.empty:
        v.reason = "empty answer"
        return v
    if correct and clean_passed:
        v.equivalent = True  # both pass the case's scorer
    elif output.strip() == clean_output.strip():
        v.similarity, v.equivalent = 1.0, True
    elif clean_output.strip() and not correct and not clean_passed:
        if sim is similarity:  # the calibrated rule: numbers, decisions, abstentions, cosine
            eq = answers_equivalent(clean_output, output, threshold=threshold)
            v.similarity, v.equivalent = eq.similarity, eq.equivalent
        else:
            v.similarity = sim(clean_output, output)
            v.equivalent = v.similarity >= threshold
    v.invariant = correct if clean_passed else (correct or v.equivalent)
    if changes_meaning and not v.invariant and v.clarified:
        v.invariant = True
        v.reason = "asked for clarification of a cut-off question"
    elif v.invariant:
        v.reason = "correct" if correct else "equivalent to the clean answer"
    elif clean_passed:
        v.reason = "clean answer was correct, perturbed answer is not"
    else:
        sim_text = "n/a" if v.similarity is None else f"{v.similarity:.2f}"
        v.reason = f"not equivalent to the clean answer (similarity {sim_text} < {threshold})"
    return v


class InvarianceScorer(Scorer):
    """Scores one perturbed answer against the clean baseline; keeps its :class:`Verdict`.

    The score value is 1.0 when invariant, else 0.0. One instance per planned case.
    """

    name = "invariance"

    def __init__(self, correctness: Scorer, pass_threshold: float, clean: CaseResult | None,
                 perturbed: Perturbation, threshold: float) -> None:
        self.correctness = correctness
        self.pass_threshold = pass_threshold
        self.clean_output = clean.output if clean is not None and not clean.error_class else ""
        self.clean_passed = bool(clean is not None and clean.passed)
        self.expects_clarification = "expects_clarification" in perturbed.tags
        self.changes_meaning = perturbed.changes_meaning
        self.threshold = threshold
        self.verdict: Verdict | None = None
        self.spec = ("invariance", {"threshold": threshold, "correctness": correctness.spec})

    def score(self, output: str, case: Case) -> Score:
        s = self.correctness.score(output, case)
        v = judge(output, s.passed and s.value >= self.pass_threshold, self.clean_output,
                  self.clean_passed, expects_clarification=self.expects_clarification,
                  changes_meaning=self.changes_meaning, threshold=self.threshold)
        self.verdict = v
        return Score(1.0 if v.invariant else 0.0, v.invariant, v.reason)


@dataclass(slots=True)
class _Item:
    perturbation: Perturbation
    planned: PlannedCase
    scorer: InvarianceScorer
    result: CaseResult | None = None
    verdict: Verdict = field(default_factory=Verdict)


def _clean_value(value: Any) -> Any:
    """JSON- and UTF-8-safe copy: lone surrogates replaced, long strings cut."""
    if isinstance(value, str):
        text = to_transport(value)
        return text if len(text) <= _EXAMPLE_CHARS else text[:_EXAMPLE_CHARS] + "…"
    if isinstance(value, dict):
        return {k: _clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_value(v) for v in value]
    return value


def row_metrics(items: Sequence[_Item], clean_accuracy: float | None) -> dict[str, Any]:
    """Metrics of one perturbation at one severity.

    ``pdr`` is PromptBench's performance drop rate (Zhu et al. 2023, "PromptBench: towards
    evaluating the robustness of large language models on adversarial prompts", eq. 1):
    ``1 - acc_perturbed / acc_clean`` over the same cases; None when ``acc_clean`` is 0 or
    unknown (undefined, never NaN) and for clarification rows (no answer is expected).
    """
    p = items[0].perturbation
    n = len(items)
    invariant = sum(1 for i in items if i.verdict.invariant)
    ci = proportion_ci(invariant, n)
    errors = [i.result.error_class for i in items if i.result and i.result.error_class]
    correct = sum(1 for i in items if i.verdict.correct)
    clarify = "expects_clarification" in p.tags
    accuracy = correct / n
    pdr = None if clarify or not clean_accuracy else 1 - accuracy / clean_accuracy
    sims = [i.verdict.similarity for i in items if i.verdict.similarity is not None]
    return {
        "name": p.name, "severity": p.severity, "variant": f"{p.name}@{p.severity}", "n": n,
        "invariance_rate": ci.value, "ci_low": ci.low, "ci_high": ci.high,
        "accuracy": None if clarify else accuracy, "clean_accuracy": clean_accuracy,
        "pdr": pdr, "error_rate": len(errors) / n, "errors": dict(Counter(errors)),
        "empty_rate": sum(1 for i in items if i.verdict.empty and not
                          (i.result and i.result.error_class)) / n,
        "clarification_rate": sum(1 for i in items if i.verdict.clarified) / n if clarify
        else None,
        "mean_similarity": sum(sims) / len(sims) if sims else None,
        "expects_clarification": clarify, "changes_meaning": p.changes_meaning,
    }


def _example(items: Sequence[_Item], clean: dict[str, CaseResult]) -> dict[str, Any]:
    item = next((i for i in items if not i.verdict.invariant), items[0])
    r = item.result
    c = clean.get(item.planned.case.id)
    example: dict[str, Any] = _clean_value({
        "name": item.perturbation.name, "severity": item.perturbation.severity,
        "case_id": item.planned.case.id, "invariant": item.verdict.invariant,
        "reason": item.verdict.reason or (r.error if r else ""),
        "clean_input": c.input if c else item.planned.case.input,
        "clean_output": c.output if c else "",
        "perturbed_input": item.planned.request.input,
        "perturbed_output": r.output if r else "",
        "lineage": item.planned.metadata.get("lineage", [])[:10],
    })
    return example


@suites.register("input_resilience", summary="invariance of answers under input perturbations",
                 layer=2)
class InputResilienceSuite(ProbeSuite):
    """Perturbs the first ``limit`` golden prompts and scores invariance per perturbation.

    Layer score = overall invariance rate x 100: the share of all perturbed requests (every
    perturbation, severity and case pooled) whose answer was invariant by :func:`judge`.
    Checks: ``input_resilience.invariance`` (>= ``min_invariance``, default 0.8),
    ``input_resilience.crashes`` (no perturbed request errored), ``input_resilience.
    clarification`` (share of clarifications to empty/whitespace/gibberish input >=
    ``min_clarification``; only when such perturbations were selected) and
    ``input_resilience.health_after`` (no case that answered before the perturbations
    errors when sent again after them).

    Raises:
        PluginError: (at construction) an unknown perturbation, bad severity or option.
    """

    layer = 2
    name = "input_resilience"

    def __init__(self, config: InputResilienceLayer | None = None) -> None:
        self.config = config or InputResilienceLayer()
        self._build(0)  # fail before anything is sent
        self.spec = ("input_resilience", self.config.model_dump(mode="json"))

    def _build(self, seed: int) -> list[Perturbation]:
        c = self.config
        try:
            return build_perturbations(c.perturbations, c.severity, seed, c.options)
        except PluginError as exc:
            raise PluginError(f"layers.input_resilience: {exc}") from exc

    def _cases(self, ctx: SuiteContext) -> list[Case]:
        return ctx.cases[: self.config.limit] if self.config.limit else ctx.cases

    def planned_count(self, ctx: SuiteContext) -> int | None:
        per_case = 1 + len(self._build(ctx.seed)) + (1 if self.config.health_after else 0)
        return len(self._cases(ctx)) * per_case

    def _plan_clean(self, ctx: SuiteContext, cases: Sequence[Case], variant: str
                    ) -> list[PlannedCase]:
        planned = []
        for case in cases:
            item = ctx.plan(case, variant)
            item.scorer = build_scorer(case.scorer) if case.scorer else None
            planned.append(item)
        return planned

    async def _send(self, ctx: SuiteContext, planned: list[PlannedCase],
                    scorer: Scorer | None) -> list[CaseResult]:
        return await ctx.send_all(planned, layer=2, suite=self.name, scorer=scorer,
                                  pass_threshold=self.config.pass_threshold)

    async def run(self, ctx: SuiteContext) -> LayerResult:
        c = self.config
        default = build_scorer(c.scorer)
        cases = self._cases(ctx)
        clean_results = await self._send(ctx, self._plan_clean(ctx, cases, "clean"), default)
        clean = {r.case_id: r for r in clean_results}
        items: list[_Item] = []
        for p in self._build(ctx.seed):
            for case in cases:
                out = p.apply(case.input)
                planned = ctx.plan(
                    case, f"{p.name}@{p.severity}", to_transport(out.text, c.transport),
                    perturbation=p.name, severity=p.severity, perturbation_seed=ctx.seed,
                    spec=[p.spec[0], p.spec[1]],
                    lineage=_clean_value(list(out.lineage)[:_LINEAGE_KEPT]),
                    lineage_edits=len(out.lineage),
                    expects_clarification=out.expects_clarification,
                    changes_meaning=out.changes_meaning,
                )
                correctness = build_scorer(case.scorer) if case.scorer else default
                scorer = InvarianceScorer(correctness, c.pass_threshold, clean.get(case.id), p,
                                          c.equivalence_threshold)
                planned.scorer = scorer
                items.append(_Item(p, planned, scorer))
        results = await self._send(ctx, [i.planned for i in items], None)
        for item, result in zip(items, results, strict=True):
            item.result = result
            item.verdict = item.scorer.verdict or Verdict(reason=f"{result.error_class}: "
                                                          f"{result.error}")
        after: list[CaseResult] = []
        if c.health_after:
            after = await self._send(ctx, self._plan_clean(ctx, cases, "health_after"), default)
        return self._score(ctx, clean_results, items, after)

    def _score(self, ctx: SuiteContext, clean_results: list[CaseResult], items: list[_Item],
               after: list[CaseResult]) -> LayerResult:
        c = self.config
        clean = {r.case_id: r for r in clean_results}
        n_clean = len(clean_results)
        clean_acc = sum(1 for r in clean_results if r.passed) / n_clean if n_clean else None
        groups: dict[str, list[_Item]] = {}
        for item in items:
            groups.setdefault(item.planned.variant, []).append(item)
        rows = [row_metrics(g, clean_acc) for g in groups.values()]
        order = sorted(range(len(rows)), key=lambda k: (
            rows[k]["invariance_rate"], -rows[k]["error_rate"], rows[k]["name"],
            rows[k]["severity"]))
        rows = [rows[k] for k in order]
        examples = [_example(groups[rows[k]["variant"]], clean) for k in range(len(rows))]

        n = len(items)
        results = [i.result for i in items if i.result is not None]
        invariant = sum(1 for i in items if i.verdict.invariant)
        inv = proportion_ci(invariant, n)
        errored = [i for i in items if i.result and i.result.error_class]
        answers = [i for i in items if "expects_clarification" not in i.perturbation.tags]
        acc_p = sum(1 for i in answers if i.verdict.correct) / len(answers) if answers else None
        asks = [i for i in items if "expects_clarification" in i.perturbation.tags]
        clar = proportion_ci(sum(1 for i in asks if i.verdict.clarified), len(asks)) \
            if asks else None
        before_ok = {r.case_id for r in clean_results if not r.error_class}
        broken = [r for r in after if r.error_class and r.case_id in before_ok]
        metrics: dict[str, Any] = {
            "invariance_rate": inv.value, "invariance_ci_low": inv.low,
            "invariance_ci_high": inv.high, "perturbed_requests": n, "cases": n_clean,
            "perturbations": len({i.perturbation.name for i in items}),
            "severities": list(c.severity),
            "clean_accuracy": clean_acc, "perturbed_accuracy": acc_p,
            "pdr": None if not clean_acc or acc_p is None else 1 - acc_p / clean_acc,
            "error_rate": len(errored) / n,
            "empty_rate": sum(1 for i in items if i.verdict.empty
                              and not (i.result and i.result.error_class)) / n,
            "clarification_rate": clar.value if clar else None,
            "clarification_ci_low": clar.low if clar else None,
            "clarification_ci_high": clar.high if clar else None,
            "health_after_error_rate": len(broken) / len(after) if after else None,
            "equivalence_threshold": c.equivalence_threshold,
            "worst_perturbation": rows[0]["variant"] if rows else None,
            **latency_metrics(results),
        }
        failing = self._failing(ctx.run_id, broken, rows, groups)
        checks = self._checks(inv, rows, items, errored, clar, asks, clean_results, after,
                              broken)
        return LayerResult(2, round(inv.value * 100, 1), metrics, checks, failing,
                           details={"perturbations": rows, "examples": examples})

    def _failing(self, run_id: str, broken: list[CaseResult], rows: list[dict[str, Any]],
                 groups: dict[str, list[_Item]]) -> list[FailingCase]:
        out = failing_cases(run_id, broken)
        for row in rows:  # worst perturbation first
            bad = [i.result for i in groups[row["variant"]]
                   if i.result is not None and not i.verdict.invariant]
            out.extend(failing_cases(run_id, bad))
        return [FailingCase(f.case_id, f.variant, to_transport(f.input)[:2000],
                            to_transport(f.output), f.reason, f.reproduce) for f in out[:50]]

    def _checks(self, inv: Any, rows: list[dict[str, Any]], items: list[_Item],
                errored: list[_Item], clar: Any, asks: list[_Item],
                clean_results: list[CaseResult], after: list[CaseResult],
                broken: list[CaseResult]) -> list[Check]:
        c = self.config
        n = len(items)
        worst = ", ".join(f"{r['variant']} {r['invariance_rate']:.0%}" for r in rows[:3])
        classes = Counter(i.result.error_class for i in errored if i.result)
        by = sorted({i.planned.variant for i in errored})
        checks = [
            Check("input_resilience.invariance", inv.value >= c.min_invariance, inv.value,
                  f">= {c.min_invariance}", "ratio",
                  f"{sum(1 for i in items if i.verdict.invariant)}/{n} perturbed answers "
                  f"invariant (95% CI {inv.low:.2f}-{inv.high:.2f}); worst: {worst}",
                  [f"{i.planned.case.id}/{i.planned.variant}" for i in items
                   if not i.verdict.invariant]),
            Check("input_resilience.crashes", not errored, len(errored) / n, "== 0", "ratio",
                  f"{len(errored)}/{n} perturbed requests errored"
                  + (f" ({', '.join(f'{k} x{v}' for k, v in classes.items())}; "
                     f"under {', '.join(by[:5])})" if errored else ""),
                  [f"{i.planned.case.id}/{i.planned.variant}" for i in errored]),
        ]
        if clar is not None:
            checks.append(Check(
                "input_resilience.clarification", clar.value >= c.min_clarification,
                clar.value, f">= {c.min_clarification}", "ratio",
                f"{sum(1 for i in asks if i.verdict.clarified)}/{len(asks)} empty, blank or "
                "nonsense inputs got a clarification or polite refusal",
                [f"{i.planned.case.id}/{i.planned.variant}" for i in asks
                 if not i.verdict.clarified]))
        if after:
            failed_before = sum(1 for r in clean_results if r.error_class)
            msg = (f"{len(broken)}/{len(after)} clean cases that answered before the "
                   "perturbations fail after them"
                   + (f" ({broken[0].error_class}): one bad input took the service down"
                      if broken else "")
                   + (f"; {failed_before} already failed before" if failed_before else ""))
            checks.append(Check(
                "input_resilience.health_after", not broken, len(broken) / len(after), "== 0",
                "ratio", msg,
                [r.case_id for r in broken]))
        return checks
