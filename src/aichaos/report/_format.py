"""Text helpers every renderer shares: value and score formatting, check lines, verdicts.

Renderers read two plain dicts (see :mod:`aichaos.results`): ``scorecard``, the shape of
:meth:`aichaos.results.Scorecard.to_dict`, and ``journal``, a Chaos Toolkit journal.

Uncertainty is printed the same way everywhere: a grade whose interval spans several bands
as its range (``B–D``, best first), a score with its interval and the independent cases it
rests on (``82.0 [71.3–90.0], n=24 cases``), and a check as ``decided`` or ``open``. A field
that is None (not computed) prints nothing, so such a report reads as before.
"""

from __future__ import annotations

import math
from typing import Any

from aichaos.results import run_summary

#: Headline metrics shown per layer in tables (the first few, in the layer's own order).
HEADLINE_METRICS = 3
#: the dash between a range's ends (``B–D``, ``[71.3–90.0]``), as ``GradeRange`` prints it
RANGE_DASH = "–"
#: intervals at this level print without it
DEFAULT_LEVEL = 0.95


def fmt_value(value: Any) -> str:
    """Format a metric value for a table cell: 3 significant digits for floats.

    Args:
        value: any metric value (None, bool, int, float, str, ...).

    Returns:
        ``"n/a"`` for None and NaN, ``"yes"``/``"no"`` for booleans, ``g``-formatted floats,
        ``str(value)`` otherwise.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.3g}" if abs(value) < 1e6 else f"{value:.4g}"
    return str(value)


def fmt_score(score: Any) -> str:
    """Format a 0-100 score with one decimal; an em dash when not measured."""
    if isinstance(score, int | float) and not isinstance(score, bool):
        return f"{float(score):.1f}"
    return "—"


def fmt_grade(node: dict[str, Any]) -> str:
    """The grade to print for a layer or the overall verdict.

    Args:
        node: a dict with ``grade`` and ``grade_range`` (a layer of ``Scorecard.to_dict()``,
            or its ``overall``).

    Returns:
        the range (``"B–D"``) when ``grade_range`` is set and not firm, else the letter
        (``"-"`` when not measured).
    """
    letter = str(node.get("grade") or "-")
    grade_range = node.get("grade_range")
    if isinstance(grade_range, str) and RANGE_DASH in grade_range:
        return grade_range
    return letter


def grade_low(node: dict[str, Any]) -> str:
    """The worst letter :func:`fmt_grade` prints (the range's low end), for colouring."""
    return fmt_grade(node).rsplit(RANGE_DASH, 1)[-1]


def _level(interval: dict[str, Any]) -> str:
    level = interval.get("level")
    if isinstance(level, int | float) and abs(level - DEFAULT_LEVEL) > 1e-9:
        return f" ({level:.0%})"
    return ""


def fmt_interval(interval: Any, *, score: bool = True) -> str:
    """An interval as ``[low–high]``, with its level when it is not 95 % (``[40.0–70.0] (85%)``).

    Args:
        interval: an interval dict (``low``, ``high``, ``method``, ``level``, ``n``) or None.
        score: True for 0-100 scores (one decimal), False for check values (``fmt_value``).

    Returns:
        ``""`` when ``interval`` is None; ``"exact"`` for an exact (deterministic) value.
    """
    if not isinstance(interval, dict):
        return ""
    if interval.get("method") == "exact":
        return "exact"
    ends = [interval.get("low"), interval.get("high")]
    text = RANGE_DASH.join(fmt_score(e) if score else fmt_value(e) for e in ends)
    return f"[{text}]{_level(interval)}"


def fmt_cases(interval: Any) -> str:
    """``"n=24 cases"`` from an interval's ``n`` (``"n=1 case"``); ``""`` when not given."""
    n = interval.get("n") if isinstance(interval, dict) else None
    if not isinstance(n, int):
        return ""
    return f"n={n} case" + ("" if n == 1 else "s")


def score_uncertainty(node: dict[str, Any]) -> str:
    """What follows a score: ``[71.3–90.0], n=24 cases``; ``""`` when not computed."""
    if node.get("score") is None:
        return ""
    parts = [fmt_interval(node.get("interval")), fmt_cases(node.get("interval"))]
    return ", ".join(p for p in parts if p)


def score_text(node: dict[str, Any]) -> str:
    """A score with its interval and n when computed: ``82.0 [71.3–90.0], n=24 cases``."""
    text = fmt_score(node.get("score"))
    more = score_uncertainty(node)
    return f"{text} {more}" if more else text


def headline(layer: dict[str, Any], limit: int = HEADLINE_METRICS) -> str:
    """``name=value`` pairs of a layer's first ``limit`` metrics, comma separated."""
    metrics: dict[str, Any] = layer.get("metrics") or {}
    pairs = [f"{name}={fmt_value(value)}" for name, value in list(metrics.items())[:limit]]
    return ", ".join(pairs)


def layers(scorecard: dict[str, Any]) -> list[dict[str, Any]]:
    """The scorecard's layer dicts, in stack order (1..6)."""
    return sorted(scorecard.get("layers") or [], key=lambda lay: int(lay.get("layer", 0)))


def weakest_title(scorecard: dict[str, Any]) -> str | None:
    """Title of the weakest measured layer (the overall verdict's cause), or None."""
    key = (scorecard.get("overall") or {}).get("weakest_layer")
    for lay in layers(scorecard):
        if lay.get("key") == key:
            return str(lay.get("title", key))
    return None


def is_failed(check: dict[str, Any]) -> bool:
    """Did not pass and was measured (``aichaos.results.Check.failed`` on the dict form)."""
    return not check.get("passed") and not check.get("not_measured")


def failed_checks(scorecard: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(layer, check)`` pairs for every failed check (:func:`is_failed`), in stack order.

    Every renderer lists exactly these, unmeasured layers included, and they are the checks
    that fail ``aichaos run``'s exit code; a check that was not measured is not among them.
    """
    return [
        (lay, check)
        for lay in layers(scorecard)
        for check in lay.get("checks") or []
        if is_failed(check)
    ]


def unmeasured_checks(scorecard: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(layer, check)`` pairs for every check that was not measured, in stack order."""
    return [
        (lay, check)
        for lay in layers(scorecard)
        for check in lay.get("checks") or []
        if check.get("not_measured")
    ]


def check_state(check: dict[str, Any]) -> str:
    """``"decided"`` or ``"open"`` when the check's ``decided`` is set, else ``""``."""
    decided = check.get("decided")
    if decided is None:
        return ""
    return "decided" if decided else "open"


def check_line(check: dict[str, Any]) -> str:
    """One line for a check: measured value (with its interval), threshold, decided or open,
    and message; a check that was not measured says so first; a failed one ends with what
    usually fixes it (``Check.hint``)."""
    value = fmt_value(check.get("value"))
    unit = check.get("unit") or ""
    if unit and unit != "ratio" and check.get("value") is not None:
        value = f"{value} {unit}"
    interval = fmt_interval(check.get("interval"), score=False)
    if interval and check.get("value") is not None:
        value = f"{value} {interval}"
        cases = fmt_cases(check.get("interval"))
        if cases:
            value += f", {cases}"
    parts = [f"value {value}"]
    if check.get("threshold"):
        parts.append(f"threshold {check['threshold']}")
    if check_state(check):
        parts.append(check_state(check))
    if check.get("not_measured"):
        parts.insert(0, f"not measured: {check['not_measured']}")
    line = ", ".join(parts)
    if check.get("message"):
        line += f": {check['message']}"
    if check.get("hint") and not check.get("passed") and not check.get("not_measured"):
        line += f" (usual fix: {check['hint']})"
    return line


def verdict(scorecard: dict[str, Any]) -> str:
    """One sentence: overall grade and score, and the weakest layer that sets it."""
    overall = scorecard.get("overall") or {}
    if overall.get("score") is None:
        return "No layer measured: no overall readiness grade."
    interval = fmt_interval(overall.get("interval"))
    text = (
        f"Overall readiness {fmt_grade(overall)} ({fmt_score(overall['score'])}/100"
        f"{' ' + interval if interval else ''}), "
        f"set by the weakest layer: {weakest_title(scorecard)}."
    )
    measured, total = overall.get("measured_layers"), overall.get("layers")
    if isinstance(measured, int) and isinstance(total, int) and measured < total:
        text += (f" Only {measured} of {total} layers were measured: the grade covers those "
                 "alone.")
    return text


def status_line(journal: dict[str, Any]) -> str:
    """One line: run id, status, deviation and duration (``run-42: completed, deviated, 9.8 s``)."""
    summary = run_summary(journal)
    head = f"{summary['run_id'] or '(no run id)'}: {summary['status'] or 'status unknown'}"
    parts = [head, "deviated" if summary["deviated"] else "not deviated"]
    if isinstance(summary["duration_s"], int | float):
        parts.append(f"{summary['duration_s']:.1f} s")
    return ", ".join(parts)
