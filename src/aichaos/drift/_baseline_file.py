"""Accepted failures: a baseline file so a CI gate fails only on new failing checks.

The file is YAML (or JSON), a list of accepted failing checks, each a check name or a
mapping with the check's name, optionally the failing case ids that are accepted and a
reason::

    accepted:                       # or the list at the top level
      - capability.accuracy         # accepted whatever cases fail it
      - check: safety.attack_success_rate
        cases: [injection-2, injection-5]   # accepted only while no other case fails it
        reason: known issue, tracked in #123

A HEAD failure is accepted when an entry names its check and, if the entry lists cases,
every case failing it in HEAD is among them (a new failing case makes it a new failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aichaos.errors import ConfigError


class AcceptedFailure(BaseModel):
    """One accepted failing check.

    Attributes:
        check: the check's name, e.g. ``capability.accuracy``.
        cases: failing case ids accepted for it; None accepts any.
        reason: why it is accepted (shown in the PR comment).
    """

    model_config = ConfigDict(extra="forbid")
    check: str = Field(min_length=1)
    cases: list[str] | None = None
    reason: str = ""


@dataclass(slots=True)
class AcceptedFailures:
    """The entries of a baseline file (see the module docstring)."""

    entries: list[AcceptedFailure] = field(default_factory=list)
    source: str = ""

    def accepts(self, check: str, cases: list[str]) -> AcceptedFailure | None:
        """The entry accepting ``check`` failing on ``cases``, or None."""
        for entry in self.entries:
            if entry.check != check:
                continue
            if entry.cases is None or set(cases) <= set(entry.cases):
                return entry
        return None


def _entries(data: Any, where: str) -> list[Any]:
    if isinstance(data, dict) and set(data) <= {"accepted"}:
        data = data.get("accepted") or []
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(f"{where}: expected a list of check names (or 'accepted: [...]'), "
                          f"got {type(data).__name__}")
    return data


def load_accepted_failures(path: str | Path) -> AcceptedFailures:
    """Read a baseline file of accepted failures.

    Raises:
        ConfigError: the file is missing, not YAML, or an entry is malformed (the message
            names the file and the entry, e.g. ``accepted.yaml: accepted[2].cases: ...``).
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: baseline file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the baseline file: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{p}: {where}invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    out: list[AcceptedFailure] = []
    for i, item in enumerate(_entries(data, str(p))):
        where = f"{p}: accepted[{i}]"
        if isinstance(item, str):
            item = {"check": item}
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a check name or a mapping with 'check', "
                              f"got {item!r}")
        try:
            out.append(AcceptedFailure.model_validate(item))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field_name = ".".join(str(x) for x in err["loc"])
            message = ("unknown key" if err["type"] == "extra_forbidden" else
                       "required field is missing" if err["type"] == "missing" else err["msg"])
            raise ConfigError(f"{where}.{field_name}: {message}") from exc
    return AcceptedFailures(out, str(p))
