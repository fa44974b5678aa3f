"""JSON report: the versioned report.json document (:mod:`aichaos.results`) as text."""

from __future__ import annotations

import json
from typing import Any

from aichaos.results import report_document


def render_json(scorecard: dict[str, Any], journal: dict[str, Any]) -> str:
    """Render the machine-readable report.

    The shape is :func:`aichaos.results.report_document` (validated by
    :func:`aichaos.results.report_schema`); keys sorted at every level, indent 2, strict JSON
    (NaN and infinity become ``null``).

    Args:
        scorecard: ``Scorecard.to_dict()``.
        journal: a Chaos Toolkit journal dict.

    Returns:
        The JSON text, ending with a newline.
    """
    document = report_document(scorecard, journal)
    return json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n"
