"""Timeouts that really fire on streams (layer 3): the system's declared budgets under slow
first tokens, stalls and slow tokens.

``layers.integration.stream_budgets`` declares the system's budgets (TTFT, idle, total, in
seconds; :class:`aichaos.config.StreamBudgets`). For each declared budget the probe adds one
toxic to the LLM dependency's proxy, sends one golden case through the system, and measures
at the client when the system gave up (its answer's E2E, seconds from the send):

========================  ===========================================  =====================
condition                 toxic (delay = ``delay_factor`` x budget)    gives up by
========================  ===========================================  =====================
``ttft``                  ``slow_ttft{delay}``                         ``ttft_s``
``idle_after_1``          ``stream_stall{after_events: 1, duration}``  ``control + idle_s``
``idle_after_3``          ``stream_stall{after_events: 3, duration}``  ``control + idle_s``
``total``                 ``token_rate`` with gaps of half the idle    ``total_s``
                          budget (a quarter of ``total_s`` without
                          one), so only the deadline can fire
========================  ===========================================  =====================

``control`` is the E2E of the same case without a toxic (an upper bound of the time the stall
point is reached). Each check ``integration.stream.<condition>`` passes when the system
answered by its bound plus ``tolerance_s``; it fails when it answered later, and says *the
timeout fired only after the late chunk arrived* when the answer came after the delayed chunk
was due (the system waited for the chunk, then judged it late), or that it *did not give up*
when it served the late answer. A budget not declared is *not measured* with the reason; the
``total`` condition is not measured when the slowed stream still ended within the deadline
(nothing could exercise it). A single request per condition: the check is a timing
measurement against a bound, not a rate (the interval is ``exact``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

from aichaos.config import IntegrationLayer, StreamBudgets
from aichaos.faults import build_toxic
from aichaos.probes._base import SuiteContext
from aichaos.proxy import ChaosProxy
from aichaos.results import Check, FailingCase, LayerResult
from aichaos.scoring import exact
from aichaos.targets import NO_CACHE, Target, TargetRequest


@dataclass(slots=True)
class StreamTrial:
    """One condition and what the system did under it.

    Attributes:
        condition: ``ttft``, ``idle_after_1``, ``idle_after_3`` or ``total``.
        toxic: the Toxiproxy-shaped toxic applied.
        budget_s: the declared budget it tests; ``bound_s``: the give-up time allowed
            (budget plus the control's E2E for stalls), before tolerance.
        late_chunk_s: when the delayed chunk was due, seconds from the send.
        gave_up_s: the system's answer E2E, seconds (None: no answer before the client cap).
        outcome: ``served`` (2xx, the control's answer: the slowed stream was served),
            ``fallback`` (2xx, another answer), ``error`` (an error status) or ``hang``.
        verdict: ``within_budget``, ``fired_after_late_chunk``, ``late``, ``never_gave_up``,
            ``hang`` or ``not_exercised``.
    """

    condition: str
    toxic: dict[str, Any]
    budget_s: float
    bound_s: float
    late_chunk_s: float
    gave_up_s: float | None = None
    outcome: str = ""
    status: int | None = None
    output: str = ""
    verdict: str = ""


def _conditions(b: StreamBudgets, control_s: float) -> list[tuple[str, float | None,
                                                                   dict[str, Any], float,
                                                                   float]]:
    """(condition, budget, toxic, bound, late chunk due) per condition."""
    f = b.delay_factor
    out: list[tuple[str, float | None, dict[str, Any], float, float]] = []
    ttft = b.ttft_s
    out.append(("ttft", ttft, {"type": "slow_ttft", "attributes": {
        "delay": int((ttft or 0) * f * 1000)}}, ttft or 0.0, (ttft or 0) * f))
    for k in (1, 3):
        idle = b.idle_s
        out.append((f"idle_after_{k}", idle, {"type": "stream_stall", "attributes": {
            "after_events": k, "duration": int((idle or 0) * f * 1000)}},
            control_s + (idle or 0), (idle or 0) * f))
    total = b.total_s
    gap = min(b.idle_s / 2 if b.idle_s else (total or 1) / 4, (total or 1) / 4)
    out.append(("total", total, {"type": "token_rate", "attributes": {
        "tokens_per_s": round(1 / gap, 6)}}, total or 0.0, (total or 0) * f))
    return out


async def _timed(target: Target, request: TargetRequest, cap_s: float
                 ) -> tuple[float | None, Any]:
    start = time.monotonic()
    try:
        resp = await asyncio.wait_for(target.send(request), cap_s)
    except TimeoutError:
        return None, None
    return time.monotonic() - start, resp


def _judge(trial: StreamTrial, tolerance_s: float) -> str:
    if trial.gave_up_s is None:
        return "hang"
    if trial.gave_up_s <= trial.bound_s + tolerance_s:
        return "within_budget"
    if trial.outcome == "served":
        return "never_gave_up"
    if trial.gave_up_s >= trial.late_chunk_s - tolerance_s:
        return "fired_after_late_chunk"
    return "late"


async def run_stream_trials(ctx: SuiteContext, proxy: ChaosProxy, budgets: StreamBudgets
                            ) -> tuple[float, list[StreamTrial]]:
    """The control E2E and one trial per condition with a declared budget (module doc)."""
    case = next(c for c in ctx.cases if c.input.strip())
    request = ctx.plan(case, "stream_budget", headers=NO_CACHE).request
    caps = [v for v in (budgets.ttft_s, budgets.idle_s, budgets.total_s) if v]
    cap = max(caps) * (budgets.delay_factor + 1) + budgets.tolerance_s + 5.0
    control_s, first = await _timed(ctx.target, request, cap)
    control = control_s or 0.0
    served = first.output if first is not None and first.ok else None
    trials: list[StreamTrial] = []
    for condition, budget, toxic, bound, late in _conditions(budgets, control):
        if budget is None:
            continue
        name = f"stream_budget_{condition}"
        spec = {"name": name, "stream": "downstream", "toxicity": 1.0, **toxic}
        trial = StreamTrial(condition, spec, budget, round(bound, 4), round(late, 4))
        proxy.add_toxic(budgets.dependency, build_toxic(spec))
        try:
            ctx.sent[3] += 1
            gave_up, resp = await _timed(ctx.target, request, cap)
        finally:
            proxy.remove_toxic(budgets.dependency, name)
        trial.gave_up_s = None if gave_up is None else round(gave_up, 4)
        if resp is None:
            trial.outcome = "hang"
        else:
            trial.outcome = ("error" if not resp.ok else "served"
                             if served is not None and resp.output == served else "fallback")
            trial.status, trial.output = resp.status, (resp.output or resp.error or "")[:200]
        trial.verdict = _judge(trial, budgets.tolerance_s)
        if condition == "total" and trial.verdict == "within_budget" and \
                trial.outcome == "served":
            trial.verdict = "not_exercised"  # the slowed stream ended within the deadline
        trials.append(trial)
        await asyncio.sleep(0.05)  # released requests finish before the next condition
    return control, trials


_WHY = {
    "fired_after_late_chunk": "the timeout fired only after the late chunk arrived",
    "never_gave_up": "did not give up: waited for the slowed stream and served it late",
    "late": "gave up after its budget",
    "hang": "no answer before the client gave up",
}


def stream_checks(budgets: StreamBudgets, control_s: float, trials: list[StreamTrial],
                  url: str = "EXPERIMENT") -> tuple[list[Check], list[FailingCase]]:
    """``integration.stream.<condition>`` checks and failing cases (module doc)."""
    checks, failing = [], []
    done = {t.condition for t in trials}
    for condition, field in (("ttft", "ttft_s"), ("idle_after_1", "idle_s"),
                             ("idle_after_3", "idle_s"), ("total", "total_s")):
        if condition not in done:
            reason = (f"not measured: declare layers.integration.stream_budgets.{field} "
                      "(the system's own budget) to test it")
            checks.append(Check(f"integration.stream.{condition}", False, None, "", "s",
                                reason, not_measured=reason))
    tol = budgets.tolerance_s
    for t in trials:
        name = f"integration.stream.{t.condition}"
        toxic = f"{t.toxic['type']}{t.toxic['attributes']}"
        if t.verdict == "not_exercised":
            reason = (f"not measured: under {toxic} the stream still ended in "
                      f"{t.gave_up_s:.3g} s, within the {t.budget_s:g} s deadline")
            checks.append(Check(name, False, t.gave_up_s, f"<= {t.bound_s + tol:.3g}", "s",
                                reason, not_measured=reason))
            continue
        passed = t.verdict == "within_budget"
        got = "no answer" if t.gave_up_s is None else f"answered at {t.gave_up_s:.3g} s"
        message = (f"under {toxic} (late chunk due at {t.late_chunk_s:.3g} s) the system "
                   f"{got} ({t.outcome}{'' if t.status is None else f' {t.status}'}); "
                   f"budget {t.budget_s:g} s, bound {t.bound_s:.3g} s + {tol:g} s tolerance"
                   f"{'' if passed else ': ' + _WHY.get(t.verdict, t.verdict)}")
        case_id = f"stream-{t.condition}"
        checks.append(Check(name, passed, t.gave_up_s, f"<= {t.bound_s + tol:.3g}", "s",
                            message, [] if passed else [case_id],
                            interval=None if t.gave_up_s is None else exact(t.gave_up_s),
                            decided=True))
        if not passed:
            failing.append(FailingCase(case_id, t.toxic["type"], f"one golden case under "
                                       f"{toxic}", t.output, _WHY.get(t.verdict, t.verdict),
                                       f"aichaos run {url}"))
    if trials:
        checks[0].message += "" if checks[0].not_measured else f" (control {control_s:.3g} s)"
    return checks, failing


async def with_stream_budgets(ctx: SuiteContext, config: IntegrationLayer,
                              layer: LayerResult) -> LayerResult:
    """Append the stream-budget checks to the integration layer's result (module doc); the
    layer's score is unchanged: each check fails on its own."""
    budgets = config.stream_budgets
    if budgets is None:
        return layer
    if ctx.proxy is None or budgets.dependency not in ctx.proxy.proxies:
        reason = (f"not measured: no chaos proxy in front of dependency "
                  f"{budgets.dependency!r} (layers.integration.stream_budgets.dependency)")
        layer.checks.append(Check("integration.stream", False, None, "", "", reason,
                                  not_measured=reason))
        return layer
    control, trials = await run_stream_trials(ctx, ctx.proxy, budgets)
    checks, failing = stream_checks(budgets, control, trials,
                                    ctx.experiment.source or "EXPERIMENT")
    layer.checks += checks
    layer.failing += failing
    layer.details["stream_budgets"] = {"control_s": control,
                                       "trials": [asdict(t) for t in trials]}
    layer.metrics["stream_give_up_s"] = {t.condition: t.gave_up_s for t in trials}
    return layer
