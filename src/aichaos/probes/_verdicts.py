"""Intervals and decided/open states on the checks and scores of layers 2, 3 and 5.

Every rate-type check here rests on per-case scores in [0, 1] (a case's several requests
averaged, so requests that share a case cannot narrow the interval) and gets the betting
confidence sequence of :func:`aichaos.scoring.rate_verdict` (Waudby-Smith & Ramdas 2023); a
deterministic check gets :func:`aichaos.scoring.exact`. The estimand is the system's behaviour
on the population of cases the dataset samples.

Checks whose bar is "none ever" (``== 0`` crashes, errors after a fault) are existence claims:
one observed occurrence decides them as failed; when none was seen they stay open, with an
interval that bounds how often the event could still happen.
"""

from __future__ import annotations

from collections.abc import Mapping

from aichaos.probes._base import MIN_FIRM_SAMPLE
from aichaos.results import Check, LayerResult
from aichaos.scoring import Verdict, exact, rate_verdict
from aichaos.stats._sequential import Direction


def attach(check: Check, scores: Mapping[str, float], threshold: float | None,
           direction: Direction = "at_least") -> Verdict | None:
    """Fill ``check.interval`` and ``check.decided`` from per-case scores; returns the verdict.

    With no scores the check is left without an interval (None: not computed).
    """
    if not scores:
        return None
    verdict = rate_verdict(scores, threshold, direction)
    check.interval, check.decided = verdict.interval, verdict.decided
    return verdict


def attach_none_ever(check: Check, scores: Mapping[str, float]) -> Verdict | None:
    """``attach`` for a bad-event check with bar 0: decided once an event was seen."""
    verdict = attach(check, scores, 0.0, "at_most")
    if verdict is not None:
        check.decided = any(v > 0 for v in scores.values())
    return verdict


def attach_exact(check: Check) -> Check:
    """A deterministic check: its interval is its value (method ``exact``), decided."""
    if check.value is not None:
        check.interval = exact(float(check.value))
    check.decided = check.not_measured is None and check.value is not None
    return check


def fill_layer(result: LayerResult, verdict: Verdict, scores: Mapping[str, float]) -> None:
    """Set the layer's interval (0-100), grade range and per-case scores from ``verdict``."""
    result.interval = verdict.scaled()
    result.grade_range = verdict.grade_range
    result.case_scores = dict(scores)


def case_caution(result: LayerResult, cases: int) -> None:
    """Add the small-sample caution when the layer rests on fewer than ``MIN_FIRM_SAMPLE``
    independent cases (requests of one case are not independent evidence)."""
    if result.score is None or cases >= MIN_FIRM_SAMPLE:
        return
    caution = (f"based on only {cases} independent cases: the grade is indicative, not a firm "
               "verdict; raise the layer's limit for one")
    result.note = f"{result.note}; {caution}" if result.note else caution
