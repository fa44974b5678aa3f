"""Deterministic text scorers: exact, contains, regex, JSON Schema."""

from __future__ import annotations

import json
import re
import unicodedata

import jsonschema

from aichaos.dataset import Case
from aichaos.scoring._base import Score, Scorer, expected_list, scorers


def normalize(text: str) -> str:
    """NFKC, casefold, collapse whitespace, strip surrounding punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split()).strip(" .!?,;:\"'")


@scorers.register("exact", summary="answer equals an expected string after normalisation", layer=1)
class ExactScorer(Scorer):
    """1.0 when the normalised answer equals one normalised expected string, else 0.0."""

    name = "exact"

    def score(self, output: str, case: Case) -> Score:
        got = normalize(output)
        for exp in expected_list(case):
            if got == normalize(exp):
                return Score(1.0, True, f"equals {exp!r}")
        return Score(0.0, False, "no expected answer matched exactly")


@scorers.register(
    "contains", summary="answer contains one of the expected fragments (case-insensitive)", layer=1
)
class ContainsScorer(Scorer):
    """1.0 when any expected fragment occurs in the answer (both normalised), else 0.0.

    A number at either end of a fragment must be a whole number in the answer: "5 business
    days" does not occur in "15 business days", nor "10%" in "1.10%".

    Args:
        all: require every expected fragment instead of any one.
    """

    name = "contains"

    def __init__(self, all: bool = False) -> None:
        self.all = all

    def score(self, output: str, case: Case) -> Score:
        got = normalize(output)
        expected = expected_list(case)
        if not expected:
            return Score(0.0, False, "case has no expected answer")
        hits = [e for e in expected if _occurs(normalize(e), got)]
        ok = len(hits) == len(expected) if self.all else bool(hits)
        value = len(hits) / len(expected) if self.all else float(ok)
        why = f"contains {hits[0]!r}" if hits else f"none of {len(expected)} expected fragments"
        return Score(value, ok, why)


def _occurs(fragment: str, text: str) -> bool:
    """``fragment`` in ``text``, where a digit at an end of ``fragment`` may not continue a
    longer number in ``text``."""
    if not fragment:
        return True
    head = r"(?<![\d.])" if fragment[0].isdigit() else ""
    tail = r"(?!\.?\d)" if fragment[-1].isdigit() else ""
    return re.search(head + re.escape(fragment) + tail, text) is not None


@scorers.register("regex", summary="answer matches a regular expression", layer=1)
class RegexScorer(Scorer):
    """1.0 when ``pattern`` (or, if None, any expected string taken as a pattern) matches.

    Args:
        pattern: regular expression (Python syntax, searched, case-insensitive).

    Raises:
        ValueError: the pattern does not compile (becomes a PluginError at build time).
    """

    name = "regex"

    def __init__(self, pattern: str | None = None) -> None:
        try:
            self.pattern = re.compile(pattern, re.IGNORECASE) if pattern else None
        except re.error as exc:
            raise ValueError(f"invalid pattern {pattern!r}: {exc}") from exc

    def score(self, output: str, case: Case) -> Score:
        patterns = [self.pattern] if self.pattern else [
            re.compile(p, re.IGNORECASE) for p in expected_list(case)
        ]
        for pat in patterns:
            if pat.search(output):
                return Score(1.0, True, f"matches /{pat.pattern}/")
        return Score(0.0, False, "no pattern matched")


@scorers.register("json_schema", summary="answer is JSON valid against a JSON Schema", layer=1)
class JsonSchemaScorer(Scorer):
    """1.0 when the answer parses as JSON and validates against the schema.

    The schema is the scorer's ``schema`` argument or the case's ``expected`` mapping. A JSON
    object embedded in surrounding prose (or a Markdown code fence) is extracted first.
    """

    name = "json_schema"

    def __init__(self, schema: dict[str, object] | None = None) -> None:
        self.schema = schema

    def score(self, output: str, case: Case) -> Score:
        schema = self.schema or (case.expected if isinstance(case.expected, dict) else None)
        if schema is None:
            return Score(0.0, False, "no JSON Schema given")
        try:
            data = json.loads(_json_part(output))
        except ValueError:
            return Score(0.0, False, "answer is not JSON")
        try:
            jsonschema.validate(data, schema)
        except jsonschema.ValidationError as exc:
            return Score(0.0, False, f"schema violation: {exc.message[:120]}")
        return Score(1.0, True, "valid against the schema")


def _json_part(text: str) -> str:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    end = max(text.rfind("}"), text.rfind("]"))
    return text[start : end + 1] if start >= 0 and end > start else text
