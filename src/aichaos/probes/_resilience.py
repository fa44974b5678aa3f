"""Layer 2, input resilience: do answers survive messy input? Scored by invariance.

For the first ``limit`` golden cases the suite sends the clean input twice (variants
``clean`` and ``clean_resample``, the second past any response cache: the clean-vs-clean
noise floor), then every selected perturbation at every configured severity (variant
``name@severity``), then, with ``health_after``, the clean inputs again (variant
``health_after``) to see whether one bad input took the service down (scenario S12).

Each perturbed answer is judged by :func:`judge`; the rules and the calibration of the
equivalence threshold are in docs/scoring.md. Invariance counts only answers that keep a
*correct* clean answer (an answer equivalent to a wrong clean answer is consistent, not
invariant: a bot that apologises for everything is not resilient); each golden case gets one
score judged against its own noise floor (:mod:`aichaos.probes._resilience_cases`) and the
layer's interval is over cases (:mod:`aichaos.probes._verdicts`).
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
from aichaos.probes._resilience_cases import CaseFloor, Row, case_scores, clean_floor
from aichaos.probes._summary import failing_cases, latency_metrics
from aichaos.probes._verdicts import attach, attach_none_ever, case_caution, fill_layer
from aichaos.results import Check, FailingCase, LayerResult
from aichaos.scoring import Score, Scorer, build_scorer, proportion_ci, rate_verdict, similarity
from aichaos.scoring._equivalence import answers_equivalent
from aichaos.targets import NO_CACHE

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
        consistent: invariance to the clean answer, right or wrong (rules in :func:`judge`).
        invariant: invariance to a *correct* clean answer: consistent and the clean answer
            was correct (what the score counts).
        reason: one line for reports.
    """

    empty: bool = False
    correct: bool = False
    clarified: bool = False
    similarity: float | None = None
    equivalent: bool = False
    consistent: bool = False
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

    These rules give ``consistent`` (invariance to the clean answer). ``invariant`` (the one
    the score counts) also needs a correct clean answer: when ``clean_passed`` is False no
    perturbed answer is invariant, however equivalent to the wrong clean one (a canned
    apology repeated is consistent, not resilient). Clarification rows need no clean answer.

    Similarity is computed only when it decides the verdict (clean and perturbed answers
    both failed the scorer and differ), so a deterministic target never loads the model.
    """
    v = Verdict(empty=not output.strip(), correct=correct)
    v.clarified = is_clarification(output)
    if expects_clarification:
        v.invariant = v.consistent = v.clarified
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
    v.consistent = correct if clean_passed else (correct or v.equivalent)
    if changes_meaning and not v.consistent and v.clarified:
        v.consistent = True
        v.reason = "asked for clarification of a cut-off question"
    elif v.consistent:
        v.reason = "correct" if correct else "equivalent to the clean answer"
    v.invariant = v.consistent and clean_passed
    if v.consistent:
        if not clean_passed:
            v.reason += ", but the clean answer was wrong: no correct answer to keep"
    elif clean_passed:
        v.reason = "clean answer was correct, perturbed answer is not"
    else:
        sim_text = "n/a" if v.similarity is None else f"{v.similarity:.2f}"
        v.reason = f"not equivalent to the clean answer (similarity {sim_text} < {threshold})"
    return v


class InvarianceScorer(Scorer):
    """Scores one perturbed answer against the clean baseline; keeps its :class:`Verdict`.

    The baseline is the first clean answer that passed the case's scorer (``clean``, else
    ``clean_resample``), else the first clean answer. The score value is 1.0 when invariant
    (to a correct clean answer), else 0.0. One instance per planned case.
    """

    name = "invariance"

    def __init__(self, correctness: Scorer, pass_threshold: float, clean: CaseResult | None,
                 perturbed: Perturbation, threshold: float,
                 resample: CaseResult | None = None) -> None:
        self.correctness = correctness
        self.pass_threshold = pass_threshold
        ok = [r for r in (clean, resample) if r is not None and not r.error_class]
        ref = next((r for r in ok if r.passed), ok[0] if ok else None)
        self.clean_output = ref.output if ref is not None else ""
        self.clean_passed = bool(ref is not None and ref.passed)
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
        "invariance_to_clean": sum(1 for i in items if i.verdict.consistent) / n,
        "accuracy": None if clarify else accuracy, "clean_accuracy": clean_accuracy,
        "pdr": pdr, "error_rate": len(errors) / n, "errors": dict(Counter(errors)),
        "empty_rate": sum(1 for i in items if i.verdict.empty and not
                          (i.result and i.result.error_class)) / n,
        "clarification_rate": sum(1 for i in items if i.verdict.clarified) / n if clarify
        else None,
        "mean_similarity": sum(sims) / len(sims) if sims else None,
        "expects_clarification": clarify, "changes_meaning": p.changes_meaning,
    }


def _against_floor(row: dict[str, Any], items: Sequence[_Item], noisy: dict[str, float]
                   ) -> None:
    """Add the row's break rate and its excess over the clean-vs-clean noise floor.

    ``break_rate`` = 1 - invariance rate; ``noise_floor`` = share of the row's cases whose
    clean answer moved on re-sampling; ``beyond_noise`` = their difference; the row
    ``breaks`` answers only when that excess is positive. None for clarification rows.
    """
    if row["expects_clarification"]:
        row.update(break_rate=None, noise_floor=None, beyond_noise=None, breaks=None)
        return
    cases = [i.planned.case.id for i in items]
    floor = sum(noisy.get(k, 0.0) for k in cases) / len(cases)
    broken = 1 - row["invariance_rate"]
    row.update(break_rate=broken, noise_floor=floor, beyond_noise=broken - floor,
               breaks=broken - floor > 0)


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


def _per_case(items: Sequence[_Item], hit: Callable[[_Item], bool]) -> dict[str, float]:
    """Case id -> share of that case's items for which ``hit`` holds."""
    by: dict[str, list[bool]] = {}
    for i in items:
        by.setdefault(i.planned.case.id, []).append(hit(i))
    return {k: sum(v) / len(v) for k, v in by.items()}


