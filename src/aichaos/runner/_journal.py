"""Chaos Toolkit-shaped journal records.

The journal follows chaostoolkit-lib's ``journal.json``: ``status`` is one of
``completed | failed | aborted | interrupted``, ``deviated`` is true when the steady-state
hypothesis held before the method and not after it, and every activity (probe, action,
rollback) has ``start``, ``end``, ``duration`` (s), ``status``, ``output`` and ``exception``.
"""

from __future__ import annotations

import platform
import socket
import time
from datetime import UTC, datetime
from typing import Any

from aichaos._version import __version__


def iso(ts: float) -> str:
    """ISO 8601 UTC timestamp for a Unix time."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


class ActivityRecord:
    """Times one journal activity; ``finish()`` returns the Chaos Toolkit run record."""

    def __init__(self, kind: str, name: str, **extra: Any) -> None:
        self.kind = kind
        self.name = name
        self.extra = extra
        self.started = time.time()

    def finish(self, status: str, output: Any = None, error: str | None = None) -> dict[str, Any]:
        ended = time.time()
        record: dict[str, Any] = {
            "activity": {"type": self.kind, "name": self.name, **self.extra},
            "status": status,
            "start": iso(self.started),
            "end": iso(ended),
            "duration": round(ended - self.started, 3),
            "output": output,
        }
        if error is not None:
            record["exception"] = [error]
        return record


def new_journal(run_id: str, experiment: dict[str, Any]) -> dict[str, Any]:
    """An empty journal for a run that starts now."""
    return {
        "chaoslib-version": None,
        "aichaos-version": __version__,
        "run_id": run_id,
        "platform": platform.platform(),
        "node": socket.gethostname(),
        "experiment": experiment,
        "title": experiment.get("title"),
        "start": iso(time.time()),
        "end": None,
        "duration": None,
        "status": None,
        "deviated": False,
        "steady_states": {"before": None, "after": None, "during": []},
        "run": [],
        "rollbacks": [],
    }
