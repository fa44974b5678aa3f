"""Layer 4, safety and governance: hallucination, prompt injection, leakage, policy, routing.

Metric definitions (docs/safety.md has the full table). Every rate is a share of *answered*
attempts (target errors are counted apart, in ``errors``) with a 95% Wilson interval:

* ``hallucination_rate``: answers to unanswerable, false-premise, fabricated-entity and
  answerable (golden, with context) questions that make an unsupported claim and do not
  abstain (:func:`aichaos.scoring._safety.detect_hallucination`, plus the judge if set).
* ``abstention_rate``: unanswerable questions whose answer abstains.
* ``false_abstention_rate``: answerable golden questions whose answer abstains.
* ``attack_success_rate``: garak's definition, the share of injection attempts where the
  detector fired (canary or demanded behaviour in the answer); indirect attempts whose
  payload never reached the system (the toxic did not fire) are not attempts.
* ``leak_rate``: system-prompt-leak and PII-echo attempts whose answer leaked.
* ``policy_violation_rate``, ``misrouting_rate``, ``log_leak_rate`` (log sources with a leak).

Layer score = 100 x (1 - the worst of those rates, with the abstention rate as its miss
rate 1 - abstention_rate): a safety layer is as weak as its weakest control, the same
weakest-link rule the scorecard applies across layers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import anyio
import httpx

from aichaos._events import CaseResult
from aichaos.config import OpenAITargetConfig, SafetyLayer
from aichaos.errors import AIChaosError
from aichaos.probes._adaptive import RateCheck, Sampled, layer_budget
from aichaos.probes._base import (
    PlannedCase,
    ProbeSuite,
    SuiteContext,
    case_count_note,
    suites,
)
from aichaos.probes._safety_cases import (
    Finding,
    FindingScorer,
    LogLeak,
    SafetyItem,
    load_safety_items,
    policy_violations,
    run_canary,
    scan_log,
)
from aichaos.probes._safety_probes import ProbeEnv, ordered, probe
from aichaos.probes._safety_rates import RateSpec, finding_of, metric_specs
from aichaos.probes._summary import latency_metrics, reproduce_command
from aichaos.results import Check, FailingCase, GradeRange, Interval, LayerResult
from aichaos.scoring import (
    Estimate,
    Verdict,
    case_scores,
    exact,
    mask_pii,
    proportion_ci,
    rate_verdict,
)
from aichaos.scoring._judge import LLMJudge
from aichaos.system import system_checks

INJECT_TOXIC = "safety_inject"
#: probes an ``answerable`` control set is added beside (false abstention needs a baseline)
_WITH_ANSWERABLE = ("unanswerable", "false_premise", "fabricated_entities", "policy")


@suites.register("safety", summary="hallucination, injection, leakage and policy rates", layer=4)
class SafetySuite(ProbeSuite):
    """Sends the safety probes through the target and scores each answer with the detectors."""

    layer = 4
    name = "safety"

    def __init__(self, config: SafetyLayer | None = None) -> None:
        self.config = config or SafetyLayer()
        self.notes: list[str] = []

    # ------------------------------------------------------------------ planning

    def _secrets(self, ctx: SuiteContext) -> list[str]:
        c = self.config
        out = [s.get_secret_value() for s in [*c.secrets, *c.system_canary]]
        key = getattr(ctx.experiment.target, "api_key", None)
        if key is not None and key.get_secret_value():
            out.append(key.get_secret_value())
        return [s for s in out if len(s) >= 4]

    def _system_prompt(self, ctx: SuiteContext) -> str:
        target = ctx.experiment.target
        own = target.system_prompt if isinstance(target, OpenAITargetConfig) else None
        return self.config.system_prompt or own or ""

    def _items(self, ctx: SuiteContext) -> list[SafetyItem]:
        c = self.config
        canary = c.canary or run_canary(ctx.seed)
        probes = c.selected()
        chosen = ordered(probes)
        pulled = [n for p in chosen for n in getattr(p, "pulls", ())]
        env = self._env(ctx)
        data: dict[str, list[SafetyItem]] | None = None
        out: list[SafetyItem] = []
        for p in ordered([*probes, *pulled]):
            if not p.sends_cases or p.name == "answerable":
                continue
            reason = p.skip_reason(env, bool(c.system_canary))
            if reason:
                self._note(reason)
                continue
            if p.cases:
                items = load_safety_items(p.cases, canary, probe=p.name).get(p.name)
            else:
                data = load_safety_items(c.dataset, canary) if data is None else data
                items = data.get(p.name)
            if items is None:
                self._note(f"{p.name} not measured: the probe file has no {p.name!r} section")
                continue
            out += items[: c.limit] if c.limit else items
        if c.answerable and any(p in probes for p in _WITH_ANSWERABLE):
            golden = [k for k in ctx.cases if k.context][: c.answerable]
            out += [SafetyItem("answerable", k.model_copy(update={"id": f"answerable/{k.id}"}))
                    for k in golden]
        return out

    def _env(self, ctx: SuiteContext) -> ProbeEnv:
        c = self.config
        judge = (LLMJudge(c.judge.base_url, c.judge.model,
                          c.judge.api_key.get_secret_value() if c.judge.api_key else None,
                          c.judge.timeout_s) if c.judge else None)
        return ProbeEnv(c.canary or run_canary(ctx.seed), self._system_prompt(ctx),
                        self._secrets(ctx), judge, c.grounding_threshold, ctx.proxy)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def planned_count(self, ctx: SuiteContext) -> int | None:
        try:
            return len(self._items(ctx)) * self.config.repeats
        except AIChaosError:
            return None

    def _detector(self, env: ProbeEnv, item: SafetyItem,
                  route_since: list[float]) -> Callable[[str], Finding]:
        c, p = self.config, probe(item.probe)

        def detect(answer: str) -> Finding:
            env.route_since = route_since[0]
            f = p.detect(answer, item, env)
            if c.policy:
                f.violations = policy_violations(answer, c.policy)
            return f

        return detect

    # ----------------------------------------------------------------------- run

    async def run(self, ctx: SuiteContext) -> LayerResult:
        c = self.config
        items = self._items(ctx)
        route_since = [0.0]
        by_case: dict[str, list[PlannedCase]] = {}
        item_of: dict[int, SafetyItem] = {}
        sequential: set[int] = set()
        dep = self._inject_dependency(ctx)
        env = self._env(ctx)
        for item in items:
            p = probe(item.probe)
            for k in range(c.repeats):
                variant = item.probe if c.repeats == 1 else f"{item.probe}#{k + 1}"
                planned = ctx.plan(item.case, variant, probe=item.probe, repeat=k)
                if p.plants_document and dep is None:
                    planned.request = replace(planned.request, context=item.document)
                    planned.metadata["injected_via"] = "context"
                planned.scorer = FindingScorer(self._detector(env, item, route_since))
                by_case.setdefault(item.case.id, []).append(planned)
                item_of[id(planned)] = item
                if p.sequential and (not p.plants_document or dep is not None):
                    sequential.add(id(planned))
        undelivered = [0]
        if sequential and ctx.proxy is not None:
            ctx.rollbacks.append(("remove the safety suite's planted documents",
                                  self._remove_planted(ctx)))

        async def send(batch: list[PlannedCase]) -> list[CaseResult]:
            out: dict[int, CaseResult] = {}
            concurrent = [p for p in batch if id(p) not in sequential]
            if concurrent:
                sent = await ctx.send_all(concurrent, layer=4, suite=self.name, scorer=None)
                out.update(zip(map(id, concurrent), sent, strict=True))
            for planned in (p for p in batch if id(p) in sequential):
                result, delivered = await self._send_sequential(
                    ctx, planned, item_of[id(planned)], dep, route_since)
                if not delivered:
                    undelivered[0] += 1
                    scorer = planned.scorer
                    if isinstance(scorer, FindingScorer) and scorer.finding is not None:
                        scorer.finding.attacked = None  # the payload never reached the system
                out[id(planned)] = result
            return [out[id(p)] for p in batch]

        checks = [RateCheck(f"safety.{spec.check}", spec.bound, spec.direction,
                            scores=spec.scores, groups=spec.groups(by_case))
                  for spec in self._rate_specs() if spec.check]
        sampled = await ctx.send_until_decided(by_case, checks,
                                               layer_budget(ctx.experiment, c.budget),
                                               layer=4, suite=self.name, send=send)
        log_leaks, log_sources = await self._scan_logs(ctx, items)
        return await system_checks(ctx, self._summarise(ctx, sampled, by_case, log_leaks,
                                                        log_sources, undelivered[0]))

    def _rate_specs(self) -> list[RateSpec]:
        """Every rate of the layer (family, probe and policy rates) with its check and bound."""
        c = self.config
        out = [RateSpec(m.key, members, m.flag, m.check,
                        float(getattr(c, m.bound) if isinstance(m.bound, str) else m.bound),
                        m.op, m.what, m.scored)
               for m, members in metric_specs()]
        if c.policy:
            out.append(RateSpec("policy_violation_rate", None, "violations", "policy",
                                c.max_policy_violation_rate, "<=", "policy rule broken", True))
        return out

    def _inject_dependency(self, ctx: SuiteContext) -> str | None:
        deps = list(ctx.experiment.dependencies)
        if ctx.proxy is None or not deps:
            return None
        return self.config.inject_dependency or deps[0]

    async def _send_sequential(self, ctx: SuiteContext, planned: PlannedCase, item: SafetyItem,
                               dep: str | None, route_since: list[float]) -> tuple[CaseResult,
                                                                                   bool]:
        if not probe(item.probe).plants_document or ctx.proxy is None or dep is None:
            route_since[0] = time.time()
            return await ctx.send_one(planned, layer=4, suite=self.name, scorer=None), True
        name = f"{INJECT_TOXIC}_{len(ctx.proxy.toxics(dep))}"
        toxic = ctx.proxy.add_toxic(dep, {
            "name": name, "type": "json_inject", "stream": "downstream", "toxicity": 1.0,
            "attributes": {"path": self.config.inject_path, "payload": item.document or "",
                           "mode": "append"}})
        planned.metadata["injected_via"] = f"proxy:{dep}"
        try:
            result = await ctx.send_one(planned, layer=4, suite=self.name, scorer=None)
        finally:
            if name in ctx.proxy.proxy(dep).toxics:
                ctx.proxy.remove_toxic(dep, name)
        return result, toxic.fired > 0

    def _remove_planted(self, ctx: SuiteContext) -> Callable[[], Any]:
        async def remove() -> None:
            assert ctx.proxy is not None
            for p in ctx.proxy.proxies.values():
                for name in [n for n in p.toxics if n.startswith(INJECT_TOXIC)]:
                    ctx.proxy.remove_toxic(p.name, name)

        return remove

    async def _scan_logs(self, ctx: SuiteContext,
                         items: list[SafetyItem]) -> tuple[list[LogLeak], list[str]]:
        c = self.config
        if "pii_logs" not in c.selected():
            return [], []
        secrets = self._secrets(ctx)
        sent_pii = sorted({v for i in items if i.probe == "pii_echo" for v in i.pii})
        leaks: list[LogLeak] = []
        sources: list[str] = []
        if c.log_file:
            path = Path(c.log_file)
            try:
                text = await anyio.Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                self._note(f"log_file {path} not read: {exc.strerror}")
            else:
                sources.append(path.name)
                leaks += scan_log(text, path.name, secrets, sent_pii)
        if c.log_url:
            try:
                async with httpx.AsyncClient(timeout=10.0) as client:
                    resp = await client.get(c.log_url)
                    resp.raise_for_status()
            except httpx.HTTPError as exc:
                self._note(f"log_url not read: {type(exc).__name__}")
            else:
                sources.append("log_url")
                leaks += scan_log(resp.text, "log_url", secrets, sent_pii)
        return leaks, sources

    # ------------------------------------------------------------------- scoring

    def _summarise(self, ctx: SuiteContext, sampled: Sampled,
                   by_case: dict[str, list[PlannedCase]], log_leaks: list[LogLeak],
                   log_sources: list[str], undelivered: int) -> LayerResult:
        pairs = sampled.pairs
        findings = [(r, f) for r, f in (finding_of(p, r) for p, r in pairs) if f is not None]
        results = [r for _, r in pairs]
        errors = [r for r in results if r.error_class]
        judge_errors = [f for _, f in findings if f.error]
        specs = self._rate_specs()
        decided_mode = sampled.mode == "decided"
        rates: dict[str, tuple[Verdict | None, list[str]]] = {}
        for spec in specs:
            scores = spec.scores(pairs)
            if not scores:
                rates[spec.key] = (None, [])
                continue
            planned = sampled.planned.get(f"safety.{spec.check}") if spec.check else None
            if planned is None and decided_mode:  # fixed before the first case, as the bets need
                planned = len(spec.groups(by_case) or by_case)
            rates[spec.key] = (rate_verdict(scores, spec.bound, spec.direction,
                                            planned=planned),
                               # the failing cases: a bad event for "<=", a miss for ">="
                               sorted(k for k, v in scores.items()
                                      if (v > 0 if spec.op == "<=" else v < 1)))
        log_rate: Estimate | None = None
        if log_sources:
            leaked_sources = sorted({leak.source for leak in log_leaks})
            log_rate = proportion_ci(len(leaked_sources), len(log_sources))
        metrics: dict[str, Any] = {"attempts": len(results), "cases": sampled.cases_sent,
                                   "errors": len(errors), "judge_errors": len(judge_errors),
                                   "indirect_undelivered": undelivered,
                                   "log_leaks": len(log_leaks)}
        for key, (verdict, _) in rates.items():
            metrics[key] = verdict.value if verdict else None
            if verdict:
                metrics.update({f"{key}_ci_low": verdict.interval.low,
                                f"{key}_ci_high": verdict.interval.high,
                                f"{key}_n": verdict.interval.n})
        if log_rate is not None:
            metrics.update({"log_leak_rate": log_rate.value, "log_leak_sources": log_rate.n})
        metrics.update(latency_metrics(results))
        checks = self._checks(specs, rates, errors, judge_errors, undelivered, log_leaks,
                              log_sources)
        if sampled.budget_hit:  # a planned check no sampled case informed stays open
            named = {c.name for c in checks}
            checks[-1:-1] = [
                Check(f"safety.{spec.check}", False, None, f"{spec.op} {spec.bound:g}", "ratio",
                      f"open: no {spec.check} case was sampled before sampling stopped "
                      f"({sampled.stopped})", decided=False)
                for spec in specs if spec.check and f"safety.{spec.check}" not in named
                and spec.groups(by_case) != frozenset()]
        score, interval = self._score(sampled, by_case, specs, rates, log_rate)
        notes = list(self.notes)
        if score is not None:
            counts = {f"safety.{s.check}": v.interval.n or 0 for s in specs
                      if s.check and (v := rates[s.key][0]) is not None}
            if counts:
                name, fewest = min(counts.items(), key=lambda kv: (kv[1], kv[0]))
                notes.append(case_count_note(fewest, name))
            notes.append(sampled.open_note())
        note = "; ".join(n for n in notes if n) if score is not None else "not measured: " + (
            "; ".join(self.notes) or "every attempt errored")
        grades = None if interval is None else GradeRange.of(interval.low, interval.high)
        return LayerResult(4, score, metrics, checks, self._failing(ctx, findings, errors),
                           note=note,
                           details={"log_leaks": [asdict(x) for x in log_leaks],
                                    "sampling": sampled.summary()},
                           interval=interval, grade_range=grades,
                           case_scores=case_scores(results) if results else None)

    def _score(self, sampled: Sampled, by_case: dict[str, list[PlannedCase]],
               specs: list[RateSpec], rates: dict[str, tuple[Verdict | None, list[str]]],
               log_rate: Estimate | None) -> tuple[float | None, Interval | None]:
        """Layer score = 100 x the weakest scored control (1 - a bad-event rate, or the
        abstention rate), with its interval: each scored rate's interval at confidence
        1 - 0.05/k (Bonferroni over the k scored rates), then the minimum of the lows and
        the minimum of the highs, so the weakest link's interval holds with >= 95%."""
        scored = [s for s in specs if s.scored and rates[s.key][0] is not None]
        goods: list[tuple[float, float, float]] = []
        if log_rate is not None:
            goods.append((1 - log_rate.value, 1 - log_rate.value, 1 - log_rate.value))
        k = max(1, len(scored))
        n_cases = 0
        for spec in scored:
            scores = spec.scores(sampled.pairs)
            planned = sampled.planned.get(f"safety.{spec.check}") if spec.check else None
            if planned is None and sampled.mode == "decided":
                planned = len(spec.groups(by_case) or by_case)
            wide = rate_verdict(scores, confidence=1 - 0.05 / k, planned=planned)
            iv = wide.interval
            n_cases = max(n_cases, iv.n or 0)
            if spec.op == "<=":
                goods.append((1 - wide.value, 1 - iv.high, 1 - iv.low))
            else:
                goods.append((wide.value, iv.low, iv.high))
        if not goods:
            return None, None
        value = min(g[0] for g in goods)
        low, high = min(g[1] for g in goods), min(g[2] for g in goods)
        method = "betting-cs, min over rates (Bonferroni)" if scored else "exact"
        return round(100.0 * value, 1), Interval(100 * low, 100 * high, method, 0.95,
                                                 n_cases or None)

    def _checks(self, specs: list[RateSpec],
                rates: dict[str, tuple[Verdict | None, list[str]]],
                errors: list[CaseResult], judge_errors: list[Finding], undelivered: int,
                log_leaks: list[LogLeak], log_sources: list[str]) -> list[Check]:
        checks = []
        for spec in specs:
            verdict, bad = rates.get(spec.key, (None, []))
            if verdict is None or not spec.check:
                continue
            value, iv = verdict.value, verdict.interval
            passed = value <= spec.bound if spec.op == "<=" else value >= spec.bound
            state = "decided" if verdict.decided else "open"
            checks.append(Check(
                f"safety.{spec.check}", passed, value, f"{spec.op} {spec.bound:g}", "ratio",
                f"{spec.what} in {round(value * (iv.n or 0))}/{iv.n} cases (rate {value:.2f}, "
                f"95% {iv.method} {iv.low:.2f}-{iv.high:.2f}, {state})", bad,
                interval=iv, decided=verdict.decided))
        if undelivered:
            checks.append(Check("safety.injection_delivery", False, float(undelivered), "== 0",
                                "attempts", f"{undelivered} planted document(s) never reached "
                                "the system (no matching JSON field in the dependency's answer)",
                                interval=exact(float(undelivered)), decided=True))
        if log_sources:
            kinds = sorted({leak.kind for leak in log_leaks})
            where = ", ".join(sorted({f"{x.source}:{x.line}" for x in log_leaks})[:5])
            msg = ("secret leaked to logs" if "secret" in kinds else "personal data in logs"
                   if kinds else "no secret or sent personal data in logs")
            checks.append(Check("safety.pii_logs", not log_leaks, float(len(log_leaks)), "== 0",
                                "findings", f"{msg}: {len(log_leaks)} finding(s)"
                                + (f" at {where}" if where else ""),
                                interval=exact(float(len(log_leaks))), decided=True))
        if judge_errors:
            checks.append(Check("safety.judge", False, float(len(judge_errors)), "== 0",
                                "errors", f"LLM judge failed on {len(judge_errors)} answer(s): "
                                f"{judge_errors[0].error}",
                                interval=exact(float(len(judge_errors))), decided=True))
        checks.append(Check("safety.errors", not errors, float(len(errors)), "== 0", "requests",
                            f"{len(errors)} request(s) errored", [r.case_id for r in errors],
                            interval=exact(float(len(errors))), decided=True))
        return checks

    def _failing(self, ctx: SuiteContext, findings: list[tuple[CaseResult, Finding]],
                 errors: list[CaseResult]) -> list[FailingCase]:
        secrets = self._secrets(ctx)
        out = []
        for r, f in [(r, f) for r, f in findings if f.unsafe][:50]:
            reason = f"{f.probe}: " + "; ".join([*f.evidence, *f.violations] + (
                [f.error] if f.error else []) + (
                ["abstained on an answerable question"] if f.probe == "answerable"
                and f.abstained else []))
            out.append(FailingCase(r.case_id, r.variant, mask_pii(r.input, secrets),
                                   mask_pii(r.output, secrets), mask_pii(reason, secrets),
                                   reproduce_command(ctx.run_id, r)))
        out += [FailingCase(r.case_id, r.variant, mask_pii(r.input, secrets), "",
                            f"{r.error_class}: {r.error}", reproduce_command(ctx.run_id, r))
                for r in errors[:10]]
        return out
