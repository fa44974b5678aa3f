"""Text helpers every renderer shares: value and score formatting, check lines, verdicts.

Renderers read two plain dicts (see :mod:`aichaos.results`): ``scorecard``, the shape of
:meth:`aichaos.results.Scorecard.to_dict`, and ``journal``, a Chaos Toolkit journal.
"""

from __future__ import annotations

import math
from typing import Any

from aichaos.results import run_summary

#: Headline metrics shown per layer in tables (the first few, in the layer's own order).
HEADLINE_METRICS = 3


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


def failed_checks(scorecard: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(layer, check)`` pairs for every check that did not pass, in stack order (checks
    that could not be measured are listed by :func:`not_measured_checks` instead)."""
    return [
        (lay, check)
        for lay in layers(scorecard)
        for check in lay.get("checks") or []
        if not check.get("passed") and not check.get("not_measured")
    ]


def not_measured_checks(scorecard: dict[str, Any]) -> list[tuple[dict[str, Any],
                                                               dict[str, Any]]]:
    """``(layer, check)`` pairs for every check that could not be measured, in stack order."""
    return [(lay, check) for lay in layers(scorecard) for check in lay.get("checks") or []
            if check.get("not_measured")]


def check_line(check: dict[str, Any]) -> str:
    """One line for a check: measured value, threshold and message."""
    value = fmt_value(check.get("value"))
    unit = check.get("unit") or ""
    if unit and unit != "ratio" and check.get("value") is not None:
        value = f"{value} {unit}"
    parts = [f"value {value}"]
    if check.get("threshold"):
        parts.append(f"threshold {check['threshold']}")
    line = ", ".join(parts)
    if check.get("message"):
        line += f": {check['message']}"
    return line


def verdict(scorecard: dict[str, Any]) -> str:
    """One sentence: overall grade and score, and the weakest layer that sets it."""
    overall = scorecard.get("overall") or {}
    if overall.get("score") is None:
        return "No layer measured: no overall readiness grade."
    text = (
        f"Overall readiness {overall.get('grade', '-')} ({fmt_score(overall['score'])}/100), "
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
