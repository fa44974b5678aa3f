"""Layer 6, Scalability and cost: rate sweep, saturation point, goodput, context window, cost.

The suite turns ``layers.scale`` into a plan (:func:`aichaos.load.plan_from_config`) and runs
it with :func:`aichaos.load.run_scale` against the experiment's target: one open-loop step per
rate over the golden cases (cyclically; each request is built by ``SuiteContext.plan`` exactly as
the capability layer builds it, context included, so the target renders the same prompt and
tokens and cost are those of real traffic), stopping at the knee, then the context-window probe
(when ``context_window_tokens`` is declared), then the cost model. Goodput counts requests that
succeeded within the per-request SLOs of ``steady-state-hypothesis.slos`` (``latency_p95_s``
and ``ttft_p95_s`` bound each request's E2E and TTFT, timed from its scheduled send): vLLM
``benchmark_serving``'s *request goodput*. Cost is projected twice, as billed per logical
request and multiplied by the retry amplification the integration layer (3) observed earlier in
the run (``ctx.facts["retry_amplification"]``; 1.0 when layer 3 did not run).

Load requests are many (thousands per sweep), so they are not published one by one as case
observations: each finished step publishes one :class:`LoadStepFinished` event, and the layer
keeps per-step aggregates in ``details``. Progress is counted in requests: ``planned_count`` is
the sum over steps of the requests each schedule sends (warm-up included; an upper bound, as
the sweep stops at the knee), and ``ctx.on_progress(n)`` reports completions about every 0.5 s
during a step.

Headline figures come from the *base step*: the highest-rate step before the first saturated
one (Jain's *usable capacity*, *The Art of Computer Systems Performance Analysis*, 1991,
§3.3), or the first step when even that one saturated.

Score::

    score = 100 × min(1, S / R) × G

* ``S``, sustained rate, req/s: offered rate of the base step (``max_sustainable_rps``; a
  closed loop: its achieved throughput), 0 when the first step already saturated. When no step
  saturated, ``S`` is the highest rate tested, a lower bound of capacity.
* ``R``, required rate, req/s: ``peak_rps`` when declared; else the mean rate of
  ``requests_per_day`` (``/ 86 400``); else the sweep's first rate (the least load the author
  expects to be carried; the note says so). A closed loop without a declared rate has no ``R``
  and the factor is 1.
* ``G``, goodput share of the base step: requests scheduled in its window that succeeded within
  every per-request SLO, over all requests scheduled (errors and unfinished requests count
  against it).

Why a product: offered ``R`` req/s, a system that sustains ``S < R`` serves at most ``S / R`` of
the traffic (the rest queues without bound or fails: an open system past its capacity is
unstable), and of what it serves a share ``G`` meets the SLOs. The product is thus an estimate
of the *SLO attainment* at the required load, the quantity DistServe scores serving systems by
(Zhong et al., "DistServe", OSDI 2024, §2: goodput as the rate served within SLO attainment
goals such as 90%). The context-window probe does not enter the score; its check fails on its
own.

Checks: ``scale.saturation`` (``S >= R``), ``scale.goodput`` (``G >= min_goodput_ratio``, 0.9 by
default after DistServe's 90% attainment goal), ``scale.error_rate`` (base-step error rate
``<= 1 - success_rate.min`` of the SLOs, else ``<= max_error_rate``), ``scale.context_window``
when probed (no silent truncation, no error below the declared window).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from aichaos._events import LoadProgressed, LoadStepFinished
from aichaos.config import Experiment, ScaleLayer, Slos
from aichaos.dataset import Case
from aichaos.errors import ConfigError
from aichaos.load import (
    DEFAULT_PRICES_DATE,
    ContextProbeResult,
    LoadProgress,
    ScalePlan,
    StepResult,
    SweepResult,
    approx_tokens,
    estimate_step_cost,
    mark_saturation,
    median_interval,
    plan_from_config,
    poisson_rate_interval,
    run_scale,
)
from aichaos.probes._base import MIN_FIRM_SAMPLE, ProbeSuite, SuiteContext, suites
from aichaos.probes._scale_engine import (
    annotate_engine,
    check_engine,
    engine_flags,
    scale_engine,
)
from aichaos.probes._scale_system import extend_scale_layer
from aichaos.results import Check, FailingCase, LayerResult
from aichaos.system import system_checks
from aichaos.targets import NoCacheTarget


class SuiteInterrupted(asyncio.CancelledError):
    """Cancellation (Ctrl-C) of a suite that finished part of its work.

    A :class:`asyncio.CancelledError`, so the runner marks the run ``interrupted`` as for any
    cancellation; ``partial`` is the layer result scored from the finished load steps.
    """

    def __init__(self, partial: LayerResult) -> None:
        super().__init__(f"layer {partial.layer} interrupted; partial result kept")
        self.partial = partial


def _base_step(steps: list[StepResult]) -> StepResult | None:
    """The last step before the first saturated one, else the first step (None: no steps)."""
    base = None
    for step in steps:
        if step.saturated:
            break
        base = step
    return base or (steps[0] if steps else None)


@suites.register("scale", summary="rate sweep: saturation point, goodput and latency under "
                 "load, context window, cost per 1k requests", layer=6)
class ScaleSuite(ProbeSuite):
    """Runs the load sweep, context probe and cost model of ``layers.scale`` (module doc).

    Raises (from :meth:`run`):
        ConfigError: an unpriced ``price_model``, an invalid plan, or a dataset without inputs
            (before anything is sent).
        SuiteInterrupted: cancelled; carries the result of the finished steps.
    """

    layer = 6
    name = "scale"

    def __init__(self, config: ScaleLayer | None = None) -> None:
        self.config = config or ScaleLayer()

    def validate(self, experiment: Experiment, cases: list[Case]) -> None:
        """``engine: ray`` needs Ray installed (checked before anything is sent).

        Raises:
            ConfigError: Ray is not importable.
        """
        check_engine(self.config)

    def planned_count(self, ctx: SuiteContext) -> int | None:
        """Load requests of every step (warm-up included), for the run's progress bar: an
        upper bound, as the sweep stops at the knee; None for a closed loop or a plan that
        cannot run (:meth:`run` reports why)."""
        try:
            return plan_from_config(self.config, seed=ctx.seed).planned_requests()
        except ConfigError:
            return None

    async def run(self, ctx: SuiteContext) -> LayerResult:
        try:
            plan = plan_from_config(self.config, seed=ctx.seed)
        except ConfigError as exc:
            raise ConfigError(f"layers.scale: {exc}") from exc
        # the capability layer's requests: input, context and case id, rendered by the target
        requests = [ctx.plan(c, "load").request for c in ctx.cases if c.input.strip()]
        if not requests:
            raise ConfigError("layers.scale: the dataset has no non-empty input to send as load")
        hypothesis = ctx.experiment.steady_state_hypothesis
        slos = hypothesis.slos if hypothesis is not None else None
        amplification = ctx.facts.get("retry_amplification")
        retry = max(1.0, float(amplification)) if amplification is not None else 1.0
        finished: list[StepResult] = []
        reported = [0]  # completions of the current step already passed to on_progress

        def progress(p: LoadProgress) -> None:
            if p.phase == "start":
                reported[0] = 0
            if p.completed > reported[0]:
                ctx.bus.publish(LoadProgressed(ctx.run_id, p.completed - reported[0]))
                if ctx.on_progress is not None:
                    ctx.on_progress(p.completed - reported[0])
                reported[0] = p.completed
            if p.phase != "end" or p.result is None:
                return
            finished.append(p.result)
            sweep = SweepResult(steps=list(finished))
            mark_saturation(sweep, plan.rule)
            s = p.result
            ctx.bus.publish(LoadStepFinished(ctx.run_id, p.step, p.steps, s.offered_rps,
                                             s.achieved_rps, s.goodput_rps, s.p("e2e", 95),
                                             s.error_rate, s.saturated))

        # engine: ray runs the load from Ray actors (aichaos.probes._scale_engine)
        engine = scale_engine(self.config, ctx.experiment.target)
        try:
            result = await run_scale(NoCacheTarget(ctx.target), requests, plan, slos=slos,
                                     retry_amplification=retry, token_counter=approx_tokens,
                                     token_counter_name="chars/4", progress=progress,
                                     engine=engine)
            sweep, context = result.sweep, result.context
        except asyncio.CancelledError:  # during the context probe: keep the finished steps
            sweep, context = SweepResult(steps=finished, interrupted=True), None
            mark_saturation(sweep, plan.rule)
        finally:
            if engine is not None:  # actors stopped, a local Ray started for the run too
                await asyncio.shield(engine.aclose())
        layer = self._score(ctx, plan, sweep, context, slos, amplification, retry)
        annotate_engine(layer, self.config, engine)
        if sweep.interrupted:
            raise SuiteInterrupted(layer)
        await extend_scale_layer(ctx, self.config, layer)  # resources, context (_scale_system)
        return await system_checks(ctx, layer)

    # ------------------------------------------------------------------ scoring

    def _required(self, plan: ScalePlan) -> tuple[float | None, str]:
        cfg = self.config
        if cfg.peak_rps is not None:
            return cfg.peak_rps, "peak_rps"
        if cfg.requests_per_day:
            return cfg.requests_per_day / 86_400, "requests_per_day / 86400 (mean rate)"
        if plan.spec.profile != "closed":
            return plan.rates_rps[0], "first sweep rate (no traffic level declared)"
        return None, "none declared"

    def _score(self, ctx: SuiteContext, plan: ScalePlan, sweep: SweepResult,
               context: ContextProbeResult | None, slos: Slos | None,
               amplification: Any, retry: float) -> LayerResult:
        base = _base_step(sweep.steps)
        if base is None:
            return LayerResult(6, None, note="not measured: interrupted before the first load "
                               "step finished", details={"load": sweep.to_dict()})
        closed = plan.spec.profile == "closed"
        required, required_source = self._required(plan)
        if closed:
            sustained = 0.0 if base.saturated else base.achieved_rps
        else:
            sustained = sweep.max_sustainable_rps or 0.0
        capacity = 1.0 if required is None else min(1.0, sustained / required)
        goodput = base.good / base.scheduled if base.scheduled else 0.0
        score = round(100 * capacity * goodput, 1)
        notes: list[str] = []
        metrics: dict[str, Any] = {
            "max_sustainable_rps": sweep.max_sustainable_rps if not closed else sustained,
            "saturation_point_rps": sweep.knee_rps,
            "required_rps": required,
            "required_rps_source": required_source,
            "goodput_rps": base.goodput_rps,
            "goodput_ratio": goodput,
            "base_step_offered_rps": base.offered_rps,
            "base_step_saturated": base.saturated,
            "latency_p95_s": base.p("e2e", 95),
            "ttft_p95_s": base.p("ttft", 95),
            "latency_p50_s": base.p("e2e", 50),
            # 95 % intervals: exact Poisson on the window's completions, order statistics
            # of the median (aichaos.load._intervals)
            "latency_p50_ci_s": median_interval(base.histograms["e2e"]),
            "achieved_rps_ci": poisson_rate_interval(base.window_completed, base.duration_s),
            "latency_p99_s": base.p("e2e", 99),
            "tpot_p50_s": base.p("tpot", 50),
            "achieved_rps": base.achieved_rps,
            "output_tokens_per_s": base.output_tokens_per_s,
            "error_rate": base.error_rate,
            "errors_by_group": base.errors_by_group,
        }
        cost = self._cost(plan, base, retry, amplification, metrics, notes)
        metrics.update(steps=len(sweep.steps), interrupted=sweep.interrupted,
                       saturated_steps=sum(s.saturated for s in sweep.steps))
        checks, failing = self._load_checks(ctx, plan, sweep, base, required, required_source,
                                            sustained, goodput, slos, notes)
        details: dict[str, Any] = {
            "sweep": [_row(s) for s in sweep.steps],
            "load": sweep.to_dict(),
            "cost": cost,
            "score": {"formula": "100 * min(1, S / R) * G", "S_rps": sustained,
                      "R_rps": required, "capacity_factor": capacity, "G": goodput},
        }
        if context is not None:
            details["context_window"] = {**context.to_dict(),
                                         "token_estimate": context.token_estimate}
            described = ctx.target.describe()
            url = described.get("base_url") or described.get("url") or "URL"
            check, bad = _context_check(context, str(url))
            checks.append(check)
            failing += bad
            metrics["context_window_tokens"] = context.window_tokens
            metrics["context_silent_truncation"] = context.silent_truncation
            metrics["context_verdicts"] = ", ".join(f"{c.fraction:g}: {c.verdict}"
                                                    for c in context.cases)
        if base.scheduled < MIN_FIRM_SAMPLE:
            notes.append(f"the base step held only {base.scheduled} requests: too few for the "
                         "saturation rule to tell a knee from noise, so the grade is "
                         "indicative, not a firm verdict; lengthen duration_s for one")
        if sweep.interrupted:
            notes.insert(0, f"interrupted after {len(sweep.steps)} of {len(plan.rates_rps)} "
                            "steps: scored from the finished steps")
        return LayerResult(6, score, metrics, checks, failing, note="; ".join(notes),
                           details=details)

    def _cost(self, plan: ScalePlan, base: StepResult, retry: float, amplification: Any,
              metrics: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
        if plan.price is None:
            notes.append("no cost estimate: set layers.scale.price_model")
            return None
        if not base.completed:
            notes.append("no cost estimate: the base step completed no request")
            return None
        per_day = plan.requests_per_day
        plain = estimate_step_cost(base, plan.price, requests_per_day=per_day,
                                   model=plan.price_model or "")
        retried = estimate_step_cost(base, plan.price, requests_per_day=per_day,
                                     retry_amplification=retry, model=plan.price_model or "")
        in_table = plan.price_model in self.config.pricing
        metrics.update({
            "cost_per_1k_requests_usd": plain.cost_per_1k_requests_usd,
            "monthly_cost_usd": plain.monthly_cost_usd if per_day else None,
            "cost_per_1k_requests_with_retries_usd": retried.cost_per_1k_requests_usd,
            "monthly_cost_with_retries_usd": retried.monthly_cost_usd if per_day else None,
            "retry_amplification": retry,
            "retry_amplification_source": "integration layer" if amplification is not None
            else "not measured (layer 3 did not run): 1.0",
            "requests_per_day": per_day or None,
            "price_model": plan.price_model,
            "price_date": "experiment pricing" if in_table else DEFAULT_PRICES_DATE,
            "mean_input_tokens": plain.mean_input_tokens,
            "mean_output_tokens": plain.mean_output_tokens,
            "token_source": base.token_source,
        })
        if not per_day:
            notes.append("no monthly projection: set layers.scale.requests_per_day")
        return {"plain": plain.to_dict(), "with_retries": retried.to_dict(),
                "token_source": base.token_source}

    def _load_checks(self, ctx: SuiteContext, plan: ScalePlan, sweep: SweepResult,
                     base: StepResult, required: float | None, required_source: str,
                     sustained: float, goodput: float, slos: Slos | None,
                     notes: list[str]) -> tuple[list[Check], list[FailingCase]]:
        knee = next((s for s in sweep.steps if s.saturated), None)
        flags = engine_flags(self.config)
        failing = [_step_case(ctx, plan, s, "saturated: " + "; ".join(s.saturation_reasons),
                              flags) for s in sweep.steps if s.saturated]
        ids = [f.case_id for f in failing]
        if knee is None:
            top = sweep.steps[-1].offered_rps
            where = (f"no saturation up to {top:g} req/s (capacity is at least that)"
                     if top is not None else "closed loop not saturated")
            notes.append(where + ("; add higher rates to find the knee" if top else ""))
        else:
            where = (f"saturated at {_rate(knee.offered_rps)}: "
                     + "; ".join(knee.saturation_reasons))
            if knee is sweep.steps[0]:
                notes.append("the first step already saturated: add lower rates to measure "
                             "the sustainable rate")
        if required_source.startswith("first sweep rate"):
            notes.append("no traffic level declared (layers.scale.peak_rps or requests_per_day):"
                         f" the required rate is the sweep's first rate, {required:g} req/s, so "
                         "the score reflects goodput and errors at the tested loads")
        passed = not base.saturated if required is None else sustained >= required * (1 - 1e-9)
        threshold = "not saturated" if required is None else f">= {required:g}"
        checks = [Check("scale.saturation", passed, sustained, threshold, "req/s",
                        f"highest sustained {sustained:.3g} req/s; {where}; required "
                        f"{'-' if required is None else f'{required:.3g}'} req/s "
                        f"({required_source})", ids)]
        lat = slos.latency_p95_s if slos else None
        ttft = slos.ttft_p95_s if slos else None
        bounds = ([f"E2E {lat.describe()} s"] if lat else []) + (
            [f"TTFT {ttft.describe()} s"] if ttft else [])
        if not bounds:
            notes.append("no per-request SLO (latency_p95_s / ttft_p95_s): goodput counts "
                         "every successful request")
        minimum = self.config.min_goodput_ratio
        checks.append(Check(
            "scale.goodput", goodput >= minimum, goodput, f">= {minimum:g}", "ratio",
            f"{base.good}/{base.scheduled} requests at {_rate(base.offered_rps)} succeeded "
            f"within {', '.join(bounds) or 'no latency SLO'}; goodput {base.goodput_rps:.3g} "
            "req/s"))
        success = slos.success_rate if slos else None
        max_err = (1 - success.min if success is not None and success.min is not None
                   else plan.rule.max_error_rate)
        groups = ", ".join(f"{k} {v}" for k, v in base.errors_by_group.items()) or "none"
        checks.append(Check(
            "scale.error_rate", base.error_rate <= max_err + 1e-12, base.error_rate,
            f"<= {max_err:.3g}", "ratio",
            f"{base.errors}/{base.scheduled} requests failed at {_rate(base.offered_rps)} "
            f"(errors: {groups})"))
        missed = [f"{c.name} {c.value:.3g} (needs {c.threshold})" for c in checks[1:]
                  if not c.passed and c.value is not None]
        if missed:  # the base step is the evidence of a failed goodput or error-rate check
            case = _step_case(ctx, plan, base, "; ".join(missed), flags)
            for c in checks[1:]:
                c.cases = [] if c.passed else [case.case_id]
            if case.case_id not in ids:
                failing.append(case)
        return checks, failing


def _rate(rps: float | None) -> str:
    return "closed loop" if rps is None else f"{rps:g} req/s"


def _row(s: StepResult) -> dict[str, Any]:
    """One chart/table row per step (the HTML renderer's ``details["sweep"]`` shape)."""
    return {"offered_rps": s.offered_rps, "achieved_rps": s.achieved_rps,
            "goodput_rps": s.goodput_rps, "p50_s": s.p("e2e", 50), "p95_s": s.p("e2e", 95),
            "p99_s": s.p("e2e", 99), "ttft_p95_s": s.p("ttft", 95), "error_rate": s.error_rate,
            "scheduled": s.scheduled, "completed": s.completed, "good": s.good,
            "errors_by_group": s.errors_by_group, "saturated": s.saturated,
            "saturation_reasons": list(s.saturation_reasons)}


def _step_case(ctx: SuiteContext, plan: ScalePlan, s: StepResult, reason: str,
               flags: str = "") -> FailingCase:
    """A load step as a failing case, reproducible with ``aichaos load run`` (``flags``:
    the engine's options, :func:`engine_flags`)."""
    target = ctx.target.describe()
    if target.get("type") == "openai":
        how = (f"aichaos load run {target.get('base_url')} --mode openai --model "
               f"{target.get('model')} --max-tokens {target.get('max_tokens')} --profile "
               f"{s.profile} --rate {s.offered_rps:g} --duration {s.duration_s:g} --warmup "
               f"{s.warmup_s:g} --seed {plan.spec.seed}" if s.offered_rps else
               f"aichaos load run {target.get('base_url')} --mode openai --profile closed "
               f"--concurrency {s.users} --duration {s.duration_s:g}") + flags
    else:
        how = f"aichaos run {ctx.experiment.source or 'EXPERIMENT'}"
    p95 = s.p("e2e", 95)
    output = (f"achieved {s.achieved_rps:.3g} req/s, p95 E2E "
              f"{'-' if p95 is None else f'{p95:.3g} s'}, error rate {s.error_rate:.3g}")
    return FailingCase(f"load-step-{s.index + 1}", f"{s.profile}@{_rate(s.offered_rps)}",
                       f"{s.scheduled} requests over {s.duration_s:g} s", output,
                       reason, how)


def _context_check(res: ContextProbeResult, url: str) -> tuple[Check, list[FailingCase]]:
    """``scale.context_window``: fails on silent truncation or an error below the window."""
    bad = [c for c in res.cases if c.verdict == "silent_truncation"
           or (c.verdict == "error" and c.fraction < 1.0)]
    parts = [f"{c.fraction:.0%} ({c.tokens} tokens): {c.verdict}"
             + (f" [{c.error_class}]" if c.error_class else "") for c in res.cases]
    msg = "; ".join(parts)
    if res.cases and res.cases[0].verdict == "inconclusive":
        msg += ("; silent truncation not determinable: the model missed the needle in the "
                "shortest input too")
    failing = [FailingCase(f"context-{c.fraction:g}", "context_window", f"{c.tokens}-token "
                           "input with a needle at its end", c.output,
                           "silent truncation: the answer ignored the end of the input"
                           if c.verdict == "silent_truncation" else
                           f"error below the declared window: {c.error_class}",
                           f"aichaos load context {url} --window {res.window_tokens}")
               for c in bad]
    growth = [g for g in res.latency_growth.values() if g is not None and math.isfinite(g)]
    if growth:
        msg += f"; latency growth up to {max(growth):.2f}x the shortest input"
    lengths = res.token_estimate
    check = Check("scale.context_window", not bad, len(bad), "== 0", "cases",
                  f"declared window {res.window_tokens} tokens ({lengths} lengths): {msg}",
                  [f.case_id for f in failing])
    return check, failing
