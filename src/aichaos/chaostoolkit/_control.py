"""Where a Chaos Toolkit run's chaos proxy lives between activities, and how to reach it.

Chaos Toolkit calls each activity as a plain synchronous function, one after another, in one
process. :func:`aichaos.chaostoolkit.actions.start_proxy` therefore starts the proxy as its
own process (``aichaos proxy start``) that outlives the call, and records it in a small JSON
*state file* ``{pid, control_url, proxies, log}``. Later actions, probes and rollbacks find
the control API (Toxiproxy's REST shape) from, in order: their ``control_url`` argument, the
experiment's ``configuration.aichaos_control_url``, the state file
(``configuration.aichaos_state_file``, default ``aichaos-proxy.json`` in the working
directory), then Toxiproxy's default ``http://127.0.0.1:8474``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from aichaos.errors import AIChaosError, ProxyError
from aichaos.proxy import ProxyClient

T = TypeVar("T")
DEFAULT_STATE_FILE = "aichaos-proxy.json"
DEFAULT_CONTROL_URL = "http://127.0.0.1:8474"


def activity_failed(message: str) -> Exception:
    """Chaos Toolkit's ``ActivityFailed`` (journaled as the activity's failure) when chaoslib
    is installed, else :class:`aichaos.errors.ProxyError`."""
    try:  # chaoslib ships no type information: looked up by name
        failed = importlib.import_module("chaoslib.exceptions").ActivityFailed
    except ImportError:
        return ProxyError(message)
    error: Exception = failed(message)
    return error


def state_path(state_file: str | None, configuration: Mapping[str, Any] | None) -> Path:
    """The state file: the argument, ``configuration.aichaos_state_file``, or the default."""
    chosen = state_file or (configuration or {}).get("aichaos_state_file") or DEFAULT_STATE_FILE
    return Path(str(chosen))


def read_state(path: Path) -> dict[str, Any] | None:
    """The state file's content, or None when there is none.

    Raises:
        ActivityFailed: the file exists but is not a JSON object.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise activity_failed(f"{path}: unreadable aichaos state file: {exc}") from exc
    if not isinstance(doc, dict):
        raise activity_failed(f"{path}: aichaos state file is not a JSON object")
    return doc


def write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def control_url(control_url: str | None = None, configuration: Mapping[str, Any] | None = None,
                state_file: str | None = None) -> str:
    """The control API base URL, resolved as the module docstring says."""
    if control_url:
        return control_url.rstrip("/")
    configured = (configuration or {}).get("aichaos_control_url")
    if configured:
        return str(configured).rstrip("/")
    state = read_state(state_path(state_file, configuration))
    if state and state.get("control_url"):
        return str(state["control_url"]).rstrip("/")
    return DEFAULT_CONTROL_URL


def call(url: str, fn: Callable[[ProxyClient], Awaitable[T]]) -> T:
    """Run ``fn(client)`` against the control API at ``url``, synchronously.

    Raises:
        ActivityFailed: the API is unreachable or refused the call (its one-line message).
    """

    async def go() -> T:
        async with ProxyClient(url) as client:
            return await fn(client)

    try:
        return asyncio.run(go())
    except AIChaosError as exc:
        raise activity_failed(str(exc)) from exc
