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

Each sweep step is judged by two overload tests with their power at a 1.25x overload
(:mod:`aichaos.load._overload`); steps are lengthened for 0.9 power up to ``max_duration_s``,
and a step under 0.9 power is *open*, never a pass. Past the knee the layer reads what the
system did with the excess load (:mod:`aichaos.load._queueing`: shedding with 429/503 and
Retry-After, or a queue without bound) and, when ``metrics_url`` (or layer 5's
``prometheus_url``) is set, the server's own saturation gauges per step
(:mod:`aichaos.load._signals`), shown beside the knee.

Score::

    score = 100 × min(1, S / R) × G × C

* ``S``, sustained capacity, req/s, with a 95 % interval (:func:`aichaos.load.sustained_capacity`:
  bracketed by the highest sustained and the first overloaded step, estimated from the
  overloaded step's throughput; a closed loop: its achieved throughput). When no step
  saturated, ``S`` is the highest rate tested, a lower bound of capacity.
* ``R``, required rate, req/s: the declared peak, ``peak_rps``, else ``requests_per_day /
  86 400 × peak_factor``; never the mean of ``requests_per_day`` (a system sized for the mean
  fails every busy hour). Without either, the sweep's first rate (the note says so). A closed
  loop without a declared rate has no ``R`` and the factor is 1.
* ``C``, cost factor: ``min(1, max_cost_per_1k_usd / cost per 1k requests)`` (retries
  included) when a budget is declared, else 1.
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

The score's interval and grade range, and every check's interval, are described in
:mod:`aichaos.probes._scale_verdict`.

Checks: ``scale.saturation`` (``S >= R``, decided by its interval), ``scale.shedding``,
``scale.retry_after``, ``scale.cost`` (with a budget), ``scale.goodput``
(``G >= min_goodput_ratio``, 0.9 by default after DistServe's 90% attainment goal),
``scale.error_rate`` (base-step error rate ``<= 1 - success_rate.min`` of the SLOs, else
``<= max_error_rate``), ``scale.context_window`` when probed (no silent truncation, no error
below the declared window).
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
    Capacity,
    ContextProbeResult,
    LoadProgress,
    QueueBehaviour,
    SaturationScraper,
    ScalePlan,
    StepResult,
    SweepResult,
    approx_tokens,
    estimate_step_cost,
    mark_saturation,
    median_interval,
    plan_from_config,
    poisson_rate_interval,
    queue_behaviour,
    run_scale,
    service_sample,
    sustained_capacity,
)
from aichaos.load._overload import LAG_WARN_S
from aichaos.probes._base import MIN_FIRM_SAMPLE, ProbeSuite, SuiteContext, suites
from aichaos.probes._scale_engine import (
    annotate_engine,
    check_engine,
    engine_flags,
    scale_engine,
)
from aichaos.probes._scale_system import extend_scale_layer
from aichaos.probes._scale_verdict import (
    EXTRA_CHECKS,
    cost_check,
    decided,
    proportion_interval,
    queue_checks,
    required_rate,
    saturation_check,
    score_interval,
    step_power_line,
)
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

        metrics_url = self.config.metrics_url or (
            ctx.experiment.layers.observability.prometheus_url
            if ctx.experiment.layers.observability is not None else None)
        scraper = SaturationScraper(metrics_url) if metrics_url else None

        def progress(p: LoadProgress) -> None:
            if p.phase == "start":
                reported[0] = 0
                if scraper is not None:
                    scraper.begin(p.step)
            if p.phase == "end" and p.result is not None and scraper is not None:
                p.result.signals = scraper.end(p.step)
            if p.completed > reported[0]:
                ctx.bus.publish(LoadProgressed(ctx.run_id, p.completed - reported[0]))
                if ctx.on_progress is not None:
                    ctx.on_progress(p.completed - reported[0])
                reported[0] = p.completed
            if p.phase != "end" or p.result is None:
                return
            finished.append(p.result)
            if plan.spec.profile == "closed":
                mark_saturation(SweepResult(steps=list(finished)), plan.rule)
                publish(p.result)

        def publish(s: StepResult) -> None:  # a finished step, overload tests done
            o = s.overload or {}
            ctx.bus.publish(LoadStepFinished(ctx.run_id, s.index, len(plan.rates_rps),
                                             s.offered_rps, s.achieved_rps, s.goodput_rps,
                                             s.p("e2e", 95), s.error_rate, s.saturated,
                                             str(o.get("step_verdict", "")), o.get("power")))

        # engine: ray runs the load from Ray actors (aichaos.probes._scale_engine)
        engine = scale_engine(self.config, ctx.experiment.target)
        if scraper is not None:
            scraper.start()
        try:
            result = await run_scale(NoCacheTarget(ctx.target), requests, plan, slos=slos,
                                     retry_amplification=retry, token_counter=approx_tokens,
                                     token_counter_name="chars/4", progress=progress,
                                     engine=engine, on_step=publish)
            sweep, context = result.sweep, result.context
        except asyncio.CancelledError:  # during the context probe: keep the finished steps
            sweep, context = SweepResult(steps=finished, interrupted=True), None
            mark_saturation(sweep, plan.rule)
        finally:
            if scraper is not None:
                await asyncio.shield(scraper.aclose())
            if engine is not None:  # actors stopped, a local Ray started for the run too
                await asyncio.shield(engine.aclose())
        behaviours = [] if sweep.interrupted else await asyncio.to_thread(
            self._queue_behaviours, sweep, plan.spec.seed)
        layer = self._score(ctx, plan, sweep, context, slos, amplification, retry, behaviours)
        if scraper is not None:
            _signals_note(layer, sweep, scraper, str(metrics_url))
        annotate_engine(layer, self.config, engine)
        if sweep.interrupted:
            raise SuiteInterrupted(layer)
        await self._extra_checks(ctx, layer)
        await extend_scale_layer(ctx, self.config, layer)  # resources, context (_scale_system)
        return await system_checks(ctx, layer)

    async def _extra_checks(self, ctx: SuiteContext, layer: LayerResult) -> None:
        """Further layer-6 checks (:data:`aichaos.probes._scale_verdict.EXTRA_CHECKS`), e.g.
        resource growth per request: each returns checks appended to the layer."""
        for extra in EXTRA_CHECKS:
            layer.checks.extend(await extra(ctx, layer))

    @staticmethod
    def _queue_behaviours(sweep: SweepResult, seed: int) -> list[QueueBehaviour]:
        """What each overloaded step did with the excess (:func:`aichaos.load.queue_behaviour`)."""
        if not sweep.steps or sweep.steps[0].offered_rps is None:
            return []
        service = service_sample(sweep.steps[0])
        return [queue_behaviour(s, service, seed=seed + s.index) for s in sweep.steps
                if s.saturated]

    # ------------------------------------------------------------------ scoring

    def _score(self, ctx: SuiteContext, plan: ScalePlan, sweep: SweepResult,
               context: ContextProbeResult | None, slos: Slos | None,
               amplification: Any, retry: float,
               behaviours: list[QueueBehaviour]) -> LayerResult:
        base = _base_step(sweep.steps)
        if base is None:
            return LayerResult(6, None, note="not measured: interrupted before the first load "
                               "step finished", details={"load": sweep.to_dict()})
        closed = plan.spec.profile == "closed"
        required, required_source, required_note = required_rate(
            self.config, plan.rates_rps[0] if plan.rates_rps else None, closed)
        cap = sustained_capacity(sweep.steps, closed=closed)
        assert cap is not None  # base is not None: there is a step
        if closed and base.saturated:
            cap = Capacity(0.0, 0.0, cap.high, cap.bracket, cap.method)
        sustained = cap.point
        capacity = 1.0 if required is None else min(1.0, sustained / required)
        goodput = base.good / base.scheduled if base.scheduled else 0.0
        goodput_ci = proportion_interval(base.good, base.scheduled)
        notes: list[str] = [required_note] if required_note else []
        metrics: dict[str, Any] = {
            "max_sustainable_rps": sweep.max_sustainable_rps if not closed else sustained,
            "saturation_point_rps": sweep.knee_rps,
            "required_rps": required,
            "required_rps_source": required_source,
            "sustained_capacity_rps": sustained,
            "sustained_capacity_ci_rps": (cap.low, None if math.isinf(cap.high) else cap.high),
            "capacity_method": cap.method,
            "step_verdicts": step_power_line(sweep.steps),
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
        if behaviours:
            b = behaviours[0]
            metrics.update(overload_behaviour=b.behaviour, rejection_rate=b.rejection_rate,
                           retry_after_share=b.retry_after_share,
                           admitted_latency_p95_s=b.admitted_p95_s,
                           admitted_latency_trend=b.admitted_slope)
        checks, failing = self._load_checks(ctx, plan, sweep, base, cap, required,
                                            required_source, goodput, slos, notes)
        checks += queue_checks(behaviours)
        cost_chk, cost_factor = cost_check(self.config, metrics)
        if cost_chk is not None:
            checks.append(cost_chk)
        score = round(100 * capacity * goodput * cost_factor, 1)
        interval, grades = score_interval(cap, required, goodput_ci, cost_factor, closed)
        details: dict[str, Any] = {
            "sweep": [_row(s) for s in sweep.steps],
            "load": sweep.to_dict(),
            "cost": cost,
            "capacity": cap.to_dict(),
            "queue_behaviour": [b.to_dict() for b in behaviours],
            "score": {"formula": "100 * min(1, S / R) * G * C", "S_rps": sustained,
                      "R_rps": required, "capacity_factor": capacity, "G": goodput,
                      "C": cost_factor, "interval": [interval.low, interval.high],
                      "interval_method": interval.method},
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
        lagged = [(s.offered_rps, lag) for s in sweep.steps
                  if (lag := (s.overload or {}).get("scheduler_lag_p99_s")) is not None
                  and lag > LAG_WARN_S]
        if lagged:
            notes.append("the load generator lagged (scheduler lag p99 "
                         + ", ".join(f"{lag * 1e3:.0f} ms at {_rate(r)}" for r, lag in lagged)
                         + f" > {LAG_WARN_S * 1e3:g} ms): part of the latency there may be the "
                         "client's, not the target's")
        if base.scheduled < MIN_FIRM_SAMPLE:
            notes.append(f"the base step held only {base.scheduled} requests: too few for the "
                         "overload tests to tell a knee from noise, so the grade is "
                         "indicative, not a firm verdict; set max_duration_s for steps sized "
                         "to 0.9 power")
        if sweep.interrupted:
            notes.insert(0, f"interrupted after {len(sweep.steps)} of {len(plan.rates_rps)} "
                            "steps: scored from the finished steps")
        return LayerResult(6, score, metrics, checks, failing, note="; ".join(notes),
                           details=details, interval=interval, grade_range=grades)

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
                     base: StepResult, cap: Capacity, required: float | None,
                     required_source: str, goodput: float, slos: Slos | None,
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
            notes.append("no peak declared (layers.scale.peak_rps, or requests_per_day with "
                         f"peak_factor): the required rate is the sweep's first rate, "
                         f"{required:g} req/s, so the score reflects goodput and errors at the "
                         "tested loads")
        checks = [saturation_check(cap, required, required_source, where, sweep.steps, ids)]
        lat = slos.latency_p95_s if slos else None
        ttft = slos.ttft_p95_s if slos else None
        bounds = ([f"E2E {lat.describe()} s"] if lat else []) + (
            [f"TTFT {ttft.describe()} s"] if ttft else [])
        if not bounds:
            notes.append("no per-request SLO (latency_p95_s / ttft_p95_s): goodput counts "
                         "every successful request")
        minimum = self.config.min_goodput_ratio
        g_ci = proportion_interval(base.good, base.scheduled)
        checks.append(Check(
            "scale.goodput", goodput >= minimum, goodput, f">= {minimum:g}", "ratio",
            f"{base.good}/{base.scheduled} requests at {_rate(base.offered_rps)} succeeded "
            f"within {', '.join(bounds) or 'no latency SLO'}; goodput {base.goodput_rps:.3g} "
            "req/s", interval=g_ci, decided=decided(g_ci, minimum)))
        success = slos.success_rate if slos else None
        max_err = (1 - success.min if success is not None and success.min is not None
                   else plan.rule.max_error_rate)
        groups = ", ".join(f"{k} {v}" for k, v in base.errors_by_group.items()) or "none"
        e_ci = proportion_interval(base.errors, base.scheduled)
        checks.append(Check(
            "scale.error_rate", base.error_rate <= max_err + 1e-12, base.error_rate,
            f"<= {max_err:.3g}", "ratio",
            f"{base.errors}/{base.scheduled} requests failed at {_rate(base.offered_rps)} "
            f"(errors: {groups})", interval=e_ci, decided=decided(e_ci, max_err)))
        missed = [f"{c.name} {c.value:.3g} (needs {c.threshold})" for c in checks[1:]
                  if not c.passed and c.value is not None]
        if missed:  # the base step is the evidence of a failed goodput or error-rate check
            case = _step_case(ctx, plan, base, "; ".join(missed), flags)
            for c in checks[1:]:
                c.cases = [] if c.passed else [case.case_id]
            if case.case_id not in ids:
                failing.append(case)
        return checks, failing


def _signals_note(layer: LayerResult, sweep: SweepResult, scraper: SaturationScraper,
                  url: str) -> None:
    """Server-side saturation signals beside the knee: metrics and the layer's note."""
    knee = next((s for s in sweep.steps if s.saturated), None)
    shown = knee or (sweep.steps[-1] if sweep.steps else None)
    if shown is None or not shown.signals:
        why = (f"no saturation signal from {url}" + (f" ({scraper.errors} scrapes failed: "
               f"{scraper.last_error})" if scraper.errors else ": none of the known gauges"))
        layer.note = f"{layer.note}; {why}" if layer.note else why
        return
    at = "at the knee" if knee is not None else "at the last step"
    parts = [f"{name} mean {v['mean']:.3g}, max {v['max']:.3g}"
             for name, v in shown.signals.items()]
    layer.metrics["saturation_signals"] = f"{at} ({_rate(shown.offered_rps)}): " + "; ".join(parts)
    layer.metrics.update({f"signal_{v['signal']}_max": v["max"]
                          for v in shown.signals.values()})


def _rate(rps: float | None) -> str:
    return "closed loop" if rps is None else f"{rps:g} req/s"


def _row(s: StepResult) -> dict[str, Any]:
    """One chart/table row per step (the HTML renderer's ``details["sweep"]`` shape)."""
    o = s.overload or {}
    return {"offered_rps": s.offered_rps, "achieved_rps": s.achieved_rps,
            "goodput_rps": s.goodput_rps, "p50_s": s.p("e2e", 50), "p95_s": s.p("e2e", 95),
            "p99_s": s.p("e2e", 99), "ttft_p95_s": s.p("ttft", 95), "error_rate": s.error_rate,
            "scheduled": s.scheduled, "completed": s.completed, "good": s.good,
            "errors_by_group": s.errors_by_group, "saturated": s.saturated,
            "saturation_reasons": list(s.saturation_reasons), "duration_s": s.duration_s,
            "verdict": "overloaded" if s.saturated else o.get("step_verdict", "open"),
            "power": o.get("power"), "sizing": o.get("sizing"),
            "scheduler_lag_p99_s": o.get("scheduler_lag_p99_s"), "signals": s.signals}


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
