"""The multiplicity step of ``aichaos compare``: which metrics' changes are significant
together, with the family-wise error rate held at ``alpha``.

Plain Holm (Holm 1979) over ~7 metrics multiplies the smallest p-value by 7, so with 8 cases
a pass rate falling from 7/8 to 1/8 (exact McNemar p = 2 / 2^6 = 0.031) can never be
flagged, and metrics that cannot be significant at all at this n (an error rate with no
discordant case: smallest attainable p = 1) still take their share of alpha. Two standard
remedies are combined:

1. **A primary metric.** The pass rate is the verdict aichaos grades on, so, as the primary
   endpoint of a trial, it gets the weight ``PRIMARY_WEIGHT`` = 0.8 of alpha and the other
   (secondary) metrics share the rest: a weighted Bonferroni split (Holm 1979, section 5;
   the graphical approach of Bretz et al. 2009, "A graphical approach to sequentially
   rejective multiple test procedures", Statistics in Medicine 28: 586-604). 0.8 is the
   smallest round weight at which six same-way flips among eight cases decide
   (2 / 2^6 = 0.031 <= 0.04). When the primary is rejected, its alpha passes to the
   secondaries (the next step runs without it), as in Bretz et al.'s graphs.
2. **Tarone's pruning of untestable metrics** (Tarone 1990, "A modified Bonferroni method
   for discrete data", Biometrics 46: 515-522; in step-down form, Hommel & Krummenauer
   1998, Biometrics 54: 673-681): among the secondaries, K is the smallest k such that at
   most k of them have a smallest attainable p-value (``SampleTest.min_p``) <= level / k;
   those are tested at level / K, the others spend no alpha (they cannot be rejected at that
   level whatever happened, so they add nothing to the family-wise error). The primary, too,
   spends its weight only when it is testable at it; otherwise the secondaries get all of
   alpha.

The procedure is step-down: after a step rejects some metrics, it runs again on the rest
(the primary's weight and the pruning recomputed), until a step rejects nothing.

Adjusted p-values (``p_adjusted``) are the smallest alpha at which the procedure rejects the
metric, found by bisection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: the primary metric's share of alpha (module docstring)
PRIMARY_WEIGHT = 0.8


@dataclass(frozen=True, slots=True)
class FamilyResult:
    """The multiplicity step's outcome, one entry per metric in input order.

    Attributes:
        rejected: the metric's null hypothesis (no change) is rejected at ``alpha``.
        level: the level the metric was last tested at (its share of alpha), or the level
            it would get were it testable; None for a metric with no p-value.
        testable: its smallest attainable p-value is within that level.
        adjusted: the smallest alpha that rejects it (1.0 when none does), or None.
    """

    rejected: tuple[bool, ...]
    level: tuple[float | None, ...]
    testable: tuple[bool, ...]
    adjusted: tuple[float | None, ...]


def _levels(p: Sequence[float | None], min_p: Sequence[float], active: set[int],
            primary: int | None, alpha: float) -> tuple[dict[int, float], dict[int, bool]]:
    """One step's level per active metric and whether it is testable at it."""
    level: dict[int, float] = {}
    testable: dict[int, bool] = {}
    rest = alpha
    if primary is not None and primary in active:
        level[primary] = PRIMARY_WEIGHT * alpha
        testable[primary] = min_p[primary] <= level[primary]
        if testable[primary]:
            rest = alpha - level[primary]
    secondaries = [i for i in active if i != primary]
    k = 1
    while sum(1 for i in secondaries if min_p[i] <= rest / k) > k:
        k += 1
    for i in secondaries:
        level[i] = rest / k
        testable[i] = min_p[i] <= rest / k
    return level, testable


def _procedure(p: Sequence[float | None], min_p: Sequence[float], primary: int | None,
               alpha: float) -> tuple[set[int], dict[int, float], dict[int, bool]]:
    active = {i for i, x in enumerate(p) if x is not None}
    rejected: set[int] = set()
    level: dict[int, float] = {}
    testable: dict[int, bool] = {}
    while active:
        step_level, step_testable = _levels(p, min_p, active, primary, alpha)
        level.update(step_level)
        testable.update(step_testable)
        now = {i for i in active if step_testable[i] and (p[i] or 0.0) <= step_level[i]}
        if not now:
            break
        rejected |= now
        active -= now
    return rejected, level, testable


def primary_tarone_holm(p: Sequence[float | None], min_p: Sequence[float],
                        primary: int | None, alpha: float) -> FamilyResult:
    """Run the step-down procedure of the module docstring.

    Args:
        p: each metric's p-value (None: not in the family, e.g. a threshold-only test).
        min_p: each metric's smallest attainable p-value (0 when unknown: always testable).
        primary: index of the primary metric in ``p``, or None.
        alpha: family-wise error rate, in (0, 1).

    Returns:
        the :class:`FamilyResult`.
    """
    rejected, level, testable = _procedure(p, min_p, primary, alpha)
    adjusted: list[float | None] = []
    for i, x in enumerate(p):
        if x is None:
            adjusted.append(None)
            continue
        if i not in _procedure(p, min_p, primary, 1.0 - 1e-12)[0]:
            adjusted.append(1.0)
            continue
        low, high = 0.0, 1.0 - 1e-12
        for _ in range(40):
            mid = (low + high) / 2.0
            if i in _procedure(p, min_p, primary, mid)[0]:
                high = mid
            else:
                low = mid
        adjusted.append(min(1.0, high))
    return FamilyResult(tuple(i in rejected for i in range(len(p))),
                        tuple(level.get(i) for i in range(len(p))),
                        tuple(testable.get(i, False) for i in range(len(p))),
                        tuple(adjusted))
