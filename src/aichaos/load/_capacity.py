"""Sustained capacity between the sweep's steps, with a 95 % interval.

The step verdicts (:mod:`aichaos.load._overload`) bracket the capacity ``mu``: it is at least
the highest *sustained* step's rate ``r_lo`` (a decided verdict, 0.9 power against a 1.25x
overload) and below the first *overloaded* step's rate ``r_hi``. Within the bracket the
estimate is the successful throughput of the overloaded step: a saturated system completes
at its capacity, whatever it is offered (the operational law ``X = mu`` at full utilisation;
Denning & Buzen, "The Operational Analysis of Queueing Network Models", Computing Surveys
1978), with the exact Garwood Poisson interval on the window's completions (Garwood 1936), then
intersected with ``[r_lo, r_hi]``. A throughput below the last unsaturated step's rate (the
system collapsed rather than saturated) is clipped up to it.

Without an overloaded step the capacity is only bounded below: the point is the highest rate
tested, the interval ``[r_lo, inf)``. A closed loop has no offered rate: its capacity is the
achieved throughput with its Garwood interval.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from aichaos.load._intervals import poisson_rate_interval
from aichaos.load._results import StepResult

METHOD = ("knee throughput (Garwood exact Poisson 95 %) within [highest sustained step, first "
          "overloaded step]")


@dataclass(frozen=True, slots=True)
class Capacity:
    """Sustained capacity, req/s.

    Attributes:
        point: the estimate, req/s.
        low, high: the 95 % interval (``high`` is ``inf`` when no step overloaded).
        bracket: (highest sustained step's rate, first overloaded step's rate or None).
        method: how the interval was computed (module doc).
    """

    point: float
    low: float
    high: float
    bracket: tuple[float, float | None]
    method: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["high"] = None if math.isinf(self.high) else self.high
        return d


def _verdict(step: StepResult) -> str:
    if step.saturated:
        return "overloaded"
    return str((step.overload or {}).get("step_verdict", "open"))


def sustained_capacity(steps: list[StepResult], *, closed: bool = False) -> Capacity | None:
    """The capacity the sweep's steps show (module doc); None without a step."""
    if not steps:
        return None
    if closed:
        s = steps[0]
        ci = poisson_rate_interval(s.window_ok, s.duration_s) or (0.0, math.inf)
        return Capacity(s.ok_rps, ci[0], ci[1], (0.0, None),
                        "closed-loop throughput (Garwood exact Poisson 95 %)")
    knee = next((i for i, s in enumerate(steps) if s.saturated), None)
    before = steps if knee is None else steps[:knee]
    r_lo = max((s.offered_rps or 0.0 for s in before if _verdict(s) == "sustained"),
               default=0.0)
    if knee is None:
        top = max(s.offered_rps or 0.0 for s in steps)
        return Capacity(top, r_lo, math.inf, (r_lo, None),
                        "lower bound: no step overloaded (highest sustained step to inf)")
    k = steps[knee]
    r_hi = k.offered_rps or 0.0
    prev = (before[-1].offered_rps or 0.0) if before else 0.0
    ci = poisson_rate_interval(k.window_ok, k.duration_s) or (0.0, r_hi)
    point = min(max(k.ok_rps, prev), r_hi)
    low = min(max(ci[0], r_lo), point)
    high = max(min(ci[1], r_hi), point)
    return Capacity(point, low, high, (r_lo, r_hi), METHOD)
