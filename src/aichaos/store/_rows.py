"""Stored ``cases`` rows back as :class:`aichaos.runner.CaseResult` observations."""

from __future__ import annotations

import json
from typing import Any

from aichaos._events import CaseResult


def _json(text: Any, default: Any) -> Any:
    if not isinstance(text, str) or not text:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


def case_result(row: dict[str, Any]) -> CaseResult:
    """The observation a ``cases`` row (``ResultStore.cases``) holds.

    Text fields are as stored: masked when the store masked them (the row's
    ``metadata.stored_masked`` says whether masking changed anything).
    """
    metadata = _json(row.get("metadata"), {})
    return CaseResult(
        run_id=row["run_id"], layer=row["layer"], suite=row["suite"], case_id=row["case_id"],
        variant=row["variant"], input=row.get("input") or "",
        expected=_json(row.get("expected"), None), output=row.get("output") or "",
        passed=row.get("passed"), score=row.get("score"), scores=_json(row.get("scores"), {}),
        error_class=row.get("error_class"), error=row.get("error"), status=row.get("status"),
        e2e_s=row.get("e2e_s"), ttft_s=row.get("ttft_s"), input_tokens=row.get("input_tokens"),
        output_tokens=row.get("output_tokens"), finish_reason=row.get("finish_reason"),
        seed=row.get("seed"), metadata=metadata if isinstance(metadata, dict) else {},
        timestamp=row.get("created_at") or 0.0,
    )
