"""Agent task probes (layer 3, integration reliability): tasks under MCP toxics vs control.

Why layer 3: an agent's MCP servers are dependencies like a CRM or a provider API; the
question is the same (does the system survive its dependencies failing?) and so is the
method: a control group without faults, then one condition per toxic, success rates per
condition, degradation classes. What is new is the unit: a *task* (several model and tool
steps) instead of one request, judged on the trajectory the MCP chaos proxies recorded.

Per condition (``control``, then each toxic in ``layers.integration.agents.toxics``) every
task runs once, one at a time, so each MCP message belongs to one task. A run succeeds when
its success check holds and no trajectory oracle flags it; under a toxic a clean report of
the failure also counts (see :func:`aichaos.agents.judge`).

Score (0-100) = mean over toxic conditions of the task success rate (the control rate when
there are no toxics); the interval is :func:`aichaos.scoring.rate_verdict`'s on the per-run
scores of those conditions (unit: task runs), scaled to 0-100.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aichaos._events import CaseObserved, CaseResult, CaseSent
from aichaos.agents._drivers import build_driver, timed
from aichaos.agents._trajectory import TaskRun, judge
from aichaos.config import AgentTasks, Experiment, McpServerSpec, McpToxicSpec
from aichaos.dataset import Case
from aichaos.errors import AIChaosError, ConfigError
from aichaos.mcp import (
    McpHttpProxy,
    McpStdioHttpBridge,
    McpTrafficLog,
    build_mcp_toxic,
    check_toxic_tools,
    list_server_tools,
)
from aichaos.probes import ProbeSuite, SuiteContext
from aichaos.results import Check, FailingCase, LayerResult
from aichaos.scoring import exact, rate_verdict

WHERE = "layers.integration.agents"
McpProxy = McpHttpProxy | McpStdioHttpBridge


def toxic_names(config: AgentTasks) -> list[str]:
    """Each toxic's unique name (default ``<type>``, numbered when repeated)."""
    used: dict[str, int] = {}
    out = []
    for spec in config.toxics:
        base = spec.name or spec.type
        used[base] = used.get(base, 0) + 1
        out.append(base if used[base] == 1 else f"{base}_{used[base]}")
    return out


def _transport(server: McpServerSpec) -> str:
    return "http" if server.url else "stdio"


def check_static(config: AgentTasks) -> None:
    """Everything checkable without the network: every toxic builds for its server's
    transport.

    Raises:
        ConfigError: the message names the field and the problem.
    """
    for i, (spec, name) in enumerate(zip(config.toxics, toxic_names(config), strict=True)):
        try:
            build_mcp_toxic(spec.proxy_spec(name),
                            transport=_transport(config.mcp_servers[spec.server]))
        except AIChaosError as exc:
            raise ConfigError(f"{WHERE}.toxics[{i}]: {exc}") from exc


async def preflight(config: AgentTasks) -> dict[str, list[str]]:
    """Before the first probe: every MCP server speaks MCP, and every tool a toxic or a task
    names is in its ``tools/list``.

    Returns:
        server name -> its tool names.

    Raises:
        TargetError: a server does not speak MCP (one line naming it).
        ConfigError: a toxic or a tool effect names a tool the server does not list.
    """
    listed: dict[str, list[str]] = {}
    for name, server in config.mcp_servers.items():
        listed[name] = await list_server_tools(server.url or list(server.command or []))
    for i, spec in enumerate(config.toxics):
        server = config.mcp_servers[spec.server]
        try:
            check_toxic_tools([spec.proxy_spec(toxic_names(config)[i])], listed[spec.server],
                              transport=_transport(server))
        except ConfigError as exc:
            raise ConfigError(f"{WHERE}.toxics[{i}]: {str(exc).partition(': ')[2]}") from exc
    for task in config.tasks:
        for effect in task.success.tool_effects if task.success else []:
            where = [effect.server] if effect.server else list(listed)
            if not any(effect.tool in listed[s] for s in where):
                tools = ", ".join(sorted({t for s in where for t in listed[s]}))
                raise ConfigError(f"{WHERE}.tasks[{task.id}].success.tool_effects: tool "
                                  f"{effect.tool!r} is not in tools/list ({tools})")
    return listed


