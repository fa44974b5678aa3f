"""The report document (``report.json``): its shape, its version and its JSON Schema.

``report.json`` is what other tools read (the PR comment, a run browser, the Chaos Toolkit
extension), so its shape is versioned: ``schema_version`` follows semantic versioning (a new
optional key is a minor bump, a removed or retyped key a major one) and
``report.schema.json`` beside this module is the JSON Schema (draft 2020-12) that every
report validates against.

A run is described by two plain dicts, so stored runs can be re-rendered without the live
objects:

* ``scorecard``: exactly the shape of :meth:`aichaos.results.Scorecard.to_dict`.
* ``journal``: a Chaos Toolkit journal (``title``, ``run_id``, ``start``, ``end``,
  ``duration`` in seconds, ``status`` in ``completed | failed | aborted | interrupted``,
  ``deviated``, ``experiment``, ``steady_states: {before, after}``, ``run`` activities and
  ``rollbacks``). Missing keys are tolerated: a journal of an aborted run may lack most of
  them.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from typing import Any

from aichaos._version import __version__

#: version of the report.json shape (and of ``report.schema.json``)
SCHEMA_VERSION = "1.0.0"


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


def report_document(scorecard: dict[str, Any], journal: dict[str, Any]) -> dict[str, Any]:
    """The report.json document, strict-JSON-ready (NaN and infinity become None)::

        {"schema_version": "<SCHEMA_VERSION>",
         "aichaos": "<version>",
         "journal_status": "completed|failed|aborted|interrupted|null",
         "run": {<run_summary(journal)>},
         "scorecard": {<Scorecard.to_dict()>}}
    """
    document = {
        "schema_version": SCHEMA_VERSION,
        "aichaos": __version__,
        "journal_status": journal.get("status"),
        "run": run_summary(journal),
        "scorecard": scorecard,
    }
    result: dict[str, Any] = jsonable(document)
    return result


@functools.cache
def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of report.json, from ``report.schema.json``."""
    text = resources.files("aichaos.results").joinpath("report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_report(document: dict[str, Any]) -> list[str]:
    """Check a report.json document against :func:`report_schema`.

    Returns:
        One line per violation (``scorecard.layers.0.score: 'x' is not of type ...``);
        empty when the document is valid.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(report_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message}"
            for e in errors]
