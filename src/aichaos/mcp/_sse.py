"""Server-sent events as MCP's streamable HTTP transport uses them (one JSON-RPC message per
event's ``data``), per the WHATWG HTML "Server-sent events" parsing rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Event:
    data: str
    event: str = "message"
    id: str | None = None


async def read_events(lines: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Events from an SSE byte stream (``lines`` yields lines with their line ends)."""
    data: list[str] = []
    event, eid = "message", None
    async for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield Event("\n".join(data), event, eid)
            data, event, eid = [], "message", None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            eid = value
    if data:
        yield Event("\n".join(data), event, eid)


def encode(item: dict[str, Any] | bytes, event_id: str | None = None) -> bytes:
    """One ``message`` event carrying ``item`` (a JSON object, or raw bytes as they are)."""
    data = item if isinstance(item, bytes) else json.dumps(item, separators=(",", ":")).encode()
    head = f"id: {event_id}\n".encode() if event_id else b""
    body = b"".join(b"data: " + line + b"\n" for line in data.split(b"\n"))
    return head + b"event: message\n" + body + b"\n"