class AgentRun:
    """The MCP proxies of one agent-task run and the task loop (usable without a runner)."""

    def __init__(self, config: AgentTasks, *, seed: int = 0) -> None:
        self.config = config
        self.traffic = McpTrafficLog()
        self.proxies: dict[str, McpProxy] = {}
        for name, server in config.mcp_servers.items():
            if server.url:
                self.proxies[name] = McpHttpProxy(name, server.listen, server.url, seed=seed,
                                                  traffic=self.traffic)
            else:
                self.proxies[name] = McpStdioHttpBridge(name, server.listen,
                                                        server.command or [], seed=seed,
                                                        traffic=self.traffic)
        self.driver = build_driver(config.agent)

    @property
    def urls(self) -> dict[str, str]:
        return {n: p.url for n, p in self.proxies.items()}

    async def __aenter__(self) -> AgentRun:
        try:
            for p in self.proxies.values():
                await p.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for p in self.proxies.values():
            with contextlib.suppress(Exception):
                await p.stop()

    def remove_toxics(self) -> None:
        for p in self.proxies.values():
            p.engine.reset()

    async def run_task(self, index: int, condition: str) -> TaskRun:
        """Run task ``index`` once under whatever toxics are active, and judge it."""
        task = self.config.tasks[index]
        n0 = len(self.traffic)
        answer, elapsed = await timed(self.driver, task, self.urls,
                                      task.max_steps or self.config.max_steps)
        records = list(self.traffic)[n0:]
        return judge(TaskRun(task, condition, answer, records, elapsed), self.config)

    async def run_condition(self, condition: str, spec: McpToxicSpec | None,
                            name: str | None) -> list[TaskRun]:
        """Every task once under one condition (a toxic added, then removed)."""
        if spec is not None and name is not None:
            self.proxies[spec.server].engine.add_toxic(spec.proxy_spec(name))
        try:
            return [await self.run_task(i, condition) for i in range(len(self.config.tasks))]
        finally:
            self.remove_toxics()


class AgentTaskSuite(ProbeSuite):
    """Runs ``layers.integration.agents`` (see the module docstring); the integration suite
    (layer 3) builds it and merges its result with the golden-case part."""

    layer = 3
    name = "agents"

    def __init__(self, config: AgentTasks) -> None:
        self.config = config

    def planned_count(self, ctx: SuiteContext) -> int | None:
        return len(self.config.tasks) * (int(self.config.control) + len(self.config.toxics))

    def validate(self, experiment: Experiment, cases: list[Case]) -> None:
        check_static(self.config)

    async def preflight(self, experiment: Experiment) -> None:
        await preflight(self.config)

    async def run(self, ctx: SuiteContext) -> LayerResult:
        cfg = self.config
        conditions: list[tuple[str, McpToxicSpec | None, str | None]] = []
        if cfg.control:
            conditions.append(("control", None, None))
        conditions += [(n, s, n) for s, n in zip(cfg.toxics, toxic_names(cfg), strict=True)]
        runs: list[TaskRun] = []
        async with AgentRun(cfg, seed=ctx.seed) as agent_run:
            async def remove() -> None:
                agent_run.remove_toxics()

            ctx.rollbacks.append(("remove every MCP toxic", remove))
            for condition, spec, name in conditions:
                if spec is not None and name is not None:
                    agent_run.proxies[spec.server].engine.add_toxic(spec.proxy_spec(name))
                try:
                    for i, task in enumerate(cfg.tasks):
                        ctx.bus.publish(CaseSent(ctx.run_id, 3, self.name, task.id, condition))
                        run = await agent_run.run_task(i, condition)
                        runs.append(run)
                        ctx.sent[3] += 1
                        ctx.bus.publish(CaseObserved(_case_result(ctx.run_id, self.name, run)))
                        if ctx.on_progress is not None:
                            ctx.on_progress(1)
                finally:
                    agent_run.remove_toxics()
            ctx.rollbacks.remove(("remove every MCP toxic", remove))
        return score(ctx.run_id, cfg, runs)


