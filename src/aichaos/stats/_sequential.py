"""Sequential decisions on a rate: keep drawing cases until a check is decided or the budget ends.

A check ``rate >= threshold`` (or ``rate <= threshold`` for bad-event rates) is *decided* when
the anytime-valid interval of :mod:`aichaos.stats._confseq` excludes the threshold, and *open*
while it straddles it. Because the interval holds at every sample size at once (Ville's
inequality), stopping at the first decision keeps the chance of a wrong decision at most
alpha (Waudby-Smith & Ramdas 2023, Section 2; Howard et al. 2021, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Ann. Statist. 49(2)). A fixed-n design that peeks after
every case would not have that guarantee.

A grade is *firm* when the interval of its score lies inside one grade band, else a range
from the band of the low end to the band of the high end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aichaos.stats._confseq import BettingCS, Interval

Direction = Literal["at_least", "at_most"]
State = Literal["pass", "fail", "open"]


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a check stands: ``state`` after ``interval`` (``open`` when undecided)."""

    state: State
    interval: Interval

    @property
    def decided(self) -> bool:
        return self.state != "open"


def decide(interval: Interval, threshold: float, direction: Direction = "at_least") -> State:
    """``pass``/``fail`` when ``interval`` excludes ``threshold`` (in [0, 1]), else ``open``.

    ``at_least`` checks ``rate >= threshold`` (a pass rate); ``at_most`` checks
    ``rate <= threshold`` (a failure rate such as hallucination).
    """
    if interval.n == 0:
        return "open"
    if direction == "at_least":
        if interval.low >= threshold:
            return "pass"
        return "fail" if interval.high < threshold else "open"
    if interval.high <= threshold:
        return "pass"
    return "fail" if interval.low > threshold else "open"


class SequentialCheck:
    """Feeds per-case scores to a confidence sequence and says when the check is decided.

    Args:
        threshold: the check's bound on the mean score, in [0, 1].
        direction: ``at_least`` or ``at_most`` (see :func:`decide`).
        confidence: 1 - alpha of the interval.
        planned: the case budget the bets are tuned for (module docstring of _confseq).
        min_cases: never decide before this many cases (guards against a decision on one
            lucky case when the threshold sits at 0 or 1).

    Raises:
        ValueError: threshold outside [0, 1] or min_cases < 1.
    """

    def __init__(self, threshold: float, direction: Direction = "at_least", *,
                 confidence: float = 0.95, planned: int | None = None,
                 min_cases: int = 1) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if min_cases < 1:
            raise ValueError(f"min_cases must be >= 1, got {min_cases}")
        self.threshold = threshold
        self.direction: Direction = direction
        self.min_cases = min_cases
        self._cs = BettingCS(confidence, planned=planned)

    def update(self, score: float) -> Decision:
        """Add one case's score (its requests already averaged) and return the decision."""
        self._cs.update(score)
        return self.decision

    @property
    def decision(self) -> Decision:
        interval = self._cs.interval
        state = decide(interval, self.threshold, self.direction)
        if interval.n < self.min_cases:
            state = "open"
        return Decision(state, interval)


def band(score: float, floors: Sequence[tuple[float, str]], bottom: str = "F") -> str:
    """The letter whose floor ``score`` (0-100) reaches first in ``floors`` (high to low)."""
    for floor, letter in floors:
        if score >= floor:
            return letter
    return bottom


def grade_range(low: float, high: float, floors: Sequence[tuple[float, str]],
                bottom: str = "F") -> tuple[str, str]:
    """(best, worst) letters an interval of scores [low, high] (0-100) spans.

    The grade is firm when both are the same letter; otherwise print it as ``"B–D"``.
    """
    return band(high, floors, bottom), band(low, floors, bottom)
