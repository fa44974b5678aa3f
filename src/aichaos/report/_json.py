"""JSON report, and the small helpers every renderer shares.

Every renderer takes two plain dicts so stored runs can be re-rendered without the live
objects:

* ``scorecard``: exactly the shape of :meth:`aichaos.report.Scorecard.to_dict`.
* ``journal``: a Chaos Toolkit journal (``title``, ``run_id``, ``start``, ``end``,
  ``duration`` in seconds, ``status`` in ``completed | failed | aborted | interrupted``,
  ``deviated``, ``experiment``, ``steady_states: {before, after}``, ``run`` activities and
  ``rollbacks``). Missing keys are tolerated: a journal of an aborted run may lack most of
  them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import aichaos

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
    """``(layer, check)`` pairs for every check that did not pass, in stack order."""
    return [
        (lay, check)
        for lay in layers(scorecard)
        for check in lay.get("checks") or []
        if not check.get("passed")
    ]


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


def _steady_state(entry: Any) -> bool | None:
    if isinstance(entry, dict) and "steady_state_met" in entry:
        met = entry["steady_state_met"]
        return None if met is None else bool(met)
    return None


def run_summary(journal: dict[str, Any]) -> dict[str, Any]:
    """Summary of a Chaos Toolkit journal: identity, timing, status and steady state.

    Returns:
        A dict with keys ``title``, ``run_id``, ``start``, ``end``, ``duration_s``,
        ``status``, ``deviated``, ``steady_state_before`` and ``steady_state_after``
        (True, False, or None when not evaluated), ``activities`` and
        ``activities_failed`` (counts), ``rollbacks``, and ``failed`` (True when the run
        failed or deviated: the condition for exit code 1).
    """
    states = journal.get("steady_states") or {}
    activities: list[Any] = journal.get("run") or []
    status = journal.get("status")
    deviated = bool(journal.get("deviated", False))
    return {
        "title": journal.get("title") or (journal.get("experiment") or {}).get("title"),
        "run_id": journal.get("run_id"),
        "start": journal.get("start"),
        "end": journal.get("end"),
        "duration_s": journal.get("duration"),
        "status": status,
        "deviated": deviated,
        "steady_state_before": _steady_state(states.get("before")),
        "steady_state_after": _steady_state(states.get("after")),
        "activities": len(activities),
        "activities_failed": sum(
            1 for a in activities if isinstance(a, dict) and a.get("status") != "succeeded"
        ),
        "rollbacks": len(journal.get("rollbacks") or []),
        "failed": deviated or (status is not None and status != "completed"),
    }


def status_line(journal: dict[str, Any]) -> str:
    """One line: run id, status, deviation and duration (``run-42: completed, deviated, 9.8 s``)."""
    summary = run_summary(journal)
    head = f"{summary['run_id'] or '(no run id)'}: {summary['status'] or 'status unknown'}"
    parts = [head, "deviated" if summary["deviated"] else "not deviated"]
    if isinstance(summary["duration_s"], int | float):
        parts.append(f"{summary['duration_s']:.1f} s")
    return ", ".join(parts)


def jsonable(value: Any) -> Any:
    """Replace NaN/inf by None and unknown objects by ``str`` so output is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if hasattr(value, "isoformat"):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return jsonable(item())
    return str(value)


def render_json(scorecard: dict[str, Any], journal: dict[str, Any]) -> str:
    """Render the machine-readable report.

    Shape (keys sorted at every level, indent 2, strict JSON: NaN and infinity become
    ``null``)::

        {"aichaos": "<version>",
         "journal_status": "completed|failed|aborted|interrupted|null",
         "run": {<run_summary(journal)>},
         "scorecard": {<Scorecard.to_dict()>}}

    Args:
        scorecard: ``Scorecard.to_dict()``.
        journal: a Chaos Toolkit journal dict.

    Returns:
        The JSON text, ending with a newline.
    """
    document = {
        "aichaos": aichaos.__version__,
        "journal_status": journal.get("status"),
        "run": run_summary(journal),
        "scorecard": scorecard,
    }
    return json.dumps(jsonable(document), indent=2, sort_keys=True, allow_nan=False) + "\n"
