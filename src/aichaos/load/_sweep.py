"""Rate sweeps with saturation-point (knee) detection.

The knee follows Jain's capacity terms (R. Jain, *The Art of Computer Systems Performance
Analysis*, Wiley 1991, §3.3): past the *knee capacity* throughput stops growing with load
while response time climbs; *usable capacity* is the highest throughput reached without
exceeding a response-time limit. A step is **saturated** when any of these holds:

1. the step's overload tests (:mod:`aichaos.load._overload`) say ``overloaded``: successful
   completions fall short of the scheduled count by an exact Poisson test (p <= 0.01, and
   below ``throughput_ratio`` (0.9) of it), or latency grows within the step (Theil-Sen slope
   on scheduled send time, calibrated by queue simulation). These replace the earlier
   "shortfall > 3 sqrt(N)", which could never fire at N <= 9 scheduled requests and needed 31 %
   of completions missing at N = 100;
2. p95 E2E latency > ``latency_factor`` (default 3) × the baseline p95 — the latency side of
   the knee. The baseline is the lowest p95 of the earlier steps: the least-loaded
   measurement estimates the unloaded latency, and unlike "the first step" it survives a
   first step slowed by cold caches or a noisy neighbour;
3. error rate > ``max_error_rate`` (default 0.05) — failures, e.g. 429s, replace queueing.

A step that is not saturated is ``sustained`` only when its tests had at least 0.9 power
against a 1.25x overload, else ``open`` (``StepResult.overload["verdict"]``). The latency
factor and error-rate thresholds are engineering choices, not standards (3x baseline p95 is a
clear departure from the flat part of the latency curve); all are parameters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from aichaos.config import Slos
from aichaos.errors import ConfigError
from aichaos.load._engine import LoadInput, ProgressCallback, StepSpec, TokenCounter, run_step
from aichaos.load._overload import judge_step, service_sample, size_step
from aichaos.load._results import StepResult, SweepResult
from aichaos.targets import Target

#: ``run_step``-shaped coroutine function: (target, inputs, spec, **options) -> StepResult
StepRunner = Callable[..., Awaitable[StepResult]]


@dataclass(frozen=True, slots=True)
class SaturationRule:
    """Thresholds of the knee rule (see the module docstring for their justification)."""

    throughput_ratio: float = 0.9
    latency_factor: float = 3.0
    max_error_rate: float = 0.05

    def describe(self) -> str:
        """The rule as one line of text."""
        return (
            "saturated when successful completions fall short of the scheduled count "
            f"(exact Poisson test, p <= 0.01, below {self.throughput_ratio:g} x), or latency "
            "grows within the step (Theil-Sen trend, queue-simulation calibrated), "
            f"or p95 E2E > {self.latency_factor:g} x lowest p95 of earlier steps, "
            f"or error rate > {self.max_error_rate:g}"
        )

    def reasons(self, step: StepResult, baseline_p95_s: float | None) -> list[str]:
        """Why ``step`` is saturated (empty list when it is not).

        The overload tests come from ``step.overload`` when the sweep judged the step (both
        tests); otherwise the throughput test alone is run here.

        Args:
            step: the step to judge.
            baseline_p95_s: the unloaded p95 E2E in seconds (None: no latency check).
        """
        out: list[str] = []
        if step.offered_rps:
            if step.overload is None:
                step.overload = judge_step(step, [], trend=False,
                                           ratio=self.throughput_ratio).to_dict()
            out.extend(step.overload["reasons"])
        p95 = step.p("e2e", 95)
        base = baseline_p95_s
        if p95 is not None and base and p95 > self.latency_factor * base:
            out.append(f"p95 E2E {p95:.3g} s > {self.latency_factor:g} x baseline {base:.3g} s")
        if step.error_rate > self.max_error_rate:
            out.append(f"error rate {step.error_rate:.3g} > {self.max_error_rate:g}")
        return out


def mark_saturation(sweep: SweepResult, rule: SaturationRule) -> None:
    """Set ``saturated`` on each step and the sweep's ``knee_rps``/``max_sustainable_rps``."""
    sweep.rule = rule.describe()
    sweep.knee_rps = sweep.max_sustainable_rps = None
    baseline: float | None = None
    for step in sweep.steps:
        step.saturation_reasons = rule.reasons(step, baseline)
        step.saturated = bool(step.saturation_reasons)
        if step.overload is not None:
            step.overload["saturated_by"] = list(step.saturation_reasons)
            step.overload["step_verdict"] = ("overloaded" if step.saturated
                                             else step.overload["verdict"])
        p95 = step.p("e2e", 95)
        if p95 is not None and (baseline is None or p95 < baseline):
            baseline = p95
    for step in sweep.steps:
        if step.saturated:
            sweep.knee_rps = step.offered_rps
            break
        sweep.max_sustainable_rps = step.offered_rps


