"""Layer 3, Integration reliability: faults in the dependencies, one toxic at a time.

For each toxic of ``layers.integration.toxics`` the suite adds it to the chaos proxy in front
of its dependency (registering a rollback that removes it), sends the first ``limit`` golden
cases (variant = toxic name; with the toxic's ``tags``, the first ``limit`` cases carrying one
of them: the cases that need its dependency, so a CRM fault meets order-status questions),
removes the toxic, and sends them again (variant ``<toxic>.recovery``) to measure recovery. A
control pass without any toxic, over every case some toxic uses, comes first (Principles of
Chaos: control vs experimental group). Requests are sent one at a time so every
upstream call the proxy sees can be attributed to the user request in flight (retry
amplification, Retry-After gaps, silent data loss).

Degradation classes (shared/DESIGN.md, layer 3) of each answer:

- ``correct``: the scorer passed, or the answer was a 2xx, not a fallback, and the control
  answer of the same case failed the scorer too (the fault changed nothing; layer 1 owns
  accuracy);
- ``fallback``: a 2xx answer matching ``fallback_patterns`` (graceful degradation);
- ``hang``: no answer within ``timeout_s`` (error class ``timeout``);
- ``crash``: the request died: connection failure, exception, broken stream, or an HTTP 5xx
  whose body is not JSON (a framework's unhandled-exception page);
- ``error``: any other error response (HTTP 4xx/5xx with a body, invalid response), or a 2xx
  answer that is wrong.

What survives a fault, what it exercises and any checks of its own come from the toxic's class
(:mod:`aichaos.faults._judgement`): by default success = correct + fallback.

Layer score = mean over toxics of (success rate under fault x 100), with penalties: a toxic
with any hang, or after which the target did not recover within ``recovery_timeout_s``, scores
0 (a hung request holds a worker; an unrecovered target fails every later user); a failed
check of the toxic's own (ignoring Retry-After, retrying an exhausted quota) or a failover
that never happened caps the toxic at 50.

Intervals (:mod:`aichaos.probes._verdicts`): per toxic, the betting confidence sequence
(Waudby-Smith & Ramdas 2023) over its cases' outcome scores (1 survived, 0 not; one request
per case under the fault); the penalties above map the interval's ends as they map the
point. The layer's interval is the mean of the toxics' intervals, each taken at confidence
``1 - 0.05 / k`` for ``k`` exercised toxics (Bonferroni), so all hold together with 95 %
probability and their mean bounds the mean score; its ``n`` is the number of distinct cases.
Recovery, retry amplification, failover and the toxics' own checks are counts of what
happened in this run: labelled ``exact``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aichaos._events import CaseResult
from aichaos.config import Experiment, IntegrationLayer, ToxicSpec
from aichaos.dataset import Case
from aichaos.errors import ConfigError
from aichaos.faults import Toxic, build_toxic
from aichaos.faults._judgement import OUTCOMES as _OUTCOMES
from aichaos.faults._llm import RateLimit
from aichaos.probes._base import ProbeSuite, SuiteContext, suites
from aichaos.probes._integration_verdicts import Penalty, layer_interval, toxic_interval
from aichaos.probes._streams import with_stream_budgets
from aichaos.probes._summary import reproduce_command
from aichaos.probes._verdicts import attach, attach_exact, case_caution
from aichaos.proxy import ChaosProxy, TrafficRecord
from aichaos.results import Check, FailingCase, LayerResult
from aichaos.scoring import build_scorer
from aichaos.system import system_checks
from aichaos.targets import NO_CACHE, DeadlineTarget

OUTCOMES = _OUTCOMES
RETRY_SLACK_S = RateLimit.RETRY_SLACK_S
_SILENT = "silent data loss: success returned while upstream calls failed"


def condition(toxic: Toxic) -> str:
    """A few words naming the injected condition, used in findings (e.g. ``truncated stream``);
    the toxic says it (:meth:`aichaos.faults.Toxic.condition`)."""
    return toxic.condition()


def classify(result: CaseResult, patterns: list[re.Pattern[str]],
             control_failed: bool = False) -> str:
    """The degradation class of one answer (see the module docstring), one of :data:`OUTCOMES`."""
    cls, error = result.error_class, result.error or ""
    if cls is None:
        if result.passed:
            return "correct"
        if any(p.search(result.output) for p in patterns):
            return "fallback"
        return "correct" if control_failed else "error"
    if cls == "timeout":
        return "hang"
    if cls in ("connection", "exception"):
        return "crash"
    if cls == "stream" and not error.startswith(("mid-stream error event", "stream ended")):
        return "crash"
    if (result.status or 0) >= 500 and "body is not JSON" in error:
        return "crash"
    return "error"


@dataclass(slots=True)
class Observation:
    """One answer under a toxic with the upstream calls made while it was in flight.

    Attributes:
        result: the case result.
        outcome: degradation class, one of :data:`OUTCOMES`.
        start: epoch seconds the request was sent; ``end`` when the answer arrived.
        calls: the toxic's dependency's traffic records that arrived in ``[start, end)``.
        finding: one line naming the failure, or None for correct and fallback answers.
        kind: ``finding`` without per-request numbers (for aggregation).
    """

    result: CaseResult
    outcome: str
    start: float
    end: float
    calls: list[TrafficRecord] = field(default_factory=list)
    finding: str | None = None
    kind: str | None = None


def _finding(obs: Observation, toxic: Toxic, timeout_s: float) -> tuple[str | None, str | None]:
    cond, r = condition(toxic), obs.result
    if obs.outcome in toxic.acceptable:
        return None, None
    if obs.outcome == "hang":
        text = f"hang on {cond}: no answer within {timeout_s:g} s"
        return text, text
    if obs.outcome == "crash" and r.error_class == "connection" and not obs.calls:
        text = "target unreachable: down since an earlier failure"
        return text, text
    if obs.outcome == "crash":
        return f"crash on {cond}", f"crash on {cond}"
    if r.error_class is not None:
        text = (f"server error on {cond}" if (r.status or 0) >= 500
                else f"error response on {cond}")
        return text, text
    failed = [c for c in obs.calls if (c.status or 0) >= 400 or c.error]
    if toxic.wrong_answer:
        text = toxic.wrong_answer
    elif failed:
        return (f"silent data loss: success returned while {len(failed)} upstream calls "
                "failed", _SILENT)
    else:
        text = f"wrong answer under {cond}"
    return text, text


def retry_after_gaps(obs: list[Observation], toxic: Toxic) -> list[float]:
    """Seconds between a 429 from ``toxic`` reaching the client and the next attempt of the
    same user request (one value per retry); empty for toxics that send no Retry-After."""
    return toxic.gaps([o.calls for o in obs]) if isinstance(toxic, RateLimit) else []


@dataclass
class _ToxicRun:
    spec: ToxicSpec
    toxic: Toxic
    fault: list[Observation] = field(default_factory=list)
    recovery: list[Observation] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)
    recovery_s: float | None = None
    #: the control group's upstream calls per request to this toxic's dependency, over
    #: this toxic's cases (None without a control pass)
    base: float | None = None


@suites.register("integration", summary="dependency faults via the chaos proxy: degradation, "
                 "retries, recovery", layer=3)
class IntegrationSuite(ProbeSuite):
    """Runs the golden cases under each toxic, then after its removal (see module docstring).

    Raises (from :meth:`run`):
        ConfigError: no dependencies, no toxics, an unknown dependency or fallback, or a bad
            toxic (before anything is sent).
    """

    layer = 3
    name = "integration"

    def __init__(self, config: IntegrationLayer | None = None) -> None:
        self.config = config or IntegrationLayer()
        self._patterns = [re.compile(p, re.IGNORECASE) for p in self.config.fallback_patterns]

    def _cases(self, ctx: SuiteContext, spec: ToxicSpec | None = None) -> list[Case]:
        """The cases sent under ``spec`` (its tags, else all), the first ``limit`` of them."""
        pool = ctx.cases if spec is None or not spec.tags else [
            c for c in ctx.cases if set(c.tags) & set(spec.tags)]
        return pool[: self.config.limit] if self.config.limit else pool

    def _union(self, ctx: SuiteContext) -> list[Case]:
        """Every case some toxic uses, in dataset order (the control group)."""
        used = {c.id for spec in self.config.toxics for c in self._cases(ctx, spec)}
        return [c for c in ctx.cases if c.id in used]

    def planned_count(self, ctx: SuiteContext) -> int | None:
        agents = self._agents()
        extra = agents.planned_count(ctx) or 0 if agents is not None else 0
        control = len(self._union(ctx)) if self.config.control else 0
        return control + sum(2 * len(self._cases(ctx, s)) for s in self.config.toxics) + extra

    def _agents(self) -> ProbeSuite | None:
        """The agent task suite of ``agents`` (:class:`aichaos.agents.AgentTaskSuite`, of a
        higher tier and needing the ``mcp`` extra, so loaded by name), or None."""
        agents = self.config.agents
        if agents is None or not agents.enabled:
            return None
        try:
            module = importlib.import_module("aichaos.agents")
        except ImportError as exc:
            raise ConfigError("layers.integration.agents: needs the MCP SDK: pip install "
                              f"'aichaos[mcp]' ({exc})") from exc
        suite: ProbeSuite = module.AgentTaskSuite(agents)
        return suite

    def _golden(self) -> bool:
        """Whether golden cases run under toxics (agent tasks alone need none)."""
        return bool(self.config.toxics) or self._agents() is None

    async def preflight(self, experiment: Experiment) -> None:
        agents = self._agents()
        if agents is not None:
            await agents.preflight(experiment)

    def validate(self, experiment: Experiment, cases: list[Case]) -> None:
        agents = self._agents()
        if agents is not None:
            agents.validate(experiment, cases)
            if not self._golden():
                return
        if not experiment.dependencies:
            raise ConfigError("layers.integration: needs `dependencies:` (the chaos proxy sits "
                              "in front of each), the experiment has none")
        self._named(set(experiment.dependencies), cases)

    def _validate(self, ctx: SuiteContext) -> tuple[ChaosProxy, list[tuple[ToxicSpec, str]]]:
        if ctx.proxy is None:
            raise ConfigError("layers.integration: needs `dependencies:` (the chaos proxy sits "
                              "in front of each), the experiment has none")
        return ctx.proxy, self._named(set(ctx.proxy.proxies), ctx.cases)

    def _named(self, dependencies: set[str], cases: list[Case] | None = None
               ) -> list[tuple[ToxicSpec, str]]:
        """Each toxic with its unique name; checks types, attributes, dependencies and tags.

        Raises:
            ConfigError: no toxic, an unknown dependency, a toxic that does not build, or
                tags that no case of the dataset carries.
        """
        where = "layers.integration"
        if not self.config.toxics:
            raise ConfigError(f"{where}.toxics: expected at least one toxic, got none")
        known = sorted(dependencies)
        named, used = [], Counter[str]()
        for i, spec in enumerate(self.config.toxics):
            for key, dep in (("dependency", spec.dependency), ("fallback", spec.fallback)):
                if dep is not None and dep not in dependencies:
                    raise ConfigError(f"{where}.toxics[{i}].{key}: unknown dependency {dep!r}; "
                                      f"known: {', '.join(known)}")
            if spec.tags and cases is not None and not any(
                    set(c.tags) & set(spec.tags) for c in cases):
                raise ConfigError(f"{where}.toxics[{i}].tags: no case of the dataset has tag "
                                  f"{' or '.join(map(repr, spec.tags))}; nothing would be "
                                  "sent under this toxic")
            base = spec.name or f"{spec.type}_{spec.stream}"
            used[base] += 1
            name = base if used[base] == 1 else f"{base}_{used[base]}"
            try:
                build_toxic(spec.proxy_spec(name))
            except ConfigError as exc:
                raise ConfigError(f"{where}.toxics[{i}]: {exc}") from exc
            named.append((spec, name))
        return named

    async def run(self, ctx: SuiteContext) -> LayerResult:
        agents = self._agents()
        golden = await self._run_golden(ctx) if self._golden() else None
        if agents is None:
            assert golden is not None
            return golden
        merge = importlib.import_module("aichaos.agents").merge_layer3
        return merge(golden, await agents.run(ctx))  # type: ignore[no-any-return]

    async def _run_golden(self, ctx: SuiteContext) -> LayerResult:
        proxy, named = self._validate(ctx)
        sub = dataclasses.replace(ctx, target=DeadlineTarget(
            ctx.target, self.config.timeout_s, "(layers.integration.timeout_s)"))
        try:
            control: dict[str, CaseResult] = {}
            spans: dict[str, tuple[float, float]] = {}
            if self.config.control:
                for case in self._union(ctx):
                    t0 = time.time()
                    control[case.id] = await self._send(sub, case, "control", "control")
                    spans[case.id] = (t0, time.time())
            runs = [await self._one_toxic(sub, proxy, spec, name, self._cases(ctx, spec),
                                          control) for spec, name in named]
        finally:
            ctx.observed, ctx.errors = sub.observed, sub.errors
        await asyncio.sleep(0.05)  # let released requests finish and reach the traffic log
        for run in runs:
            windows = [spans[o.result.case_id] for o in run.fault if o.result.case_id in spans]
            if windows:
                run.base = sum(proxy.traffic.count(proxy=run.spec.dependency, since=a, until=b)
                               for a, b in windows) / len(windows)
        for run in runs:
            for o in run.fault:
                o.calls = proxy.traffic.query(proxy=run.spec.dependency, since=o.start,
                                              until=o.end)
                o.finding, o.kind = _finding(o, run.toxic, self.config.timeout_s)
        leftover = [t.name for p in proxy.proxies.values() for t in p.toxics.values()
                    if t.name in {n for _, n in named}]
        return await system_checks(ctx, await with_stream_budgets(  # _streams.py, system/
            ctx, self.config, self._score(ctx, proxy, runs, leftover)))

    async def _send(self, ctx: SuiteContext, case: Case, variant: str, phase: str) -> CaseResult:
        item = ctx.plan(case, variant, phase=phase, headers=NO_CACHE)
        item.scorer = build_scorer(case.scorer) if case.scorer else None
        return await ctx.send_one(item, layer=3, suite=self.name,
                                  scorer=build_scorer(self.config.scorer),
                                  pass_threshold=self.config.pass_threshold,
                                  count_errors=phase != "fault")

    def _observe(self, result: CaseResult, start: float,
                 control: dict[str, CaseResult]) -> Observation:
        ctrl = control.get(result.case_id)
        control_failed = ctrl is not None and ctrl.error_class is None and not ctrl.passed
        return Observation(result, classify(result, self._patterns, control_failed), start,
                           time.time())

    async def _one_toxic(self, ctx: SuiteContext, proxy: ChaosProxy, spec: ToxicSpec, name: str,
                         cases: list[Case], control: dict[str, CaseResult]) -> _ToxicRun:
        dep = spec.dependency

        async def remove() -> None:
            if name in proxy.proxy(dep).toxics:
                proxy.remove_toxic(dep, name)

        ctx.rollbacks.append((f"remove toxic {name} from dependency {dep}", remove))
        toxic = proxy.add_toxic(dep, spec.proxy_spec(name))
        run = _ToxicRun(spec, toxic)
        t0 = time.time()
        try:
            for case in cases:
                start = time.time()
                run.fault.append(self._observe(await self._send(ctx, case, name, "fault"),
                                               start, control))
        finally:
            run.window = (t0, time.time())
            await remove()
        removed = time.monotonic()
        pending = list(cases)
        while True:
            case = pending.pop(0) if pending else cases[0]
            first_pass, start = len(run.recovery) < len(cases), time.time()
            obs = self._observe(await self._send(ctx, case, f"{name}.recovery", "recovery"),
                                start, control)
            if first_pass:
                run.recovery.append(obs)
            if obs.outcome == "correct" and run.recovery_s is None:
                run.recovery_s = time.monotonic() - removed
            if not pending and (run.recovery_s is not None or
                                time.monotonic() - removed >= self.config.recovery_timeout_s):
                break
            if not pending:
                await asyncio.sleep(self.config.recovery_interval_s)
        return run

    # ------------------------------------------------------------------ scoring

    def _toxic_checks(self, run: _ToxicRun, proxy: ChaosProxy
                      ) -> tuple[dict[str, Any], list[Check]]:
        cfg, t, name = self.config, run.toxic, run.toxic.name
        n = len(run.fault)
        counts = Counter(o.outcome for o in run.fault)
        outcomes = {k: counts.get(k, 0) for k in OUTCOMES}
        survived = sum(counts.get(k, 0) for k in t.acceptable)
        rate = survived / n if n else 0.0
        health = (sum(o.outcome == "correct" for o in run.recovery) / len(run.recovery)
                  if run.recovery else 0.0)
        upstream = proxy.traffic.count(proxy=run.spec.dependency, since=run.window[0],
                                       until=run.window[1])
        per_request = upstream / n if n else 0.0
        base = run.base
        amplification = per_request / base if base else None
        kinds = Counter(o.kind for o in run.fault if o.kind)
        silent_calls = sum(len([c for c in o.calls if (c.status or 0) >= 400 or c.error])
                           for o in run.fault if o.kind == _SILENT)
        findings = [(f"silent data loss: success returned while {silent_calls} upstream calls "
                     f"failed" if k == _SILENT else k) + f" ({c}/{n} requests)"
                    for k, c in kinds.most_common()]
        bad_ids = [o.result.case_id for o in run.fault if o.outcome not in t.acceptable]
        e2e = [o.result.e2e_s for o in run.fault if o.result.e2e_s is not None]
        m: dict[str, Any] = {
            "toxic": name, "type": t.type, "dependency": run.spec.dependency,
            "toxicity": t.toxicity, "requests": n, "outcomes": outcomes, "success_rate": rate,
            "fired": t.fired, "upstream_calls": upstream, "upstream_calls_per_request":
            per_request, "control_calls_per_request": base, "retry_amplification": amplification,
            "recovered": run.recovery_s is not None, "recovery_s": run.recovery_s,
            "health_after": health, "e2e_p50_s": statistics.median(e2e) if e2e else None,
            "findings": findings, "exercises": t.exercises, "acceptable": list(t.acceptable),
            "fires_per_request": t.fires_per_request,
        }
        summary = ", ".join(f"{k} {v}" for k, v in outcomes.items())
        m["exercised"] = t.fired > 0
        if not t.fired:  # nothing reached the fault: no verdict on it, and say so plainly
            m["score"], m["penalties"] = None, []
            unit = "calls" if t.fires_per_request else "connections"
            why = (f"fault not exercised: {condition(t)} never fired; {run.spec.dependency!r} "
                   f"saw {upstream} {unit} in {n} requests (a response cache, or a path that "
                   "does not use this dependency? give the toxic `tags:` naming the cases "
                   "that need it); no verdict on this fault")
            return m, [attach_exact(Check(f"integration.{name}.exercised", False, 0.0, "> 0",
                                          "fired", why, bad_ids, not_measured=why))]
        checks = [Check(f"integration.{name}.success_rate", rate >= cfg.min_success_rate, rate,
                        f">= {cfg.min_success_rate:g}", "ratio",
                        f"{survived}/{n} succeeded under "
                        f"{condition(t)} ({summary}; fired {t.fired}x)"
                        + ("; " + "; ".join(findings) if findings else ""), bad_ids)]
        scores = outcome_scores(run.fault, t.acceptable)
        verdict = attach(checks[0], scores, cfg.min_success_rate)
        m["case_scores"] = scores
        if verdict is not None:
            i = verdict.interval
            m.update(ci_low=i.low, ci_high=i.high, cases=i.n, decided=verdict.decided)
            checks[0].message += (f"; 95% CI {i.low:.2f}-{i.high:.2f} over {i.n} cases "
                                  f"({'decided' if verdict.decided else 'open'})")
        rec_msg = (f"first correct answer {run.recovery_s:.2f} s after removal; health after "
                   f"{health:.0%}" if run.recovery_s is not None else
                   f"not recovered: no correct answer within {cfg.recovery_timeout_s:g} s of "
                   f"removing the toxic; target unhealthy after the fault (health {health:.0%})")
        checks.append(Check(f"integration.{name}.recovered", run.recovery_s is not None,
                            run.recovery_s, f"<= {cfg.recovery_timeout_s:g}", "s", rec_msg,
                            [o.result.case_id for o in run.recovery if o.outcome != "correct"]))
        if amplification is not None:
            checks.append(Check(
                f"integration.{name}.retry_amplification",
                amplification <= cfg.max_retry_amplification, amplification,
                f"<= {cfg.max_retry_amplification:g}", "x",
                f"{per_request:.2f} upstream calls per request under fault vs {base:.2f} in "
                "the control group"))
        penalties = []
        for v in t.judge([o.calls for o in run.fault]):  # the toxic's own checks
            m.update(v.metrics)
            checks.append(Check(f"integration.{name}.{v.check}", v.passed, v.value, v.bound,
                                v.unit, v.message))
            if not v.passed and v.penalty:
                penalties.append(v.penalty)
        if run.spec.fallback is not None:
            seen = proxy.traffic.count(proxy=run.spec.fallback, since=run.window[0],
                                       until=run.window[1])
            m["fallback_calls"] = seen
            fb = run.spec.fallback
            checks.append(Check(f"integration.{name}.failover", seen > 0, seen, "> 0",
                                "requests", f"fallback upstream {fb!r} received {seen} requests"
                                if seen else f"failover not exercised: fallback upstream "
                                f"{fb!r} saw no traffic while {name} fired"))
            if not seen:
                penalties.append("no_failover")
        score = rate * 100
        if outcomes["hang"] or run.recovery_s is None:
            score = 0.0
        elif penalties:
            score = min(score, 50.0)
        m["score"], m["penalties"] = round(score, 1), penalties
        for check in checks[1:]:  # counts of what happened in this run
            attach_exact(check)
        return m, checks

    def _score(self, ctx: SuiteContext, proxy: ChaosProxy, runs: list[_ToxicRun],
               leftover: list[str]) -> LayerResult:
        rows, checks, failing = [], [], []
        for run in runs:
            row, toxic_checks = self._toxic_checks(run, proxy)
            rows.append(row)
            checks += toxic_checks
            for o in [*run.fault, *run.recovery]:
                if o.outcome in run.toxic.acceptable:
                    continue
                r = o.result
                why = o.finding or (f"not recovered after {condition(run.toxic)}"
                                    if r.variant.endswith(".recovery") else o.outcome)
                detail = f"{r.error_class}: {r.error}" if r.error_class else \
                    f"answer {r.output[:80]!r}"
                failing.append(FailingCase(r.case_id, r.variant, r.input, r.output,
                                           f"{why} ({o.outcome}; {detail})",
                                           reproduce_command(ctx.run_id, r)))
        rollback = Check("integration.rollback", not leftover, len(leftover), "== 0", "toxics",
                         "every toxic removed" if not leftover else
                         f"toxics still active: {', '.join(leftover)}")
        measured = [r for r in rows if r["exercised"]]
        if not measured:
            return LayerResult(3, None, {"toxics": len(rows), "exercised": 0},
                               [*checks, rollback], failing,
                               note="not measured: no fault was exercised (no toxic fired)",
                               details={"faults": rows})
        mean_rate = statistics.fmean(r["success_rate"] for r in measured)
        rate_iv, score_iv = [], []
        for row in measured:
            rate, sc = toxic_interval(row["case_scores"], Penalty(
                zero=bool(row["outcomes"]["hang"]) or not row["recovered"],
                cap=0.5 if row["penalties"] else None), len(measured))
            row["score_ci_low"], row["score_ci_high"] = sc.low * 100, sc.high * 100
            rate_iv.append(rate)
            score_iv.append(sc)
        per_case: dict[str, list[float]] = {}
        for row in measured:
            for case, v in row["case_scores"].items():
                per_case.setdefault(case, []).append(v)
        layer_iv = layer_interval(score_iv, len(per_case))
        rate_layer = layer_interval(rate_iv, len(per_case))
        total = sum(r["requests"] for r in rows) or 1
        all_counts = {k: sum(r["outcomes"][k] for r in rows) for k in OUTCOMES}
        unrecovered = [r["toxic"] for r in measured if not r["recovered"]]
        cfg = self.config
        ri = rate_layer.interval
        overall = Check("integration.success_rate", mean_rate >= cfg.min_success_rate,
                        mean_rate, f">= {cfg.min_success_rate:g}", "ratio",
                        f"mean success rate under {len(measured)} exercised faults: "
                        f"{mean_rate:.0%} (95% CI {ri.low:.2f}-{ri.high:.2f}, {len(per_case)} "
                        "cases)", interval=ri,
                        decided=rate_layer.decided(cfg.min_success_rate))
        checks += [
            overall,
            attach_exact(Check(
                "integration.recovered", not unrecovered, len(measured) - len(unrecovered),
                f"== {len(measured)}", "toxics",
                "recovered after every fault" if not unrecovered else
                f"not recovered after: {', '.join(unrecovered)}")),
            attach_exact(rollback),
        ]
        metrics: dict[str, Any] = {
            "success_rate": mean_rate, "toxics": len(rows), "exercised": len(measured),
            "hang_rate": all_counts["hang"] / total, "crash_rate": all_counts["crash"] / total,
            "error_rate": all_counts["error"] / total, "outcomes": all_counts,
            "recovered": not unrecovered,
            "findings": [f"{r['toxic']}: {f}" for r in rows for f in r["findings"]],
            "per_toxic": {r["toxic"]: r for r in rows},
        }
        score = round(statistics.fmean(r["score"] for r in measured), 1)
        amplifications = [r["retry_amplification"] for r in rows
                          if isinstance(r.get("retry_amplification"), int | float)]
        if amplifications:
            ctx.facts["retry_amplification"] = max(amplifications)
        metrics.update(score_ci_low=layer_iv.interval.low * 100,
                       score_ci_high=layer_iv.interval.high * 100, cases=len(per_case),
                       interval_method=layer_iv.interval.method)
        failing.sort(key=lambda f: ("recovery" in f.variant, f.variant))
        layer = LayerResult(3, score, metrics, checks, failing[:50], details={"faults": rows},
                            interval=layer_iv.scaled(), grade_range=layer_iv.grade_range,
                            case_scores={k: sum(v) / len(v) for k, v in per_case.items()})
        case_caution(layer, len(per_case))
        return layer


def outcome_scores(observations: list[Observation], acceptable: tuple[str, ...] | list[str]
                   ) -> dict[str, float]:
    """Case id -> share of that case's requests under the fault with an acceptable outcome."""
    by: dict[str, list[bool]] = {}
    for o in observations:
        by.setdefault(o.result.case_id, []).append(o.outcome in acceptable)
    return {k: sum(v) / len(v) for k, v in by.items()}
