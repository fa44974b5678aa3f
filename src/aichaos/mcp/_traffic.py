"""The MCP traffic log: one record per JSON-RPC message a proxy saw, with its outcome.

The trajectory oracles (:mod:`aichaos.mcp._oracles`) read it; so does ``GET /traffic`` of the
control API.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

_TEXT_MAX = 2000


@dataclass(slots=True)
class McpRecord:
    """One JSON-RPC message through an MCP proxy and what became of it.

    Attributes:
        id: message id, ``"<proxy>-<n>"``.
        proxy: proxy name.
        transport: ``http`` or ``stdio``.
        direction: ``client`` (client -> server) or ``server`` (server-initiated message or a
            message the proxy could not pair with a request).
        kind: ``request``, ``notification``, ``response``, ``error`` or ``malformed``.
        method: JSON-RPC method, or None.
        request_id: the JSON-RPC ``id``, or None.
        session: ``Mcp-Session-Id`` sent by the client (HTTP), or None.
        tool: tool name of ``tools/call``, or None.
        arguments: tool arguments of ``tools/call``, or None.
        outcome: ``ok``, ``tool_error`` (``isError`` result), ``error`` (JSON-RPC error),
            ``no_response``, ``malformed`` (the answer was not JSON-RPC), ``http_error``, or
            ``sent`` (notifications).
        result_text: text content of a tool result (first 2,000 characters) or None.
        error: ``{code, message}`` of a JSON-RPC error, or None.
        http_status: HTTP status sent to the client (HTTP transport), or None.
        started: wall-clock time the message arrived, seconds since the epoch.
        latency_s: seconds from arrival to the answer reaching the client (None if none).
        forwarded: True when the message reached the server.
        toxics: names of the toxics that acted on it.
        toxic_types: their types, in the same order.
        notes: facts toxics left (``injection``: {ask_tool, canary}, ``session_lost``,
            ``tools_changed``, ``duplicated``).
        observations: oddities seen, e.g. ``malformed message from server: ...``.
    """

    id: str
    proxy: str
    transport: str = "http"
    direction: str = "client"
    kind: str = "request"
    method: str | None = None
    request_id: str | int | None = None
    session: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    outcome: str = "sent"
    result_text: str | None = None
    error: dict[str, Any] | None = None
    http_status: int | None = None
    started: float = 0.0
    latency_s: float | None = None
    forwarded: bool = False
    toxics: list[str] = field(default_factory=list)
    toxic_types: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    observations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> McpRecord:
        return cls(**doc)


def clip(text: str) -> str:
    return text if len(text) <= _TEXT_MAX else text[:_TEXT_MAX]


class McpTrafficLog:
    """A bounded in-memory log of :class:`McpRecord` (oldest dropped past ``maxlen``).

    ``sink``, when given, is called with every record as it is added (e.g. to append JSON
    lines to a file).
    """

    def __init__(self, maxlen: int = 100_000,
                 sink: Callable[[McpRecord], None] | None = None) -> None:
        self._records: deque[McpRecord] = deque(maxlen=maxlen)
        self.sink = sink

    def add(self, rec: McpRecord, *, done: bool = True) -> None:
        """Append ``rec`` (in arrival order); ``done=False`` for a request still in flight,
        completed in place later and then passed to :meth:`done`."""
        self._records.append(rec)
        if done:
            self.done(rec)

    def done(self, rec: McpRecord) -> None:
        """``rec`` is complete: hand it to the sink."""
        if self.sink is not None:
            self.sink(rec)

    def __iter__(self) -> Iterator[McpRecord]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def clear(self) -> None:
        self._records.clear()

    def query(self, *, proxy: str | None = None, method: str | None = None,
              tool: str | None = None, limit: int | None = None) -> list[McpRecord]:
        """Records in arrival order, filtered; ``limit`` keeps the newest N."""
        out = [r for r in self._records if (proxy is None or r.proxy == proxy)
               and (method is None or r.method == method) and (tool is None or r.tool == tool)]
        return out[-limit:] if limit else out


def load_jsonl(path: str) -> list[McpRecord]:
    """Records written one JSON object per line (``--traffic-out`` of the stdio proxy)."""
    with open(path, encoding="utf-8") as fh:
        return [McpRecord.from_dict(json.loads(line)) for line in fh if line.strip()]
