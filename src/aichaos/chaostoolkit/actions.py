"""Chaos Toolkit actions: start a chaos proxy, add and remove toxics, stop it.

Use them as ``provider: {type: python, module: aichaos.chaostoolkit.actions, func: NAME,
arguments: {...}}``. Every function is synchronous, as Chaos Toolkit calls them, and returns
a JSON-able value that lands in the journal. Failures raise Chaos Toolkit's
``ActivityFailed`` with one line saying what went wrong. How later activities find the
proxy: :mod:`aichaos.chaostoolkit._control`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from aichaos.chaostoolkit._control import (
    activity_failed,
    call,
    control_url,
    pid_alive,
    read_state,
    state_path,
    write_state,
)

#: proxies started by this process, so stop_proxy can reap them (no zombie left behind)
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_CONTROL_LINE = re.compile(r"^control API (http://\S+)$", re.M)
_PROXY_LINE = re.compile(r"^proxy (\S+): (\S+) -> ", re.M)


def start_proxy(name: str | None = None, upstream: str | None = None,
                listen: str = "127.0.0.1:0", proxies: list[Mapping[str, str]] | None = None,
                control: str = "127.0.0.1:8474", seed: int = 42, check_upstream: bool = True,
                startup_timeout_s: float = 20.0, state_file: str | None = None,
                configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Start a chaos proxy process (:mod:`aichaos.chaostoolkit._serve`) that outlives this call.

    Give one proxy with ``name``/``upstream``/``listen`` or several as ``proxies: [{name,
    listen, upstream}]``. The system under test must call each dependency through its
    ``listen`` address (fix the port there; port 0 picks a free one, returned here).

    Args:
        name: dependency name of a single proxy.
        upstream: ``http://host:port`` it forwards to.
        listen: ``host:port`` it listens on (loopback by default).
        proxies: several proxies instead of name/upstream/listen.
        control: ``host:port`` of the control API (Toxiproxy's default port 8474; 0 = free).
        seed: seed of the toxics' per-request RNG.
        check_upstream: refuse upstreams that accept no connection.
        startup_timeout_s: seconds to wait for the control API.
        state_file: where to record the process (default: see ``_control``).
        configuration: Chaos Toolkit's configuration (passed in by Chaos Toolkit).

    Returns:
        ``{"pid", "control_url", "proxies": {name: "host:port"}, "state_file", "log"}``.

    Raises:
        ActivityFailed: bad arguments, a proxy from an earlier start still running, or the
            process exited or did not answer in time (its last log line is in the message).
    """
    specs = [dict(p) for p in proxies or []]
    if name or upstream:
        specs.append({"name": name or "", "upstream": upstream or "", "listen": listen})
    if not specs:
        raise activity_failed("start_proxy: give name and upstream, or proxies")
    for i, spec in enumerate(specs):
        missing = [k for k in ("name", "upstream") if not spec.get(k)]
        if missing:
            raise activity_failed(f"start_proxy: proxy {i + 1}: missing {', '.join(missing)}")
    path = state_path(state_file, configuration)
    state = read_state(path)
    if state and isinstance(state.get("pid"), int) and pid_alive(state["pid"]):
        raise activity_failed(f"start_proxy: a chaos proxy is already running (pid "
                              f"{state['pid']}, {state.get('control_url')}, state file {path});"
                              " stop it first with stop_proxy")
    log = path.with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    launch = {"control": control, "seed": seed, "check_upstream": check_upstream,
              "proxies": [{"name": p["name"], "listen": p.get("listen") or "127.0.0.1:0",
                           "upstream": p["upstream"]} for p in specs]}
    cmd = [sys.executable, "-m", "aichaos.chaostoolkit._serve", json.dumps(launch)]
    with open(log, "wb") as out:
        # its own session: a Ctrl-C to `chaos run` must leave it up for the rollbacks
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    _CHILDREN[proc.pid] = proc
    deadline = time.monotonic() + startup_timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = _CONTROL_LINE.search(text)
        bound = dict(_PROXY_LINE.findall(text))
        if found and len(bound) >= len(specs):
            result = {"pid": proc.pid, "control_url": found.group(1), "proxies": bound,
                      "state_file": str(path), "log": str(log)}
            write_state(path, result)
            return result
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    _terminate(proc.pid, 5.0)
    last = [ln for ln in text.splitlines() if ln.strip()]
    raise activity_failed(f"start_proxy: the proxy process did not start: "
                          f"{last[-1] if last else 'no output'} (log {log})")


