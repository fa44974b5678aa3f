"""Layer 6's verdict: required rate, capacity with its interval, per-step power, queue
behaviour under overload, cost against a budget, and the score's interval.

Score (0-100)::

    score = 100 x min(1, S / R) x G x C

``S`` is the sustained capacity (:func:`aichaos.load.sustained_capacity`: between the highest
sustained and the first overloaded step, from the overloaded step's throughput, with a Garwood
interval), ``R`` the required rate (the declared peak: ``peak_rps``, else
``requests_per_day / 86400 x peak_factor``; never the mean), ``G`` the base step's goodput
share (Clopper-Pearson 95 % interval, scipy.stats.binomtest), ``C = min(1, budget / cost)``
the cost factor (cost per 1k requests with retries against ``max_cost_per_1k_usd``; exact:
1 when no budget is declared). The score's interval is the product of the factors' interval
ends: each factor is monotone, so the product of the low ends is a lower bound (a Bonferroni
union of two 95 % intervals: at least 90 % joint coverage, stated beside the interval).

Checks added here (beside ``scale.goodput`` and ``scale.error_rate``, which gain a
Clopper-Pearson interval and a decided flag):

* ``scale.saturation``: capacity >= R, *decided* when the capacity interval excludes R; an
  open check (a step under 0.9 power, or an interval straddling R) does not pass.
* ``scale.shedding``: past the knee the system sheds load (429/503) or keeps admitted latency
  bounded; fails on an unbounded queue (:mod:`aichaos.load._queueing`); not measured when no
  step overloaded the target.
* ``scale.retry_after``: every 429/503 past the knee carried ``Retry-After``; not measured
  without rejections.
* ``scale.cost``: cost per 1k requests (retries included) <= ``max_cost_per_1k_usd``, when a
  budget is declared.

:data:`EXTRA_CHECKS` is where further layer-6 checks plug in (e.g. resource growth).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from aichaos.config import ScaleLayer
from aichaos.load import Capacity, QueueBehaviour, StepResult
from aichaos.probes._base import SuiteContext
from aichaos.results import Check, GradeRange, Interval, LayerResult
from aichaos.scoring import exact

#: Further layer-6 checks, run after the sweep and scoring: ``await f(ctx, layer)`` returns
#: checks appended to the layer (resource growth per request plugs in here).
EXTRA_CHECKS: list[Callable[[SuiteContext, LayerResult], Awaitable[list[Check]]]] = []


def required_rate(cfg: ScaleLayer, first_rate: float | None,
                  closed: bool) -> tuple[float | None, str, str | None]:
    """(required rate req/s, its source, a note): the declared peak, never the mean."""
    if cfg.peak_rps is not None:
        return cfg.peak_rps, "peak_rps", None
    if cfg.requests_per_day and cfg.peak_factor is not None:
        return (cfg.requests_per_day / 86_400 * cfg.peak_factor,
                f"requests_per_day / 86400 x peak_factor {cfg.peak_factor:g}", None)
    note = None
    if cfg.requests_per_day:
        note = (f"requests_per_day ({cfg.requests_per_day:g}) is a mean, not the peak to "
                "sustain: declare layers.scale.peak_rps or peak_factor")
    if not closed and first_rate is not None:
        return first_rate, "first sweep rate (no peak declared)", note
    return None, "none declared", note


def proportion_interval(k: int, n: int) -> Interval | None:
    """Clopper-Pearson 95 % interval of k successes in n requests (None when n = 0)."""
    if n <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(0.95, method="exact")
    return Interval(float(ci.low), float(ci.high), "clopper-pearson", 0.95, n)


def decided(interval: Interval | None, threshold: float) -> bool | None:
    """Whether ``interval`` excludes ``threshold`` (None: no interval)."""
    return None if interval is None else interval.excludes(threshold)


def step_power_line(steps: list[StepResult]) -> str:
    """Per step: rate, verdict, power at 1.25x overload, e.g. ``2: open (power 0.31)``."""
    parts = []
    for s in steps:
        o = s.overload or {}
        verdict = "overloaded" if s.saturated else o.get("step_verdict", "open")
        power = o.get("power")
        rate = "closed" if s.offered_rps is None else f"{s.offered_rps:g} req/s"
        parts.append(f"{rate} x {s.duration_s:g} s: {verdict}"
                     + ("" if power is None else f" (power {power:.2f})"))
    return "; ".join(parts)


def saturation_check(capacity: Capacity, required: float | None, source: str, where: str,
                     steps: list[StepResult], ids: list[str]) -> Check:
    """``scale.saturation`` with the capacity's interval and decided flag (module doc)."""
    # a one-sided interval [low, inf) (no step overloaded) has no Interval form: the check
    # carries none, its message and the layer's metrics give the low end
    interval = None if math.isinf(capacity.high) else Interval(
        capacity.low, capacity.high, capacity.method, 0.95, sum(s.scheduled for s in steps))
    bracket = (f"capacity {capacity.point:.3g} req/s, 95 % interval [{capacity.low:.3g}, "
               + ("inf" if math.isinf(capacity.high) else f"{capacity.high:.3g}") + "]")
    powers = f"steps: {step_power_line(steps)}"
    if required is None:
        ok = not any(s.saturated for s in steps)
        return Check("scale.saturation", ok, capacity.point, "not saturated", "req/s",
                     f"{bracket}; {where}; {powers}", ids, interval=interval, decided=None)
    state = ("pass" if capacity.low >= required * (1 - 1e-9)
             else "fail" if capacity.high < required else "open")
    msg = (f"{'open: ' if state == 'open' else ''}{bracket}; required {required:.3g} req/s "
           f"({source}); {where}; {powers}")
    if state == "open":
        msg += ("; a step under 0.9 power at 1.25x overload is open, not a pass: lengthen "
                "it (layers.scale.max_duration_s)")
    return Check("scale.saturation", state == "pass", capacity.point, f">= {required:g}",
                 "req/s", msg, ids, interval=interval, decided=state != "open")


