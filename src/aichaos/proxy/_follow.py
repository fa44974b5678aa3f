"""Follow a running chaos proxy's traffic from outside its event loop (``--watch-traffic``).

:class:`TrafficFollower` polls the control API's ``GET /traffic?since=`` from a daemon
thread, the same public API ``aichaos proxy traffic`` reads, and hands every new record to a
callback once. It never touches the proxy's in-memory state, so it works the same against a
proxy in this process (an ``aichaos run``) or in another one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import httpx

#: polling period, seconds
DEFAULT_INTERVAL_S = 0.5
#: records are logged when their request ends but filtered by arrival time: each poll asks
#: for this many seconds before the newest arrival seen (longer requests may be missed)
LOOKBACK_S = 300.0


def traffic_line(record: dict[str, Any]) -> str:
    """One line for a traffic record: ``id  METHOD path  status  ms  bytes  toxics  error``.

    The same columns as ``aichaos proxy traffic``.
    """
    status = record.get("status")
    toxics = ",".join(record.get("toxics") or []) or "-"
    return (f"{record.get('id')}\t{record.get('method')} {record.get('path')}\t"
            f"{status if status is not None else '-'}\t"
            f"{float(record.get('duration_s') or 0.0) * 1000:.1f} ms\t"
            f"{record.get('bytes_out', 0)} B\t{toxics}\t{record.get('error') or ''}").rstrip()


class TrafficFollower:
    """Polls ``control_url``'s traffic log and calls ``on_record`` for each new record.

    Args:
        control_url: the control API's base URL (``http://127.0.0.1:8474``).
        on_record: called with each record dict (see :class:`aichaos.proxy.TrafficRecord`),
            oldest first, from the follower's thread.
        interval_s: seconds between polls.

    Polling errors (the run ended, the proxy stopped) end nothing: the follower keeps trying
    until :meth:`stop`.
    """

    def __init__(self, control_url: str, on_record: Callable[[dict[str, Any]], None], *,
                 interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.control_url = control_url.rstrip("/")
        self.on_record = on_record
        self.interval_s = interval_s
        self._seen: set[str] = set()
        self._since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="aichaos-traffic", daemon=True)

    def start(self) -> TrafficFollower:
        self._thread.start()
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Ask the thread to poll one last time and end; with ``wait``, join it (a few
        seconds at most). Never wait from the thread running the proxy's event loop: the
        last poll needs that loop to answer."""
        self._stop.set()
        if wait and self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def poll(self, client: httpx.Client) -> int:
        """Fetch and deliver the records not seen yet; returns how many were new.

        Raises:
            httpx.HTTPError: the control API did not answer.
        """
        params: dict[str, Any] = {}
        if self._since is not None:  # a record is logged when its request ends: look back
            params["since"] = self._since - LOOKBACK_S
        r = client.get(f"{self.control_url}/traffic", params=params)
        r.raise_for_status()
        new = 0
        for record in r.json().get("records") or []:
            rid = str(record.get("id"))
            if rid in self._seen:
                continue
            self._seen.add(rid)
            started = record.get("started")
            if isinstance(started, int | float):  # records still in flight are not logged
                self._since = started if self._since is None else max(self._since, started)
            self.on_record(record)
            new += 1
        return new

    def _loop(self) -> None:
        with httpx.Client(timeout=2.0) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    self.poll(client)  # errors: the proxy may be starting or stopped
                if self._stop.is_set():
                    return  # after one poll that followed stop(): nothing logged is missed
                self._stop.wait(self.interval_s)