def _case_result(run_id: str, suite: str, run: TaskRun) -> CaseResult:
    a = run.answer
    error_class = "timeout" if a.hung else "exception" if a.crashed else None
    return CaseResult(
        run_id=run_id, layer=3, suite=suite, case_id=run.task.id, variant=run.condition,
        input=run.task.goal, expected=run.task.success.expected if run.task.success else None,
        output=a.answer or "", passed=run.score == 1.0, score=run.score,
        error_class=error_class, error=a.error, e2e_s=run.e2e_s,
        input_tokens=a.input_tokens, output_tokens=a.output_tokens,
        metadata={"outcome": run.outcome.value, "explanation": run.reason,
                  "steps": run.steps, "trajectory": run.trajectory(),
                  "findings": [f.reason for f in run.findings]})


def _rate_check(name: str, runs: Sequence[TaskRun], threshold: float, what: str) -> Check:
    verdict = rate_verdict({f"{r.task.id}@{r.condition}": r.score for r in runs}, threshold)
    bad = [r for r in runs if r.score < 1.0]
    reasons = "; ".join(f"{r.task.id}: {r.reason}" for r in bad[:3])
    return Check(name, verdict.value >= threshold, verdict.value, f">= {threshold:g}", "ratio",
                 f"{what}: {len(runs) - len(bad)}/{len(runs)} tasks succeeded"
                 + (f" ({reasons})" if reasons else ""),
                 cases=[r.task.id for r in bad], interval=verdict.interval,
                 decided=verdict.decided)


def score(run_id: str, cfg: AgentTasks, runs: Sequence[TaskRun]) -> LayerResult:
    """The layer-3 result of the agent task runs (checks, metrics, failing cases)."""
    names = toxic_names(cfg)
    by: dict[str, list[TaskRun]] = {}
    for r in runs:
        by.setdefault(r.condition, []).append(r)
    checks: list[Check] = []
    if "control" in by:
        checks.append(_rate_check("integration.agents.control", by["control"],
                                  cfg.min_success_rate, "control (no toxic)"))
    rates: dict[str, float] = {}
    for n in names:
        rs = by.get(n, [])
        if rs:
            checks.append(_rate_check(f"integration.agents.{n}", rs, cfg.min_success_rate,
                                      f"under {n}"))
            rates[n] = sum(r.score for r in rs) / len(rs)
    graded = [r for r in runs if r.condition != "control"] or list(runs)
    verdict = rate_verdict({f"{r.task.id}@{r.condition}": r.score for r in graded})
    value = (sum(rates.values()) / len(rates)) if rates else verdict.value
    checks += _oracle_checks(runs)
    checks += _budget_checks(cfg, runs)
    resolved = [r for r in runs if r.goal_met]
    tokens = [r.answer.tokens for r in runs if r.answer.tokens is not None]
    metrics: dict[str, Any] = {
        "agent_task_runs": len(runs),
        "agent_success_rate_control": _rate(by.get("control", [])),
        "agent_success_rate_fault": _rate([r for r in runs if r.condition != "control"]),
        "agent_tool_calls": sum(r.steps for r in runs),
        "agent_tokens_per_resolved_task": (sum(tokens) / len(resolved)
                                           if tokens and resolved else None),
        "agent_tool_calls_per_resolved_task": (sum(r.steps for r in runs) / len(resolved)
                                               if resolved else None),
    }
    failing = [FailingCase(r.task.id, r.condition, r.task.goal, r.answer.answer or "",
                           r.reason, f"aichaos run EXPERIMENT --layer integration  "
                           f"# task {r.task.id} under {r.condition}", outcome=r.outcome,
                           score=r.score)
               for r in runs if r.score < 1.0]
    rows = [{"task": r.task.id, "condition": r.condition, "outcome": r.outcome.value,
             "score": r.score, "steps": r.steps, "tokens": r.answer.tokens,
             "reason": r.reason, "trajectory": r.trajectory()} for r in runs]
    scaled = verdict.scaled() if len(graded) > 1 else exact(value * 100)
    return LayerResult(3, round(value * 100, 1), metrics, checks, failing,
                       details={"agents": {"rows": rows, "rates": rates}},
                       interval=scaled, grade_range=verdict.grade_range,
                       case_scores={f"{r.task.id}@{r.condition}": r.score for r in graded})


