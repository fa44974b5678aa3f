"""One agent task run and its judgement: the trajectory recorded by the MCP chaos proxies,
the success check (final-answer scorer and required tool effects) and the trajectory oracles.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aichaos.config import AgentTask, AgentTasks, ScorerSpec, ToolEffect
from aichaos.dataset import Case
from aichaos.errors import AIChaosError
from aichaos.mcp import (
    Finding,
    McpRecord,
    duplicate_side_effects,
    loops,
    mcp_toxic_class,
    obeyed_injection,
    session_recovery,
    tool_error_handling,
    tool_list_change,
)
from aichaos.results import Outcome
from aichaos.scoring import build_scorer

#: an answer that says the step failed (the oracles' rule, shared): a clean error
REPORTED = re.compile(r"error|fail|unavailable|could not|cannot|unable|escalat", re.I)
#: records whose server acted on the call: answered, or answered and the answer dropped
_ACTED = frozenset({"ok", "no_response"})
#: the argument that carries an idempotency key (the oracles' default)
IDEMPOTENCY_KEY = "idempotency_key"


@dataclass(slots=True)
class AgentAnswer:
    """What an agent driver returns for one task.

    Attributes:
        answer: the final answer text, or None when the agent gave none.
        crashed: the agent raised (``error`` says what).
        hung: no answer within the agent's ``timeout_s``.
        error: one line, or None.
        input_tokens, output_tokens: tokens the agent reported (None when unknown).
        model_steps: model calls made (aichaos-driven loops), else None.
    """

    answer: str | None = None
    crashed: bool = False
    hung: bool = False
    error: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    model_steps: int | None = None

    @property
    def tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass(slots=True)
class TaskRun:
    """One task under one condition, judged.

    Attributes:
        task: the task.
        condition: ``control`` or the toxic's name.
        answer: what the agent returned.
        records: the MCP traffic of this run, in arrival order (every proxy).
        e2e_s: wall time of the run, seconds.
        goal_met: the success check held.
        outcome: the outcome class (:class:`aichaos.results.Outcome`).
        score: 1.0 when the run counts as a success, else 0.0.
        reason: one line saying why it failed (or passed).
        findings: the flagged oracle findings.
    """

    task: AgentTask
    condition: str
    answer: AgentAnswer
    records: list[McpRecord]
    e2e_s: float
    goal_met: bool = False
    outcome: Outcome = Outcome.CRASH
    score: float = 0.0
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def tool_calls(self) -> list[McpRecord]:
        return [r for r in self.records if r.direction == "client" and r.method == "tools/call"]

    @property
    def steps(self) -> int:
        """Tool calls made (the step count the budget bounds)."""
        return len(self.tool_calls)

    def trajectory(self) -> list[dict[str, Any]]:
        """The tool calls in order: server, tool, arguments, outcome, result text (clipped)."""
        return [{"server": r.proxy, "tool": r.tool, "arguments": r.arguments,
                 "outcome": r.outcome, "toxics": r.toxic_types,
                 "result": (r.result_text or "")[:200]} for r in self.tool_calls]


def _contains(args: dict[str, Any] | None, want: dict[str, Any]) -> bool:
    args = args or {}
    return all(k in args and args[k] == v for k, v in want.items())


def effect_count(records: Sequence[McpRecord], effect: ToolEffect,
                 key: str = IDEMPOTENCY_KEY) -> int:
    """How many calls matching ``effect`` reached its server and were acted on; calls that
    share one non-empty idempotency key (argument ``key``) count once (the server
    deduplicates them)."""
    keys: set[str] = set()
    n = 0
    for r in records:
        if not (r.direction == "client" and r.method == "tools/call" and r.tool == effect.tool
                and r.forwarded and r.outcome in _ACTED
                and (effect.server is None or r.proxy == effect.server)
                and _contains(r.arguments, effect.arguments)):
            continue
        k = (r.arguments or {}).get(key)
        if k:
            if k in keys:
                continue
            keys.add(str(k))
        n += 1
    return n


def check_effects(task: AgentTask, records: Sequence[McpRecord]) -> list[str]:
    """The required tool effects that did not hold, one line each (empty when all held)."""
    out = []
    for e in task.success.tool_effects if task.success else []:
        n = effect_count(records, e)
        if n < e.min or (e.max is not None and n > e.max):
            want = f"{e.min}..{e.max}" if e.max is not None else f">= {e.min}"
            args = json.dumps(e.arguments, sort_keys=True) if e.arguments else ""
            out.append(f"{e.tool}({args}) took effect {n} times, expected {want}")
    return out


def check_answer(task: AgentTask, answer: str | None) -> str | None:
    """None when the final-answer check holds (or there is none), else one line."""
    check = task.success
    if check is None or (check.answer is None and check.expected is None):
        return None
    if answer is None:
        return "no final answer"
    scorer = build_scorer(check.answer or ScorerSpec(type="contains"))
    verdict = scorer.score(answer, Case(id=task.id, input=task.goal, expected=check.expected))
    if verdict.passed:
        return None
    return f"final answer failed the {scorer.name} check: {answer[:120]!r}"


def oracle_findings(records: Sequence[McpRecord], answer: AgentAnswer,
                    config: AgentTasks, task: AgentTask | None = None) -> list[Finding]:
    """The flagged findings of every trajectory oracle on one run (the tools ``task``'s
    success check requires are not taken for obeying an injection unless they carry its
    canary)."""
    expected_tools = {e.tool for e in task.success.tool_effects if e.min > 0} \
        if task is not None and task.success else set()
    side = {t for s in config.mcp_servers.values() for t in s.side_effecting}
    found: list[Finding] = []
    found += loops(records, config.max_repeats)
    found += duplicate_side_effects(records, side)
    found += obeyed_injection(records, expected_tools=expected_tools)
    found += session_recovery(records)
    found += tool_list_change(records)
    found += tool_error_handling(records, crashed=answer.crashed or answer.hung,
                                 answer=answer.answer)
    return [f for f in found if f.flagged]


def judge(run: TaskRun, config: AgentTasks) -> TaskRun:
    """Fill in ``run``'s verdict.

    A run succeeds when the success check holds and no oracle flags its trajectory. Under a
    toxic, an answer that reports the failure (a clean error) with no flagged finding and no
    tool effect beyond its bounds also counts as a success (graceful degradation, as layer 3
    counts a fallback); under control it does not.
    """
    a = run.answer
    run.findings = _toxic_first(oracle_findings(run.records, a, config, run.task),
                                run.records)
    effects = check_effects(run.task, run.records)
    wrong_answer = check_answer(run.task, a.answer)
    run.goal_met = not a.crashed and not a.hung and not effects and wrong_answer is None
    over = [e for e in effects if _exceeds(e)]
    if a.hung:
        run.outcome, run.reason = Outcome.HANG, a.error or "no answer in time"
    elif a.crashed:
        run.outcome, run.reason = Outcome.CRASH, f"agent crashed: {a.error}"
    elif run.findings:
        run.outcome, run.reason = Outcome.SILENT_FAILURE, run.findings[0].reason
    elif run.goal_met:
        run.outcome, run.reason = Outcome.CORRECT, "goal met"
    elif a.answer and REPORTED.search(a.answer) and not over:
        run.outcome = Outcome.CLEAN_ERROR
        run.reason = f"reported the failure: {a.answer[:120]!r}"
    else:
        run.outcome = Outcome.SILENT_FAILURE
        run.reason = "; ".join(effects + ([wrong_answer] if wrong_answer else []))
    graceful = run.condition != "control" and run.outcome is Outcome.CLEAN_ERROR
    run.score = 1.0 if run.outcome is Outcome.CORRECT or graceful else 0.0
    return run


def _exceeds(line: str) -> bool:
    match = re.search(r"took effect (\d+) times, expected (\d+)\.\.(\d+)", line)
    return match is not None and int(match.group(1)) > int(match.group(3))


def _toxic_first(findings: list[Finding], records: Sequence[McpRecord]) -> list[Finding]:
    """``findings`` with those of the oracles that judge the toxics that fired first (the
    reason a run failed is its own toxic's)."""
    wanted: set[str] = set()
    for t in {t for r in records for t in r.toxic_types}:
        with contextlib.suppress(AIChaosError):
            wanted |= {o.removesuffix("s") for o in mcp_toxic_class(t).oracles}
    return sorted(findings, key=lambda f: f.oracle not in wanted)
