"""The results model: scorecard, layer results, checks, grades, outcomes and intervals.

The runner, the probe suites, the store and every renderer share these types; nothing here
imports another aichaos component, so reading a finished result needs no runner or report
code. ``report.json``'s shape is versioned (:data:`SCHEMA_VERSION`) and described by a JSON
Schema (:func:`report_schema`).
"""

from aichaos.results._document import (
    SCHEMA_VERSION,
    jsonable,
    report_document,
    report_schema,
    run_summary,
    validate_report,
)
from aichaos.results._evidence import Interval, Outcome, ReplaySpec
from aichaos.results._grades import GRADE_FLOORS, Grade, GradeRange, grade
from aichaos.results._hints import HINTS, hint_for
from aichaos.results._scorecard import LAYERS, Check, FailingCase, LayerResult, Scorecard

__all__ = [
    "GRADE_FLOORS",
    "HINTS",
    "LAYERS",
    "SCHEMA_VERSION",
    "Check",
    "FailingCase",
    "Grade",
    "GradeRange",
    "Interval",
    "LayerResult",
    "Outcome",
    "ReplaySpec",
    "Scorecard",
    "grade",
    "hint_for",
    "jsonable",
    "report_document",
    "report_schema",
    "run_summary",
    "validate_report",
]