async def run_sweep(
    target: Target,
    inputs: Sequence[LoadInput],
    rates_rps: Sequence[float],
    spec: StepSpec,
    *,
    slos: Slos | None = None,
    rule: SaturationRule | None = None,
    stop_after_saturated: int = 1,
    token_counter: TokenCounter | None = None,
    token_counter_name: str = "tokenizer",
    progress: ProgressCallback | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    engine: StepRunner | None = None,
    max_duration_s: float | None = None,
    judge: bool = True,
) -> SweepResult:
    """Run one open-loop step per rate, in the order given, stopping once saturated.

    Args:
        target, inputs: as in :func:`run_step`.
        rates_rps: offered rates, req/s (ascending for a meaningful knee).
        spec: profile, duration, warm-up, concurrency of every step (its rate is replaced).
        slos: per-request SLOs for goodput.
        rule: knee thresholds (default :class:`SaturationRule`).
        stop_after_saturated: stop after this many saturated steps (0 runs every rate).
        token_counter, token_counter_name, progress: as in :func:`run_step`.
        on_step: called with each finished step (saturation already marked).
        engine: runs each step; default the local asyncio :func:`run_step`, or a
            :class:`aichaos.load.RayEngine`.
        max_duration_s: the budget of one step, s: each step is lengthened from
            ``spec.duration_s`` (doubling) until its overload tests have 0.9 power at a 1.25x
            overload (:func:`aichaos.load.size_step`) or this cap is reached; None keeps
            ``spec.duration_s``.
        judge: run both overload tests on each step (the trend's calibration runs in a
            worker thread, ~1 s of CPU per step); False: the throughput test alone.

    Returns:
        The :class:`SweepResult`. On cancellation (Ctrl-C) the running step is abandoned and
        the finished steps are returned with ``interrupted=True``; cancellation is not
        propagated further.

    Raises:
        ConfigError: no rates, a non-positive rate, a closed-loop spec.
    """
    if not rates_rps:
        raise ConfigError("load rates_rps: expected at least one rate, got none")
    if spec.profile == "closed":
        raise ConfigError("load profile: a rate sweep needs an open-loop profile, got 'closed'")
    rule = rule or SaturationRule()
    sweep = SweepResult(rule=rule.describe())
    saturated = 0
    for i, rate in enumerate(rates_rps):
        if not rate > 0:
            raise ConfigError(f"load rates_rps[{i}]: expected > 0 req/s, got {rate!r}")
    for i, rate in enumerate(rates_rps):
        service = service_sample(sweep.steps[0]) if sweep.steps else []
        sizing = await asyncio.to_thread(
            size_step, float(rate), service, min_s=spec.duration_s,
            max_s=max(spec.duration_s, max_duration_s or spec.duration_s), seed=spec.seed + i)
        try:
            step = await (engine or run_step)(
                target, inputs, replace(spec, rate_rps=float(rate), duration_s=sizing.duration_s),
                index=i,
                steps=len(rates_rps), slos=slos, token_counter=token_counter,
                token_counter_name=token_counter_name, progress=progress,
            )
        except asyncio.CancelledError:
            sweep.interrupted = True
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            break
        sweep.steps.append(step)
        first = sweep.steps[0]
        verdict = await asyncio.to_thread(
            judge_step, step, service_sample(first) if judge else [],
            trend=judge, seed=spec.seed + i,
            ratio=rule.throughput_ratio)
        step.overload = {**verdict.to_dict(), "sizing": sizing.to_dict()}
        mark_saturation(sweep, rule)
        if on_step is not None:
            on_step(step)
        if step.saturated:
            saturated += 1
            if stop_after_saturated and saturated >= stop_after_saturated:
                sweep.stopped_early = i < len(rates_rps) - 1
                break
    mark_saturation(sweep, rule)
    return sweep
