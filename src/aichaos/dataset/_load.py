"""Golden datasets: YAML, JSONL or CSV files of cases (input, expected, context, tags)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aichaos.config import ScorerSpec, format_validation_error
from aichaos.errors import DatasetError


class Case(BaseModel):
    """One golden case.

    Attributes:
        id: unique within the dataset.
        input: the user's text.
        expected: acceptable answer(s): one string, a list of alternatives, or (for the
            ``json_schema`` scorer) a schema mapping; None when only robustness is measured.
        context: reference text given with the input (retrieved passage, CRM record).
        tags: topic labels.
        scorer: per-case scorer overriding the layer's default.
    """

    model_config = ConfigDict(extra="forbid")
    id: str
    input: str
    expected: str | list[str] | dict[str, Any] | None = None
    context: str | None = None
    tags: list[str] = Field(default_factory=list)
    scorer: ScorerSpec | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


def _read_rows(path: Path) -> list[Any]:
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix in {".yaml", ".yml"}:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            problem = getattr(exc, "problem", exc)
            raise DatasetError(f"{path}: {where}invalid YAML: {problem}") from exc
        if isinstance(data, dict) and "cases" in data:
            data = data["cases"]
        if not isinstance(data, list):
            raise DatasetError(f"{path}: expected a list of cases or a mapping with 'cases:'")
        return data
    if suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise DatasetError(f"{path}: line {n}: invalid JSON: {exc.args[0]}") from exc
        return rows
    if suffix == ".csv":
        rows = []
        for row in csv.DictReader(text.splitlines()):
            item: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
            for key in ("expected", "tags"):
                if isinstance(item.get(key), str) and "|" in item[key]:
                    item[key] = [s.strip() for s in item[key].split("|")]
            if isinstance(item.get("tags"), str):
                item["tags"] = [item["tags"]]
            rows.append(item)
        return rows
    raise DatasetError(f"{path}: unsupported dataset format {suffix!r}; use .yaml, .jsonl or .csv")


def load_dataset(path: str | Path) -> list[Case]:
    """Read and validate a golden dataset.

    CSV columns: ``id,input,expected,context,tags``; ``|`` separates alternatives in
    ``expected`` and labels in ``tags``.

    Raises:
        DatasetError: missing file, bad format, invalid case (message names the case
            index and field), duplicate ids, or no cases at all.
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: dataset file not found")
    try:
        rows = _read_rows(p)
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{p}: cannot read dataset: {exc}") from exc
    cases: list[Case] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DatasetError(f"{p}: cases[{i}]: expected a mapping, got {type(row).__name__}")
        try:
            case = Case.model_validate(row)
        except ValidationError as exc:
            raise DatasetError(
                format_validation_error(str(p), exc, row, prefix=f"cases[{i}]")
            ) from exc
        if case.id in seen:
            raise DatasetError(f"{p}: cases[{i}].id: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise DatasetError(f"{p}: dataset has no cases")
    return cases
