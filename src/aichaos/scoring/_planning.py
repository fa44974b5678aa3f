"""How many independent cases a decided check or a firm grade needs, before anything is sent.

``aichaos validate`` prints these beside the cases a dataset has. The reasoning is the
verdict's own (:func:`aichaos.scoring.rate_verdict`, the betting confidence sequence of
Waudby-Smith & Ramdas 2023 over per-case scores, fixed-n use with ``planned = n``), applied to
a *deterministic* stand-in for a sample whose observed rate is exactly the expected one: the
balanced 0/1 sequence ``x_i = floor(i p) - floor((i - 1) p)``, whose every prefix mean is
within ``1/i`` of ``p`` (a Sturmian / Bresenham sequence). It has the binomial variance
``p (1 - p)`` of pass/fail cases, so the figure is the n at which a sample that came out
exactly at ``p`` is decided. It is an approximation, stated as such: a random sample at a true
rate ``p`` scatters around ``p`` and needs about that n or more (the benchmark
``benchmarks/verdict_calibration.py`` measures the real distribution); fractional per-case
scores (a case's requests averaged) have less variance and need fewer.

The smallest n is found by doubling and then bisection, on the assumption that a decision,
once reached, holds for larger n (true of the interval's width, which shrinks about as
``1/sqrt(n)``; the phase of the balanced sequence moves the figure by up to ~10 %: a pass rate
0.95 against 0.9 is decided at 277 cases, its mirror, a bad-event rate 0.05 against 0.1, at
299).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from aichaos.results import GRADE_FLOORS, GradeRange
from aichaos.scoring._verdict import rate_verdict
from aichaos.stats._sequential import Direction

#: largest n searched; beyond it the answer is "more than this"
MAX_CASES = 2000


def balanced_scores(rate: float, n: int) -> list[float]:
    """The first ``n`` terms of the balanced 0/1 sequence of mean ``rate`` (module docstring).

    Raises:
        ValueError: ``rate`` outside [0, 1] or ``n`` < 0.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [float(math.floor(i * rate + 1e-12) - math.floor((i - 1) * rate + 1e-12))
            for i in range(1, n + 1)]


def _smallest(ok: Callable[[int], bool], limit: int) -> int | None:
    """Smallest n in [1, limit] with ``ok(n)``, by doubling then bisection; None if none."""
    hi = 1
    while not ok(hi):
        if hi >= limit:
            return None
        hi = min(hi * 2, limit)
    lo = hi // 2  # ok(lo) is False (or lo is below the first probe)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


@functools.cache
def cases_to_decide(rate: float, threshold: float, direction: Direction = "at_least", *,
                    confidence: float = 0.95, limit: int = MAX_CASES) -> int | None:
    """Independent cases after which a check at ``rate`` is decided against ``threshold``.

    Args:
        rate: the expected rate (mean per-case score), in [0, 1].
        threshold: the check's bound, in [0, 1].
        direction: ``at_least`` (a pass rate) or ``at_most`` (a bad-event rate).
        confidence: the interval's level.
        limit: the largest n searched.

    Returns:
        the smallest n at which the verdict is decided (pass or fail), or None when no n up
        to ``limit`` decides it: always so when ``rate`` equals ``threshold``, and for a
        zero-tolerance bound met exactly (``at_most 0`` at rate 0, ``at_least 1`` at rate 1),
        which an interval never proves as a pass (one bad case decides it failed).
    """
    if abs(rate - threshold) < 1e-12:
        return None

    def ok(n: int) -> bool:
        return rate_verdict(balanced_scores(rate, n), threshold, direction,
                            confidence=confidence).decided

    return _smallest(ok, limit)


@functools.cache
def cases_for_firm_grade(rate: float, *, confidence: float = 0.95,
                         limit: int = MAX_CASES) -> int | None:
    """Independent cases after which a layer scoring ``100 * rate`` has a firm grade.

    A grade is firm when the score's interval lies inside one band (A >= 90, B >= 80, ...).
    At a band's floor exactly (e.g. 0.9) the interval always reaches below it: None.

    Returns:
        the smallest n whose interval on ``balanced_scores(rate, n)`` makes a firm grade, or
        None when none up to ``limit`` does.
    """
    if any(abs(100 * rate - floor) < 1e-9 for floor, _ in GRADE_FLOORS):
        return None

    def ok(n: int) -> bool:
        scaled = rate_verdict(balanced_scores(rate, n), confidence=confidence).scaled()
        return GradeRange.of(scaled.low, scaled.high).firm

    return _smallest(ok, limit)
