"""Rate sweeps with saturation-point (knee) detection.

The knee follows Jain's capacity terms (R. Jain, *The Art of Computer Systems Performance
Analysis*, Wiley 1991, §3.3): past the *knee capacity* throughput stops growing with load
while response time climbs; *usable capacity* is the highest throughput reached without
exceeding a response-time limit. A step is **saturated** when any of these holds:

1. achieved throughput < ``throughput_ratio`` (default 0.9) × the rate actually scheduled in
   the window, and the shortfall of completions exceeds 3√N (N scheduled requests: three
   standard deviations of a Poisson count, so a step of a few requests is not judged on
   noise; Poisson steps are compared with their realized rate for the same reason) — the
   target no longer keeps up and the open-loop backlog grows (the "achieved vs requested
   rate" check wrk2 and vLLM's benchmark_serving print);
2. p95 E2E latency > ``latency_factor`` (default 3) × the baseline p95 — the latency side of
   the knee. The baseline is the lowest p95 of the earlier steps: the least-loaded
   measurement estimates the unloaded latency, and unlike "the first step" it survives a
   first step slowed by cold caches or a noisy neighbour;
3. error rate > ``max_error_rate`` (default 0.05) — failures, e.g. 429s, replace queueing.

The defaults are engineering choices, not standards: 10% shortfall is well above the jitter
of a seeded Poisson step of a few hundred requests, and 3× baseline p95 is a clear departure
from the flat part of the latency curve. All three are parameters.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from aichaos.config import Slos
from aichaos.errors import ConfigError
from aichaos.load._engine import LoadInput, ProgressCallback, StepSpec, TokenCounter, run_step
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
            f"saturated when achieved < {self.throughput_ratio:g} x scheduled rate, "
            f"or p95 E2E > {self.latency_factor:g} x lowest p95 of earlier steps, "
            f"or error rate > {self.max_error_rate:g}"
        )

    def reasons(self, step: StepResult, baseline_p95_s: float | None) -> list[str]:
        """Why ``step`` is saturated (empty list when it is not).

        Args:
            step: the step to judge.
            baseline_p95_s: the unloaded p95 E2E in seconds (None: no latency check).
        """
        out: list[str] = []
        scheduled = step.scheduled_rps
        shortfall = step.scheduled - step.window_completed
        if (
            step.offered_rps
            and step.achieved_rps < self.throughput_ratio * scheduled
            and shortfall > 3 * math.sqrt(step.scheduled)
        ):
            out.append(
                f"throughput {step.achieved_rps:.3g} req/s < "
                f"{self.throughput_ratio:g} x scheduled {scheduled:.3g} req/s"
            )
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
        try:
            step = await (engine or run_step)(
                target, inputs, replace(spec, rate_rps=float(rate)), index=i,
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