def _mean(scores: dict[str, float]) -> float:
    return sum(scores.values()) / len(scores) if scores else 0.0


@suites.register("input_resilience", summary="invariance of answers under input perturbations",
                 layer=2)
class InputResilienceSuite(ProbeSuite):
    """Perturbs the first ``limit`` golden prompts and scores invariance per perturbation.

    Layer score = mean per-case invariance to a correct answer x 100, each golden case one
    unit judged against its own clean-vs-clean noise floor
    (:func:`aichaos.probes._resilience_cases.case_scores`); its 95 % interval is the betting
    confidence sequence over those case scores (Waudby-Smith & Ramdas 2023), so n is the
    number of cases. Metrics also report the pooled invariance to the clean answer (right or
    wrong) and to a correct one, and the noise floor.
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
        per_case = 2 + len(self._build(ctx.seed)) + (1 if self.config.health_after else 0)
        return len(self._cases(ctx)) * per_case

    def _plan_clean(self, ctx: SuiteContext, cases: Sequence[Case], variant: str,
                    **metadata: Any) -> list[PlannedCase]:
        planned = []
        for case in cases:
            item = ctx.plan(case, variant, **metadata)
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
        # the clean-vs-clean noise floor: the same input again, past any response cache
        resampled = await self._send(ctx, self._plan_clean(ctx, cases, "clean_resample",
                                                           headers=NO_CACHE), default)
        resample = {r.case_id: r for r in resampled}
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
                                          c.equivalence_threshold, resample.get(case.id))
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
        return self._score(ctx, clean_results, items, after, resampled)

    def _floors(self, clean_results: list[CaseResult], resampled: list[CaseResult]
                ) -> dict[str, CaseFloor]:
        """Each case's clean pair judged by :func:`judge`, clean vs clean."""
        c = self.config
        again = {r.case_id: r for r in resampled}

        def same(a: CaseResult, b: CaseResult) -> bool:
            return judge(b.output, bool(b.passed), a.output, bool(a.passed),
                         expects_clarification=False, changes_meaning=False,
                         threshold=c.equivalence_threshold).consistent

        return {r.case_id: clean_floor(r, again.get(r.case_id), same) for r in clean_results}

    def _score(self, ctx: SuiteContext, clean_results: list[CaseResult], items: list[_Item],
               after: list[CaseResult], resampled: list[CaseResult] | None = None
               ) -> LayerResult:
        c = self.config
        clean = {r.case_id: r for r in clean_results}
        floors = self._floors(clean_results, resampled or [])
        noisy = {k: float(f.noisy) for k, f in floors.items()}
        n_clean = len(clean_results)
        clean_acc = sum(1 for r in clean_results if r.passed) / n_clean if n_clean else None
        groups: dict[str, list[_Item]] = {}
        for item in items:
            groups.setdefault(item.planned.variant, []).append(item)
        rows = [row_metrics(g, clean_acc) for g in groups.values()]
        for row, group in zip(rows, groups.values(), strict=True):
            _against_floor(row, group, noisy)
        order = sorted(range(len(rows)), key=lambda k: (
            rows[k]["invariance_rate"], -rows[k]["error_rate"], rows[k]["name"],
            rows[k]["severity"]))
        rows = [rows[k] for k in order]
        examples = [_example(groups[rows[k]["variant"]], clean) for k in range(len(rows))]

        n = len(items)
        results = [i.result for i in items if i.result is not None]
        rows_in = [Row(i.planned.case.id, "expects_clarification" in i.perturbation.tags,
                       i.verdict.clarified if "expects_clarification" in i.perturbation.tags
                       else i.verdict.correct or (i.perturbation.changes_meaning
                                                  and i.verdict.clarified))
                   for i in items]
        scores = case_scores(rows_in, floors)
        verdict = rate_verdict(scores, c.min_invariance)
        to_correct = _per_case(items, lambda i: i.verdict.invariant)
        to_clean = _per_case(items, lambda i: i.verdict.consistent)
        floor = rate_verdict(noisy) if noisy else None
        inv = proportion_ci(sum(1 for i in items if i.verdict.invariant), n)
        errored = [i for i in items if i.result and i.result.error_class]
        answers = [i for i in items if "expects_clarification" not in i.perturbation.tags]
        acc_p = sum(1 for i in answers if i.verdict.correct) / len(answers) if answers else None
        asks = [i for i in items if "expects_clarification" in i.perturbation.tags]
        clar = proportion_ci(sum(1 for i in asks if i.verdict.clarified), len(asks)) \
            if asks else None
        before_ok = {r.case_id for r in clean_results if not r.error_class}
        broken = [r for r in after if r.error_class and r.case_id in before_ok]
        metrics: dict[str, Any] = {
            "invariance_rate": verdict.value, "invariance_ci_low": verdict.interval.low,
            "invariance_ci_high": verdict.interval.high, "interval_method":
            verdict.interval.method, "perturbed_requests": n, "cases": n_clean,
            "invariance_to_correct_rate": _mean(to_correct),
            "invariance_to_clean_rate": _mean(to_clean),
            "pooled_invariance_rate": inv.value,
            "noise_floor": floor.value if floor else None,
            "noise_floor_ci_low": floor.interval.low if floor else None,
            "noise_floor_ci_high": floor.interval.high if floor else None,
            "noisy_cases": sorted(k for k, v in noisy.items() if v),
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
        checks = self._checks(verdict.value, rows, items, errored, clar, asks, clean_results,
                              after, broken)
        inv_check = checks[0]
        attach(inv_check, scores, c.min_invariance)
        inv_check.message += (
            f"; {len(scores)} cases, per-case score {verdict.value:.2f} (95% CI "
            f"{verdict.interval.low:.2f}-{verdict.interval.high:.2f}, {verdict.interval.method}"
            f"); invariance to the clean answer {_mean(to_clean):.0%}, to a correct one "
            f"{_mean(to_correct):.0%}; noise floor "
            + (f"{floor.value:.0%}" if floor else "not measured"))
        attach_none_ever(checks[1], _per_case(items, lambda i: bool(
            i.result and i.result.error_class)))
        for check in checks[2:]:
            if check.name.endswith("clarification"):
                attach(check, _per_case(asks, lambda i: i.verdict.clarified),
                       c.min_clarification)
            elif check.name.endswith("health_after"):
                attach_none_ever(check, {r.case_id: float(r in broken) for r in after
                                         if r.case_id in before_ok})
        layer = LayerResult(2, round(verdict.value * 100, 1), metrics, checks, failing,
                            details={"perturbations": rows, "examples": examples})
        fill_layer(layer, verdict, scores)
        case_caution(layer, len(scores))
        return layer

    def _failing(self, run_id: str, broken: list[CaseResult], rows: list[dict[str, Any]],
                 groups: dict[str, list[_Item]]) -> list[FailingCase]:
        out = failing_cases(run_id, broken)
        for row in rows:  # worst perturbation first
            bad = [i.result for i in groups[row["variant"]]
                   if i.result is not None and not i.verdict.invariant]
            out.extend(failing_cases(run_id, bad))
        return [FailingCase(f.case_id, f.variant, to_transport(f.input)[:2000],
                            to_transport(f.output), f.reason, f.reproduce) for f in out[:50]]

    def _checks(self, value: float, rows: list[dict[str, Any]], items: list[_Item],
                errored: list[_Item], clar: Any, asks: list[_Item],
                clean_results: list[CaseResult], after: list[CaseResult],
                broken: list[CaseResult]) -> list[Check]:
        c = self.config
        n = len(items)
        worst = ", ".join(f"{r['variant']} {r['invariance_rate']:.0%}" for r in rows[:3])
        classes = Counter(i.result.error_class for i in errored if i.result)
        by = sorted({i.planned.variant for i in errored})
        checks = [
            Check("input_resilience.invariance", value >= c.min_invariance, value,
                  f">= {c.min_invariance}", "ratio",
                  f"{sum(1 for i in items if i.verdict.invariant)}/{n} perturbed answers "
                  f"invariant to a correct answer; worst: {worst}",
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
