"""The transport-independent core of an MCP chaos proxy: toxics, selection, outcomes, log.

Both fronts (:mod:`aichaos.mcp._http` for streamable HTTP, :mod:`aichaos.mcp._stdio` for
stdio) hand every client message to :class:`McpEngine` and deliver what it returns.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aichaos.errors import ProxyError
from aichaos.mcp import _messages as m
from aichaos.mcp._toxic import Call, Intercept, McpToxic, build_mcp_toxic
from aichaos.mcp._traffic import McpRecord, McpTrafficLog, clip


class Pending:
    """A client request in flight: its call context, the toxics that fired, its record."""

    __slots__ = ("call", "fired", "record", "t0")

    def __init__(self, call: Call, fired: list[McpToxic], record: McpRecord, t0: float):
        self.call, self.fired, self.record, self.t0 = call, fired, record, t0


class McpEngine:
    """Toxics and traffic of one MCP proxy.

    Attributes:
        name: proxy name (message ids are ``"<name>-<n>"``).
        transport: ``http`` or ``stdio`` (toxics that need the other one are refused).
        seed: run seed for the toxics' RNGs.
        toxics: active toxics by name, applied in the order they were added.
        traffic: the log of every message.
        stopping: set when the proxy stops (holds end).
        messages: client messages seen; ``forwarded``: those that reached the server.
    """

    def __init__(self, name: str, *, transport: str = "http", seed: int = 0,
                 traffic: McpTrafficLog | None = None) -> None:
        self.name = name
        self.transport = transport
        self.seed = seed
        self.toxics: dict[str, McpToxic] = {}
        self.traffic = traffic if traffic is not None else McpTrafficLog()
        self.stopping = asyncio.Event()
        self.messages = 0
        self.forwarded = 0
        self.fired_total: dict[tuple[str, str], int] = {}
        self._ids = itertools.count(1)
        self._open: dict[str, McpRecord] = {}

    # ------------------------------------------------------------------ toxics

    def add_toxic(self, spec: Mapping[str, Any]) -> McpToxic:
        """Build and add a toxic.

        Raises:
            PluginError: bad spec. ProxyError: a toxic of that name exists.
        """
        toxic = build_mcp_toxic(spec, transport=self.transport)
        if toxic.name in self.toxics:
            raise ProxyError(f"toxic {toxic.name!r} exists on proxy {self.name!r}")
        self.toxics[toxic.name] = toxic
        return toxic

    def remove_toxic(self, name: str) -> None:
        """Remove a toxic, ending its holds.

        Raises:
            ProxyError: unknown toxic.
        """
        toxic = self.toxics.pop(name, None)
        if toxic is None:
            raise ProxyError(f"unknown toxic {name!r} on proxy {self.name!r}")
        toxic.release()

    def reset(self) -> None:
        """Remove every toxic."""
        for name in list(self.toxics):
            self.remove_toxic(name)

    def stop(self) -> None:
        """End every hold; requests still unanswered are logged as ``no_response``."""
        self.stopping.set()
        for toxic in self.toxics.values():
            toxic.release()
        for rec in list(self._open.values()):
            self.traffic.done(rec)
        self._open.clear()

    def mark_forwarded(self, p: Pending) -> None:
        """The request of ``p`` reached the server (set before its answer is known)."""
        if not p.record.forwarded:
            p.record.forwarded = True
            self.forwarded += 1

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "transport": self.transport, "enabled": True,
                "messages": self.messages, "forwarded": self.forwarded,
                "toxics": [t.to_dict() for t in self.toxics.values()]}

    # ------------------------------------------------------------------ messages

    def begin(self, msg: m.Message, session: str | None = None) -> Pending:
        """Start a client request: pick the toxics that fire on it and open its record."""
        self.messages += 1
        call = Call(f"{self.name}-{next(self._ids)}", self.seed, msg, self.transport,
                    session, self.stopping)
        fired = [t for t in list(self.toxics.values()) if t.select(call)]
        rec = McpRecord(call.id, self.name, self.transport, "client", msg.kind, msg.method,
                        msg.id, session, msg.tool, msg.arguments, "no_response",
                        started=time.time(), toxics=[t.name for t in fired],
                        toxic_types=[t.type for t in fired])
        self.traffic.add(rec, done=False)
        self._open[call.id] = rec
        for t in fired:
            self.fired_total[(t.name, t.type)] = self.fired_total.get((t.name, t.type), 0) + 1
        return Pending(call, fired, rec, time.perf_counter())

    async def intercept(self, p: Pending) -> tuple[McpToxic, Intercept] | None:
        """Run the fired toxics' ``on_request``; the first :class:`Intercept` wins (returned
        with the toxic that made it)."""
        for toxic in p.fired:
            got = await toxic.on_request(p.call)
            if got is not None:
                return toxic, got
        return None

    async def respond(self, p: Pending, out: list[m.Message | m.Raw]) -> list[
            m.Message | m.Raw]:
        """Run the fired toxics' ``on_response`` over the server's answer."""
        for toxic in p.fired:
            out = await toxic.on_response(p.call, out)
        return out

    def finish(self, p: Pending, out: Sequence[m.Message | m.Raw | dict[str, Any]],
               *, forwarded: bool, http_status: int | None = None) -> McpRecord:
        """Close the record of ``p`` with what the client received and log it."""
        rec = p.record
        if forwarded:
            self.mark_forwarded(p)
        rec.http_status = http_status
        rec.notes.update(p.call.notes)
        rec.arguments = p.call.msg.arguments if rec.arguments is None else rec.arguments
        if out or (http_status is not None and http_status >= 400):
            rec.latency_s = time.perf_counter() - p.t0
        answered = False
        for item in out:
            msg = m.parse(item) if isinstance(item, dict) else item
            if isinstance(msg, bytes):
                rec.outcome = "malformed"
                rec.observations.append(f"malformed message to client: {clip(repr(msg[:200]))}")
                answered = True
                continue
            if msg.id != p.call.msg.id or msg.kind not in ("response", "error"):
                continue
            if answered:
                rec.observations.append("answer delivered more than once")
                continue
            answered = True
            if msg.kind == "error":
                err = msg.doc.get("error") or {}
                rec.outcome = "error"
                rec.error = {"code": err.get("code"), "message": err.get("message")}
            else:
                rec.outcome = "ok"
                result = msg.doc.get("result")
                if p.call.msg.method == "tools/call" and isinstance(result, dict):
                    # the envelope was validated by parse(); reading two fields of the result
                    # directly costs ~5 us where a CallToolResult validation costs ~40 us
                    rec.outcome = "tool_error" if result.get("isError") is True else "ok"
                    rec.result_text = clip(m.text_of(result))
        if http_status is not None and http_status >= 400:
            rec.outcome = "http_error"
        if self._open.pop(rec.id, None) is not None:
            self.traffic.done(rec)
        return rec

    def observe(self, item: m.Message | m.Raw, *, direction: str,
                session: str | None = None, note: str = "") -> None:
        """Log a message that is not a request's answer (notifications, server requests,
        malformed lines)."""
        rid = f"{self.name}-{next(self._ids)}"
        if isinstance(item, bytes):
            rec = McpRecord(rid, self.name, self.transport, direction, "malformed",
                            outcome="malformed", session=session, started=time.time(),
                            observations=[f"malformed message from {direction}: "
                                          f"{clip(repr(item[:200]))}{note}"])
        else:
            rec = McpRecord(rid, self.name, self.transport, direction, item.kind, item.method,
                            item.id, session, started=time.time(), forwarded=True)
        if direction == "client":
            self.messages += 1
        self.traffic.add(rec)
