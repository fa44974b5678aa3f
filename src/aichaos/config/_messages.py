"""One-line messages for pydantic validation errors: the field path, what was expected, what
arrived (secrets never shown). Shared by the experiment loader, target settings and datasets."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError


def short_value(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _location(loc: tuple[int | str, ...], data: Any, prefix: str = "") -> str:
    """The field path the user wrote, e.g. ``layers.capability.scorer.type``.

    pydantic puts union-member and validator tags into error locations (``openai``,
    ``literal['all']``, ``function-after[...]``); they are dropped by walking the location
    alongside the input: a key is kept when its parent is a mapping that holds it, or when it
    is the last part (a missing field).
    """
    parts: list[str] = [prefix] if prefix else []
    node: Any = data
    for i, item in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(item, int) and isinstance(node, list):
            parts.append(f"[{item}]")
            node = node[item] if item < len(node) else None
        elif isinstance(item, str) and isinstance(node, dict) and (item in node or last):
            parts.append(("." if parts else "") + item)
            node = node.get(item)
        # anything else is a pydantic tag the user never wrote
    return "".join(parts) or "(top level)"


_SECRET_FIELD = re.compile(r"(?:^|_)(?:key|secret|token|password)$", re.IGNORECASE)


_EXPECTED = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
}


def format_validation_error(
    source: str, exc: ValidationError, data: Any = None, prefix: str = ""
) -> str:
    """One line per pydantic error: ``source: field.path: message (got value)``.

    Args:
        source: file name (or label) the data came from.
        exc: the validation error.
        data: the validated input, used to keep only keys the user wrote in the path.
        prefix: path of ``data`` within the file, e.g. ``cases[3]``.

    Every wrong field gets its own line (joined by newlines; the first error of a field
    only, so a union's alternatives do not repeat it), so one ``aichaos validate`` shows all
    there is to fix. The offending value is never echoed for secret-like fields
    (``api_key``, ``token``...).
    """
    lines: dict[str, str] = {}  # one line per field: a union's branches share a location
    for error in exc.errors(include_url=False):
        loc = _location(tuple(error["loc"]), data, prefix)
        lines.setdefault(loc, _error_line(source, error, loc))
    return "\n".join(lines.values())


def _error_line(source: str, error: Any, loc: str) -> str:
    kind = error["type"]
    msg = error["msg"]
    if kind == "extra_forbidden":
        msg = "unknown key (check spelling; see `aichaos schema`)"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind == "union_tag_invalid":
        msg = f"unknown type; expected one of {error.get('ctx', {}).get('expected_tags', '')}"
    elif kind == "union_tag_not_found":
        msg = "missing 'type' (openai, http, python or mock)"
    elif kind in _EXPECTED:
        msg = _EXPECTED[kind]
    elif kind == "literal_error":
        msg = f"expected {error.get('ctx', {}).get('expected', 'one of the allowed values')}"
    msg = msg.removeprefix("Value error, ")
    secret = any(_SECRET_FIELD.search(str(p)) for p in error["loc"])
    quiet = secret or kind in {"missing", "extra_forbidden"}
    got = "" if quiet else f" (got {short_value(error.get('input'))})"
    return f"{source}: {loc}: {msg}{got}"
