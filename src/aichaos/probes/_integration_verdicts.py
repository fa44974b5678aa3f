"""Layer 3's intervals: per toxic over its cases, and for the layer over the toxics.

Per toxic, each case sent under the fault scores 1 when its outcome is acceptable for that
toxic (by default ``correct`` or ``fallback``) and 0 otherwise; the toxic's success-rate
interval is the betting confidence sequence over those case scores (Waudby-Smith & Ramdas
2023, via :func:`aichaos.scoring.rate_verdict`). The toxic's score applies penalties to the
rate (0 after a hang or without recovery, at most 50 after a failed check of its own); the
penalty is a monotone map, so applying it to both ends of the rate's interval gives the
score's interval.

The layer score is the mean of the exercised toxics' scores. Toxics may use different cases
(a CRM fault meets order-status questions), so the layer interval is not one sequence over
one set of cases: each toxic's interval is taken at confidence ``1 - alpha / k`` for ``k``
toxics, all ``k`` then hold together with probability ``>= 1 - alpha`` (Bonferroni), and the
mean of their low ends and of their high ends bounds the mean of the toxics' true scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aichaos.results import GradeRange, Interval
from aichaos.scoring import rate_verdict
from aichaos.stats import Interval as CSInterval
from aichaos.stats import decide

#: the layer interval's method name in reports
METHOD = "betting-cs, Bonferroni mean over toxics"
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Penalty:
    """How a toxic's success rate becomes its 0..1 score: zeroed, capped, or as is."""

    zero: bool = False
    cap: float | None = None

    def __call__(self, rate: float) -> float:
        if self.zero:
            return 0.0
        return min(rate, self.cap) if self.cap is not None else rate


def toxic_interval(scores: Mapping[str, float], penalty: Penalty, k: int) -> tuple[Interval,
                                                                                  Interval]:
    """The toxic's success-rate interval at ``1 - alpha / k`` and its score's (0..1) interval.

    Raises:
        ValueError: no scores, or ``k`` < 1.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    rate = rate_verdict(scores, confidence=1 - (1 - CONFIDENCE) / k).interval
    score = Interval(penalty(rate.low), penalty(rate.high), rate.method, rate.level, rate.n)
    return rate, score


@dataclass(frozen=True, slots=True)
class LayerInterval:
    """The mean of ``k`` toxic intervals: ``interval`` on a 0..1 scale, ``n`` distinct cases."""

    interval: Interval

    def scaled(self) -> Interval:
        i = self.interval
        return Interval(i.low * 100, i.high * 100, i.method, i.level, i.n)

    @property
    def grade_range(self) -> GradeRange:
        return GradeRange.of(self.interval.low * 100, self.interval.high * 100)

    def decided(self, threshold: float) -> bool:
        """Whether the interval excludes ``threshold`` (a rate bound in [0, 1])."""
        i = self.interval
        return decide(CSInterval(0.0, i.low, i.high, i.n or 0), threshold) != "open"


def layer_interval(intervals: Sequence[Interval], cases: int) -> LayerInterval:
    """The Bonferroni mean of per-toxic intervals (each already at ``1 - alpha / k``).

    Raises:
        ValueError: no intervals.
    """
    if not intervals:
        raise ValueError("layer interval of no toxics")
    k = len(intervals)
    low = sum(i.low for i in intervals) / k
    high = sum(i.high for i in intervals) / k
    return LayerInterval(Interval(low, high, METHOD, CONFIDENCE, cases))
