"""The traffic log: every request a proxy forwarded or answered, queryable by probes.

Probes use it to count upstream calls per user request (retry amplification) and to see
whether a fallback upstream received traffic (scenario S03).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

# A stored record: TrafficRecord's fields in order, toxics as a tuple. Tuples holding only
# str/int/float/bool/None (and tuples of str) are untracked by the cyclic GC after their first
# collection, so a full log of 100,000 records adds nothing to full (generation 2) collections;
# as dataclass instances with a list each they made one take ~0.1 s, a latency spike on
# every request in flight.
_Row = tuple[str, str, str, str, "int | None", float, "float | None", float, int, int, bool,
             tuple[str, ...], "str | None"]


@dataclass(slots=True)
class TrafficRecord:
    """One request seen by a proxy.

    Attributes:
        id: request id, ``"<proxy>-<n>"`` with n counting from 1.
        proxy: proxy (dependency) name.
        method: HTTP method.
        path: request path with query string.
        status: status sent to the client, or None when the connection was cut first.
        started: wall-clock time the request arrived, seconds since the epoch.
        ttfb_s: seconds from arrival to the response headers going out, or None.
        duration_s: seconds from arrival to the end of the response (or the cut).
        bytes_in: request body bytes received.
        bytes_out: response body bytes sent to the client.
        upstream: True when the request reached the upstream (False when a toxic answered).
        toxics: names of the toxics that fired on it.
        error: None, ``"cut"``, ``"reset"``, ``"upstream_unreachable"``, ``"client_gone"``.
    """

    id: str
    proxy: str
    method: str
    path: str
    status: int | None = None
    started: float = 0.0
    ttfb_s: float | None = None
    duration_s: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    upstream: bool = False
    toxics: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _row(self) -> _Row:
        return (self.id, self.proxy, self.method, self.path, self.status, self.started,
                self.ttfb_s, self.duration_s, self.bytes_in, self.bytes_out, self.upstream,
                tuple(self.toxics), self.error)


def _record(row: _Row) -> TrafficRecord:
    return TrafficRecord(*row[:11], list(row[11]), row[12])


class TrafficLog:
    """A bounded, in-memory log of :class:`TrafficRecord` (oldest dropped past ``maxlen``).

    Records are appended when a request ends (including cut and failed ones). They are stored
    as plain tuples, invisible to the garbage collector; :meth:`query` and iteration return
    fresh :class:`TrafficRecord` copies.
    """

    def __init__(self, maxlen: int = 100_000) -> None:
        self._records: deque[_Row] = deque(maxlen=maxlen)

    def add(self, record: TrafficRecord) -> None:
        """Store a finished request (a snapshot: later changes to ``record`` are not seen)."""
        self._records.append(record._row())

    def clear(self) -> None:
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TrafficRecord]:
        return iter([_record(row) for row in self._records])

    def query(
        self,
        *,
        proxy: str | None = None,
        since: float | None = None,
        until: float | None = None,
        upstream_only: bool = False,
        path: str | None = None,
        limit: int | None = None,
    ) -> list[TrafficRecord]:
        """Records matching every given filter, oldest first.

        Args:
            proxy: only this proxy.
            since: only requests that arrived at or after this epoch time, seconds.
            until: only requests that arrived before this epoch time, seconds.
            upstream_only: only requests that reached the upstream.
            path: only this exact path (query string ignored).
            limit: keep the newest ``limit`` records.
        """
        rows = self._select(proxy, since, until, upstream_only, path)
        return [_record(row) for row in (rows[-limit:] if limit else rows)]

    def _select(self, proxy: str | None, since: float | None, until: float | None,
                upstream_only: bool, path: str | None) -> list[_Row]:
        return [
            r for r in self._records
            if (proxy is None or r[1] == proxy)
            and (since is None or r[5] >= since)
            and (until is None or r[5] < until)
            and (not upstream_only or r[10])
            and (path is None or r[3].split("?", 1)[0] == path)
        ]

    def count(self, *, proxy: str | None = None, since: float | None = None,
              until: float | None = None, upstream_only: bool = False, path: str | None = None,
              limit: int | None = None) -> int:
        """Number of records matching the filters (same keywords as :meth:`query`)."""
        n = len(self._select(proxy, since, until, upstream_only, path))
        return min(n, limit) if limit else n
