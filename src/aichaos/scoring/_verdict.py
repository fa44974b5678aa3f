"""From observations to a verdict: per-case scores, an interval on them, decided and firm.

The unit of every interval is the independent *case*, not the request: the estimand is the
system's behaviour on the population of cases the dataset samples. A case's several
requests (repeats, variants of one golden case) are averaged into one score in [0, 1] first,
so requests that share a case (intra-case correlation) cannot narrow the interval. Repeats of a
deterministic target therefore count once.

The interval is the betting confidence sequence of :mod:`aichaos.stats`
(Waudby-Smith & Ramdas 2023), which is valid at every sample size at once, so a layer that
stops sampling as soon as its checks are decided (``runtime.confidence: decided``) keeps its
error rate. A deterministic check ("exports GenAI spans") has no sampling error: it gets an
``exact`` interval, never an invented one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aichaos._events import CaseResult
from aichaos.results import GradeRange, Interval
from aichaos.stats import betting_interval, decide
from aichaos.stats._sequential import Direction, State

#: the interval method's name in reports (Waudby-Smith & Ramdas 2023, betting CS)
METHOD = "betting-cs"


def case_score(result: CaseResult) -> float:
    """One request's score in [0, 1]: its scorer's value, else 1/0 for passed/failed.

    A request with neither (not scored) counts 0: it cannot show the behaviour wanted.
    """
    if result.score is not None:
        return min(1.0, max(0.0, float(result.score)))
    return 1.0 if result.passed else 0.0


def case_scores(results: Iterable[CaseResult]) -> dict[str, float]:
    """Case id -> the mean score of that case's requests (each in [0, 1]), in first-seen order.

    Use this for every layer interval: n is the number of cases, not requests.
    """
    sums: dict[str, list[float]] = defaultdict(list)
    for r in results:
        sums[r.case_id].append(case_score(r))
    return {case: sum(v) / len(v) for case, v in sums.items()}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rate's point value, interval and where it stands against a threshold.

    Attributes:
        value: mean per-case score, in [0, 1].
        interval: the interval on ``value`` (same unit), with ``n`` cases.
        state: ``pass``/``fail`` when the interval excludes the threshold, else ``open``;
            ``open`` when no threshold was given.
    """

    value: float
    interval: Interval
    state: State

    @property
    def decided(self) -> bool:
        return self.state != "open"

    @property
    def grade_range(self) -> GradeRange:
        """The grades the interval spans, scaled to 0-100."""
        return GradeRange.of(self.interval.low * 100, self.interval.high * 100)

    def scaled(self) -> Interval:
        """The interval on the 0-100 score scale (for ``LayerResult.interval``)."""
        i = self.interval
        return Interval(i.low * 100, i.high * 100, i.method, i.level, i.n)


def rate_verdict(scores: Mapping[str, float] | Iterable[float], threshold: float | None = None,
                 direction: Direction = "at_least", *, confidence: float = 0.95,
                 planned: int | None = None) -> Verdict:
    """The verdict on the mean of per-case scores (each in [0, 1]).

    Args:
        scores: per-case scores (a mapping from :func:`case_scores`, or the values).
        threshold: the check's bound on the mean in [0, 1], or None (interval only).
        direction: ``at_least`` for a pass rate, ``at_most`` for a bad-event rate.
        confidence: 1 - alpha.
        planned: the case budget the sequence was tuned for (default: the number of scores).

    Raises:
        ValueError: no scores, or a score outside [0, 1].
    """
    values = list(scores.values()) if isinstance(scores, Mapping) else list(scores)
    cs = betting_interval(values, confidence, planned=planned)
    interval = Interval(cs.low, cs.high, METHOD, confidence, cs.n)
    state: State = "open" if threshold is None else decide(cs, threshold, direction)
    return Verdict(cs.mean, interval, state)


def exact(value: float) -> Interval:
    """The interval of a deterministic measurement: the value itself, method ``exact``."""
    return Interval(value, value, "exact", 1.0, None)