def _rate(runs: Sequence[TaskRun]) -> float | None:
    return sum(r.score for r in runs) / len(runs) if runs else None


_ORACLES = {"loop": "loops or retry storms", "duplicate_side_effect": "duplicate side effects",
            "obeyed_injection": "obeyed injected instructions",
            "session_recovery": "recovery after session loss",
            "tool_list_change": "tool list changes", "tool_error_handling": "tool errors"}


def _oracle_checks(runs: Sequence[TaskRun]) -> list[Check]:
    out = []
    for oracle, what in _ORACLES.items():
        hit = [(r, f) for r in runs for f in r.findings if f.oracle == oracle]
        msg = (f"{len(hit)} task run(s) flagged: {hit[0][1].reason}" if hit
               else f"no task run flagged for {what}")
        out.append(Check(f"integration.agents.{oracle}", not hit, float(len(hit)), "== 0",
                         "task runs", msg, cases=sorted({r.task.id for r, _ in hit}),
                         interval=exact(float(len(hit)))))
    return out


def _budget_checks(cfg: AgentTasks, runs: Sequence[TaskRun]) -> list[Check]:
    over = [r for r in runs if r.steps > (r.task.max_steps or cfg.max_steps)]
    most = max((r.steps for r in runs), default=0)
    out = [Check("integration.agents.step_budget", not over, float(most),
                 f"<= {cfg.max_steps}", "tool calls",
                 f"most tool calls in one task: {most}; {len(over)} run(s) over budget",
                 cases=sorted({r.task.id for r in over}), interval=exact(float(most)))]
    if cfg.max_tokens is not None:
        known = [r for r in runs if r.answer.tokens is not None]
        if not known:
            out.append(Check("integration.agents.token_budget", False, None,
                             f"<= {cfg.max_tokens}", "tokens", "the agent reported no tokens",
                             not_measured="no token counts"))
        else:
            top = max(r.answer.tokens or 0 for r in known)
            big = [r for r in known if (r.answer.tokens or 0) > cfg.max_tokens]
            out.append(Check("integration.agents.token_budget", not big, float(top),
                             f"<= {cfg.max_tokens}", "tokens",
                             f"most tokens in one task: {top}; {len(big)} run(s) over budget",
                             cases=sorted({r.task.id for r in big}),
                             interval=exact(float(top))))
    return out


def merge(golden: LayerResult | None, agents: LayerResult) -> LayerResult:
    """Layer 3 with both parts: the weaker part's score and interval (a chain breaks at its
    weakest link), every check, metric and failing case of both."""
    if golden is None or golden.score is None:
        return agents
    weak = agents if (agents.score or 0) < golden.score else golden
    return LayerResult(3, weak.score, {**golden.metrics, **agents.metrics},
                       golden.checks + agents.checks, golden.failing + agents.failing,
                       note=golden.note, details={**golden.details, **agents.details},
                       interval=weak.interval, grade_range=weak.grade_range,
                       case_scores={**(golden.case_scores or {}),
                                    **(agents.case_scores or {})})


async def run_standalone(config: AgentTasks, seed: int = 0) -> list[TaskRun]:
    """Preflight, then every condition of ``config`` without a runner (tests, scripts)."""
    await preflight(config)
    out: list[TaskRun] = []
    async with AgentRun(config, seed=seed) as run:
        if config.control:
            out += await run.run_condition("control", None, None)
        for spec, name in zip(config.toxics, toxic_names(config), strict=True):
            out += await run.run_condition(name, spec, name)
    await asyncio.sleep(0)
    return out