def queue_checks(behaviours: list[QueueBehaviour]) -> list[Check]:
    """``scale.shedding`` and ``scale.retry_after`` from the first overloaded step."""
    if not behaviours:
        why = "no step overloaded the target: queue behaviour under overload not exercised"
        return [Check("scale.shedding", True, None, "sheds or bounded", "", why,
                      not_measured=why),
                Check("scale.retry_after", True, None, ">= 1", "ratio", why,
                      not_measured=why)]
    b = behaviours[0]
    case = [f"load-step-{b.step + 1}"]
    verdicts = {
        "unbounded_queue": "unbounded queue: past the knee requests queue without bound "
                           "(admitted latency grows for the whole step or clients time out) "
                           "instead of being shed with 429/503",
        "errors": "overload answered with errors other than 429/503 (no clean shedding)",
        "sheds": "sheds load: 429/503 past the knee, admitted latency bounded",
        "bounded": "admitted latency bounded under overload",
    }
    ok = b.behaviour in ("sheds", "bounded")
    checks = [Check("scale.shedding", ok, b.rejection_rate, "sheds or bounded", "ratio",
                    f"{verdicts[b.behaviour]}; {b.describe()}", [] if ok else case,
                    interval=exact(b.rejection_rate), decided=True)]
    if b.retry_after_share is None:
        why = "no 429/503 past the knee: Retry-After not exercised"
        checks.append(Check("scale.retry_after", True, None, ">= 1", "ratio", why,
                            not_measured=why))
    else:
        share = b.retry_after_share
        given = ("" if b.retry_after_s is None else f" (median {b.retry_after_s:g} s)")
        checks.append(Check(
            "scale.retry_after", share >= 1.0, share, ">= 1", "ratio",
            f"{share:.0%} of {b.rejected} rejections carried Retry-After{given}",
            [] if share >= 1.0 else case, interval=exact(share), decided=True))
    return checks


def cost_check(cfg: ScaleLayer, metrics: dict[str, Any]) -> tuple[Check | None, float]:
    """``scale.cost`` and the cost factor ``C`` of the score (1.0 without a budget)."""
    budget = cfg.max_cost_per_1k_usd
    if budget is None:
        return None, 1.0
    cost = metrics.get("cost_per_1k_requests_with_retries_usd")
    if cost is None:
        why = "no cost estimate (layers.scale.price_model, or no request completed)"
        return Check("scale.cost", True, None, f"<= {budget:g}", "USD/1k", why,
                     not_measured=why), 1.0
    factor = 1.0 if cost <= budget else (budget / cost if cost > 0 else 1.0)
    return Check("scale.cost", cost <= budget * (1 + 1e-9), cost, f"<= {budget:g}", "USD/1k",
                 f"cost per 1k requests {cost:.4g} USD (retries included, "
                 f"{metrics.get('price_model')}) against a budget of {budget:g} USD",
                 interval=exact(cost), decided=True), factor


def score_interval(capacity: Capacity, required: float | None, goodput: Interval | None,
                   cost_factor: float, closed: bool) -> tuple[Interval, GradeRange]:
    """The score's interval: the product of the factors' interval ends (module doc)."""
    def cap(x: float) -> float:
        return 1.0 if required is None else min(1.0, x / required)

    g_lo, g_hi = (goodput.low, goodput.high) if goodput is not None else (0.0, 1.0)
    lo = 100 * cap(capacity.low) * g_lo * cost_factor
    hi = 100 * cap(capacity.high) * g_hi * cost_factor
    method = ("capacity x goodput x cost: Garwood-bracketed capacity and Clopper-Pearson "
              "goodput, product of interval ends (>= 90 % joint by Bonferroni)")
    interval = Interval(lo, hi, method, 0.90, goodput.n if goodput is not None else None)
    return interval, GradeRange.of(lo, hi)
