"""Queue behaviour past the knee: does the system shed load, or queue without bound?

Offered more than it can serve, a system can only do one of two things with the excess: refuse
it (load shedding: a fast 429 or 503, ideally with ``Retry-After`` so well-behaved clients back
off, RFC 9110 §15.6.4 and RFC 6585 §4), or keep it (a queue that grows for as long as the
overload lasts: every later request waits longer, until clients time out). Google's SRE book
("Handling Overload", ch. 21) and AWS's Builders' Library ("Using load shedding to avoid
overload") both ask for the first: bounded latency for the requests admitted.

For each overloaded step this module reads, from the step's per-request samples:

* rejection rate: 429 and 503 answers over requests scheduled; and the share of them that
  carried ``Retry-After``;
* admitted-request latency: p50 and p95 E2E of the successful requests, and their trend within
  the step (:func:`aichaos.stats.step_trend` at the admitted rate, calibrated by queue
  simulation; a flagged slope must also exceed the 0.11 s/s floor of
  :mod:`aichaos.load._overload`);
* client timeouts: requests that timed out or were still unfinished when the drain ended.

Behaviour: ``unbounded_queue`` when admitted latency grows for the whole step or more than
5 % of requests timed out at the client; else ``sheds`` when it answered 429/503; else
``errors`` when it failed requests otherwise (5xx, resets); else ``bounded``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from aichaos.load._overload import SIMS, TREND_MAX_REQUESTS
from aichaos.load._results import StepResult

Behaviour = Literal["unbounded_queue", "sheds", "errors", "bounded"]
REJECT_STATUSES = (429, 503)
TIMEOUT_CLASSES = ("timeout", "unfinished")
#: client-timeout share above which a step counts as queueing without bound
MAX_TIMEOUT_SHARE = 0.05
SLOPE_FLOOR = 1 / 0.9 - 1


@dataclass(frozen=True, slots=True)
class QueueBehaviour:
    """What one overloaded step did with the excess load (module doc).

    Attributes:
        step: the step's index; offered_rps: its rate.
        behaviour: ``unbounded_queue`` | ``sheds`` | ``errors`` | ``bounded``.
        scheduled, rejected, timeouts, other_errors, admitted: request counts.
        rejection_rate: rejected / scheduled.
        retry_after_share: rejections that carried ``Retry-After`` / rejected (None: none).
        retry_after_s: the median ``Retry-After`` given, s (None: none).
        admitted_p50_s, admitted_p95_s: E2E of the successful requests, s.
        admitted_slope: Theil-Sen slope of their latency on send time, s/s.
        admitted_trend: the trend test's verdict on them (None: fewer than 3).
    """

    step: int
    offered_rps: float | None
    behaviour: Behaviour
    scheduled: int
    rejected: int
    timeouts: int
    other_errors: int
    admitted: int
    rejection_rate: float
    retry_after_share: float | None
    retry_after_s: float | None
    admitted_p50_s: float | None
    admitted_p95_s: float | None
    admitted_slope: float | None
    admitted_trend: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for a check's message."""
        lat = ("no request admitted" if self.admitted_p95_s is None else
               f"admitted p50 {self.admitted_p50_s:.3g} s, p95 {self.admitted_p95_s:.3g} s"
               + ("" if self.admitted_slope is None
                  else f", latency trend {self.admitted_slope:+.3g} s/s"))
        ra = ("" if self.retry_after_share is None
              else f", Retry-After on {self.retry_after_share:.0%}")
        return (f"at {self.offered_rps:g} req/s: {self.rejected}/{self.scheduled} rejected "
                f"(429/503, {self.rejection_rate:.1%}{ra}), {self.timeouts} client timeouts, "
                f"{self.other_errors} other errors; {lat}")


def queue_behaviour(step: StepResult, service: Sequence[float], *,
                    seed: int = 0) -> QueueBehaviour:
    """Classify what overloaded ``step`` did with the excess (module doc).

    Args:
        step: an overloaded step with its ``samples``.
        service: service times for the trend's calibration (the base step's), s.
        seed: calibration seed.
    """
    samples = step.samples
    n = step.scheduled or len(samples)
    rejected = [s for s in samples if s.status in REJECT_STATUSES]
    timeouts = sum(1 for s in samples if s.error_class in TIMEOUT_CLASSES)
    admitted = [s for s in samples if s.error_class is None]
    other = sum(1 for s in samples if s.error_class is not None
                and s.status not in REJECT_STATUSES and s.error_class not in TIMEOUT_CLASSES)
    retry = [s.retry_after_s for s in rejected if s.retry_after_s is not None]
    lat = np.asarray([s.latency_s for s in admitted], dtype=float)
    p50 = float(np.percentile(lat, 50)) if lat.size else None
    p95 = float(np.percentile(lat, 95)) if lat.size else None
    slope: float | None = None
    trend: str | None = None
    full = [s for s in admitted if 0 <= s.send_s < step.duration_s]
    rate = len(full) / step.duration_s if step.duration_s > 0 else 0.0
    window = min(step.duration_s, TREND_MAX_REQUESTS / rate) if rate else 0.0
    inside = [s for s in full if s.send_s < window]
    if len(inside) >= 3 and service and window > 0:
        from aichaos.stats import step_trend

        st = step_trend([s.send_s for s in inside], [s.latency_s for s in inside], rate,
                        window, service, sims=SIMS, seed=seed)
        slope, trend = st.slope, st.verdict
    growing = trend == "overloaded" and slope is not None and slope > SLOPE_FLOOR
    behaviour: Behaviour
    if growing or (n and timeouts / n > MAX_TIMEOUT_SHARE):
        behaviour = "unbounded_queue"
    elif rejected:
        behaviour = "sheds"
    elif other:
        behaviour = "errors"
    else:
        behaviour = "bounded"
    return QueueBehaviour(
        step.index, step.offered_rps, behaviour, n, len(rejected), timeouts, other,
        len(admitted), len(rejected) / n if n else 0.0,
        len(retry) / len(rejected) if rejected else None,
        float(np.median(retry)) if retry else None, p50, p95, slope, trend)
