"""Load and validate experiment files, translating every problem into one clear line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aichaos.config._model import Experiment
from aichaos.errors import ConfigError


def _short(value: Any, limit: int = 40) -> str:
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
    """One line for a pydantic error: ``source: field.path: message (got value)``.

    Args:
        source: file name (or label) the data came from.
        exc: the validation error.
        data: the validated input, used to keep only keys the user wrote in the path.
        prefix: path of ``data`` within the file, e.g. ``cases[3]``.

    When several fields are wrong, the first is named and the count of the others follows.
    The offending value is never echoed for secret-like fields (``api_key``, ``token``...).
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = _location(tuple(first["loc"]), data, prefix)
    kind = first["type"]
    msg = first["msg"]
    if kind == "extra_forbidden":
        msg = "unknown key (check spelling; see `aichaos schema`)"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind == "union_tag_invalid":
        msg = f"unknown type; expected one of {first.get('ctx', {}).get('expected_tags', '')}"
    elif kind == "union_tag_not_found":
        msg = "missing 'type' (openai, http, python or mock)"
    elif kind in _EXPECTED:
        msg = _EXPECTED[kind]
    elif kind == "literal_error":
        msg = f"expected {first.get('ctx', {}).get('expected', 'one of the allowed values')}"
    msg = msg.removeprefix("Value error, ")
    secret = any(_SECRET_FIELD.search(str(p)) for p in first["loc"])
    quiet = secret or kind in {"missing", "extra_forbidden"}
    got = "" if quiet else f" (got {_short(first.get('input'))})"
    more = f" [+{len(errors) - 1} more]" if len(errors) > 1 else ""
    return f"{source}: {loc}: {msg}{got}{more}"


def parse_experiment(data: Any, source: str = "<experiment>") -> Experiment:
    """Validate already-parsed experiment data.

    Raises:
        ConfigError: the data does not describe a valid experiment.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {_short(data)}")
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc, data)) from exc


def load_experiment(path: str | Path) -> Experiment:
    """Read a YAML experiment file, validate it, and make relative paths absolute.

    The ``dataset`` and ``layers.safety.dataset`` paths are resolved against the experiment
    file's directory.

    Raises:
        ConfigError: the file is missing, not YAML, or not a valid experiment.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: experiment file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read experiment file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{p}: {where}invalid YAML: {problem}") from exc
    experiment = parse_experiment(data, str(p))
    experiment._source = str(p.resolve())
    if experiment.dataset and not Path(experiment.dataset).is_absolute():
        experiment.dataset = str((p.parent / experiment.dataset).resolve())
    safety = experiment.layers.safety
    if safety is not None and safety.dataset and not Path(safety.dataset).is_absolute():
        safety.dataset = str((p.parent / safety.dataset).resolve())
    return experiment