def add_toxic(proxy: str, type: str, attributes: Mapping[str, Any] | None = None,
              name: str | None = None, toxicity: float = 1.0, stream: str = "downstream",
              control_url: str | None = None, state_file: str | None = None,
              configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Add a toxic (any registered type: ``aichaos proxy toxic types``) to ``proxy``.

    Args:
        proxy: the proxy (dependency) name.
        type: toxic type, e.g. ``rate_limit``, ``http_error``, ``stream_cut``, ``latency``.
        attributes: the type's attributes (units as declared: ms for durations).
        name: toxic name (default ``<type>_<stream>``, as in Toxiproxy).
        toxicity: per-request probability 0..1.
        stream: ``downstream`` or ``upstream``.
        control_url: control API base URL (default: resolved, see ``_control``).
        state_file: the state file written by :func:`start_proxy`.
        configuration: Chaos Toolkit's configuration.

    Returns:
        the toxic ``{name, type, stream, toxicity, attributes, fired, fired_on}``.

    Raises:
        ActivityFailed: unknown proxy or type, bad attribute, or the API is unreachable.
    """
    spec: dict[str, Any] = {"type": type, "stream": stream, "toxicity": toxicity,
                            "attributes": dict(attributes or {})}
    if name:
        spec["name"] = name
    url = _url(control_url, configuration, state_file)
    return call(url, lambda c: c.add_toxic(proxy, spec))


def remove_toxic(proxy: str, name: str, missing_ok: bool = False,
                 control_url: str | None = None, state_file: str | None = None,
                 configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Remove toxic ``name`` from ``proxy`` (requests it holds are released at once).

    Args:
        missing_ok: succeed when there is no such toxic (``removed`` is then False).

    Returns:
        ``{"proxy", "removed": name or False, "toxics_left": [names]}``.

    Raises:
        ActivityFailed: unknown proxy, no such toxic (unless ``missing_ok``), API unreachable.
    """
    url = _url(control_url, configuration, state_file)

    async def go(client: Any) -> dict[str, Any]:
        present = [t["name"] for t in await client.toxics(proxy)]
        removed: str | bool = False
        if name in present or not missing_ok:
            await client.remove_toxic(proxy, name)
            removed = name
        left = [t["name"] for t in await client.toxics(proxy)]
        return {"proxy": proxy, "removed": removed, "toxics_left": left}

    return call(url, go)


def reset_toxics(control_url: str | None = None, state_file: str | None = None,
                 configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Remove every toxic from every proxy (Toxiproxy ``POST /reset``).

    Returns:
        ``{"reset": True, "toxics_left": {proxy: [names]}}``.
    """
    url = _url(control_url, configuration, state_file)

    async def go(client: Any) -> dict[str, Any]:
        await client.reset()
        proxies = await client.proxies()
        return {"reset": True,
                "toxics_left": {n: [t["name"] for t in p["toxics"]] for n, p in proxies.items()}}

    return call(url, go)


def stop_proxy(timeout_s: float = 10.0, state_file: str | None = None,
               configuration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Stop the proxy process :func:`start_proxy` recorded (SIGTERM: it removes every toxic,
    releasing held requests, then exits). Safe to call twice: a rollback may repeat it.

    Returns:
        ``{"stopped": bool, "pid", "toxics_left": {proxy: [names]} (just before stopping)}``;
        ``stopped`` is False when nothing was running.

    Raises:
        ActivityFailed: the process did not exit within ``timeout_s`` (it is then killed).
    """
    path = state_path(state_file, configuration)
    state = read_state(path)
    pid = state.get("pid") if state else None
    if not isinstance(pid, int) or not pid_alive(pid):
        path.unlink(missing_ok=True)
        return {"stopped": False, "pid": pid, "toxics_left": {},
                "reason": "no chaos proxy running"}
    assert state is not None
    left: dict[str, list[str]] = {}
    with contextlib.suppress(Exception):  # the listing is informative; stopping matters

        async def listing(client: Any) -> dict[str, Any]:
            result: dict[str, Any] = await client.proxies()
            return result

        left = {n: [t["name"] for t in p["toxics"]]
                for n, p in call(str(state["control_url"]), listing).items()}
    clean = _terminate(pid, timeout_s)
    path.unlink(missing_ok=True)
    if not clean:
        raise activity_failed(f"stop_proxy: pid {pid} did not exit within {timeout_s:g} s "
                              "after SIGTERM; killed")
    return {"stopped": True, "pid": pid, "toxics_left": left}


def _url(control_url_: str | None, configuration: Mapping[str, Any] | None,
         state_file: str | None) -> str:
    return control_url(control_url_, configuration, state_file)


def _terminate(pid: int, timeout_s: float) -> bool:
    """SIGTERM ``pid`` and wait; SIGKILL after ``timeout_s``. True when it exited on SIGTERM."""
    proc = _CHILDREN.pop(pid, None)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return True
        if proc is None and not pid_alive(pid):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if proc is not None:
        threading.Thread(target=proc.wait, daemon=True).start()
    return False
