"""Layer 6 in one call: an experiment's ``layers.scale`` → sweep, context probe and cost."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aichaos.config import ScaleLayer, Slos
from aichaos.load._context import ContextProbeResult, probe_context_window
from aichaos.load._cost import CostEstimate, ModelPrice, estimate_step_cost, lookup_price
from aichaos.load._engine import (
    LoadInput,
    ProgressCallback,
    StepSpec,
    TokenCounter,
    run_step,
)
from aichaos.load._results import StepResult, SweepResult
from aichaos.load._sweep import SaturationRule, StepRunner, mark_saturation, run_sweep
from aichaos.targets import Target


@dataclass(frozen=True, slots=True)
class ScalePlan:
    """What :func:`run_scale` will do, derived from a :class:`aichaos.config.ScaleLayer`.

    Attributes:
        spec: step settings (profile, duration, warm-up, concurrency, seed).
        rates_rps: offered rates of the steps (ignored by a closed loop).
        rule: knee thresholds; stop_after_saturated: 1, or 0 to run every rate.
        price, price_model: the priced model (None: no cost estimate).
        requests_per_day: traffic level of the monthly projection.
        context_window_tokens: declared window (None: no context probe).
        max_duration_s: per-step budget for power sizing, s (None: steps keep
            ``spec.duration_s``; :func:`aichaos.load.run_sweep`).
    """

    spec: StepSpec
    rates_rps: tuple[float, ...]
    rule: SaturationRule
    stop_after_saturated: int
    price: ModelPrice | None
    price_model: str | None
    requests_per_day: float
    context_window_tokens: int | None
    max_duration_s: float | None = None

    def planned_requests(self) -> int | None:
        """Load requests of every step, warm-up included, when the sweep runs every rate
        (an upper bound: it stops at the knee); None for a closed loop (open-ended). The
        context probe's few requests are not counted.

        Raises:
            ConfigError: a step cannot run (``StepSpec.validate``).
        """
        if self.spec.profile == "closed":
            return None
        total = 0
        longest = max(self.spec.duration_s, self.max_duration_s or 0.0)
        for rate in self.rates_rps:
            step = replace(self.spec, rate_rps=float(rate), duration_s=longest)
            step.validate()
            total += step.planned_requests() or 0
        return total


def plan_from_config(layer: ScaleLayer, *, seed: int = 42) -> ScalePlan:
    """Translate the experiment's scale layer into a plan.

    Raises:
        ConfigError: ``price_model`` is neither in ``pricing`` nor in the default table.
    """
    profile = layer.arrival if layer.profile == "sweep" else layer.profile
    price: ModelPrice | None = None
    if layer.price_model is not None:
        table = {k: ModelPrice(v.input_per_mtok, v.output_per_mtok)
                 for k, v in layer.pricing.items()}
        price = (lookup_price(layer.price_model, table) if layer.price_model in table
                 else lookup_price(layer.price_model))
    return ScalePlan(
        spec=StepSpec(profile=profile, duration_s=layer.duration_s, warmup_s=layer.warmup_s,
                      concurrency=layer.concurrency, seed=seed),
        rates_rps=tuple(layer.rates_rps),
        rule=SaturationRule(layer.throughput_ratio, layer.latency_factor, layer.max_error_rate),
        stop_after_saturated=1 if layer.stop_at_saturation else 0,
        price=price,
        price_model=layer.price_model,
        requests_per_day=layer.requests_per_day or 0.0,
        context_window_tokens=layer.context_window_tokens,
        max_duration_s=layer.max_duration_s,
    )


@dataclass(slots=True)
class ScaleResult:
    """Layer 6 results: the sweep, the cost estimate (busiest unsaturated step, else the
    first) and the context-window probe."""

    sweep: SweepResult
    cost: CostEstimate | None = None
    context: ContextProbeResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "sweep": self.sweep.to_dict(),
            "cost": None if self.cost is None else self.cost.to_dict(),
            "context": None if self.context is None else self.context.to_dict(),
        }


async def run_scale(
    target: Target,
    inputs: Sequence[LoadInput],
    plan: ScalePlan,
    *,
    slos: Slos | None = None,
    retry_amplification: float = 1.0,
    token_counter: TokenCounter | None = None,
    token_counter_name: str = "tokenizer",
    progress: ProgressCallback | None = None,
    engine: StepRunner | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> ScaleResult:
    """Run the plan: load steps, then the context probe, then the cost estimate.

    Args:
        target: the system under test.
        inputs: texts or prepared requests, used cyclically (see :func:`run_step`); a suite
            passes its golden cases as requests so load carries their context.
        plan: from :func:`plan_from_config`.
        slos: per-request SLOs for goodput (see :func:`run_step`).
        retry_amplification: upstream calls per request observed by the integration layer
            (1.0 when unknown); multiplies the cost.
        token_counter: counts tokens from text when responses carry no usage; also sizes
            the context probe's inputs (chars/4 without it).
        token_counter_name: how token sources name the counter (``StepResult.token_source``,
            ``ContextProbeResult.token_estimate``), e.g. ``chars/4``.
        progress: per-step progress (see :func:`run_step`).
        engine: runs each load step (default the local :func:`run_step`; a
            :class:`aichaos.load.RayEngine` spreads it over Ray actors); the context probe
            always runs here, on ``target``.
        on_step: called with each finished sweep step, overload tests and saturation marked.

    Returns:
        The :class:`ScaleResult`; after an interrupted sweep it holds the finished steps only.

    Raises:
        ConfigError: invalid plan values or empty ``inputs``.
    """
    if plan.spec.profile == "closed":
        sweep = SweepResult()
        step = await (engine or run_step)(target, inputs, plan.spec, slos=slos,
                              token_counter=token_counter,
                              token_counter_name=token_counter_name, progress=progress)
        sweep.steps.append(step)
        mark_saturation(sweep, plan.rule)
    else:
        sweep = await run_sweep(target, inputs, plan.rates_rps, plan.spec, slos=slos,
                                rule=plan.rule, stop_after_saturated=plan.stop_after_saturated,
                                token_counter=token_counter,
                                token_counter_name=token_counter_name, progress=progress,
                                engine=engine, on_step=on_step,
                                max_duration_s=plan.max_duration_s)
    result = ScaleResult(sweep)
    if sweep.interrupted:
        return result
    if plan.context_window_tokens is not None:
        result.context = await probe_context_window(target, plan.context_window_tokens,
                                                    count_tokens=token_counter,
                                                    count_tokens_name=token_counter_name)
    base = [s for s in sweep.steps if not s.saturated and s.completed] or [
        s for s in sweep.steps if s.completed]
    if plan.price is not None and base:
        result.cost = estimate_step_cost(
            base[-1], plan.price, requests_per_day=plan.requests_per_day,
            retry_amplification=retry_amplification, model=plan.price_model or "",
        )
    return result
