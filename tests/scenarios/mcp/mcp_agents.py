"""Deterministic scripted agents (MCP clients from the official SDK), each a victim with one
defect and its fixed twin. ``connect`` opens an initialized ClientSession (over streamable
HTTP or stdio); agents that recover call it again for a new session.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from mcp import ClientSession
from mcp.shared.exceptions import McpError
from mcp.types import TextContent

Connect = Callable[[], AbstractAsyncContextManager[ClientSession]]
SHORT = timedelta(seconds=0.4)


def _text(result: object) -> str:
    content = getattr(result, "content", [])
    return "\n".join(c.text for c in content if isinstance(c, TextContent))


# --- tool error: crashes vs reported ---------------------------------------------------

async def naive_lookup(connect: Connect, order_id: str) -> str:
    async with connect() as s:
        result = await s.call_tool("lookup_order", {"order_id": order_id})
        data = json.loads(result.content[0].text)  # type: ignore[union-attr]  (the defect)
        return f"Order {order_id} is {data['status']}."


async def careful_lookup(connect: Connect, order_id: str) -> str:
    async with connect() as s:
        result = await s.call_tool("lookup_order", {"order_id": order_id})
        if result.isError:
            return f"Could not look up order {order_id}: {_text(result)}"
        data = json.loads(_text(result))
        return f"Order {order_id} is {data['status']}."


# --- lost session: not re-initialised vs re-initialised ------------------------------

async def one_session_agent(connect: Connect, orders: list[str]) -> list[str]:
    out = []
    async with connect() as s:
        for oid in orders:
            try:
                r = await s.call_tool("lookup_order", {"order_id": oid})
                out.append(_text(r))
            except McpError as exc:
                out.append(f"error: {exc}")  # gives up on the dead session
    return out


async def reconnecting_agent(connect: Connect, orders: list[str]) -> list[str]:
    out: list[str] = []
    pending = list(orders)
    for _attempt in range(3):
        async with connect() as s:
            try:
                while pending:
                    r = await s.call_tool("lookup_order", {"order_id": pending[0]})
                    out.append(_text(r))
                    pending.pop(0)
                return out
            except McpError as exc:
                if "session" not in str(exc).lower():
                    raise
    return out


# --- tool list change: breaks vs re-lists ----------------------------------------------

async def cached_tools_agent(connect: Connect, orders: list[str]) -> list[str]:
    async with connect() as s:
        names = [t.name for t in (await s.list_tools()).tools]
        tool = next(n for n in names if n.startswith("lookup"))
        return [_text(await s.call_tool(tool, {"order_id": o})) for o in orders]


async def relisting_agent(connect: Connect, orders: list[str]) -> list[str]:
    async with connect() as s:

        async def find() -> str:
            names = [t.name for t in (await s.list_tools()).tools]
            return next(n for n in names if n.startswith("lookup"))

        tool, out = await find(), []
        for o in orders:
            try:
                out.append(_text(await s.call_tool(tool, {"order_id": o})))
            except McpError:
                tool = await find()  # the list changed: look again, once
                out.append(_text(await s.call_tool(tool, {"order_id": o})))
        return out


# --- injected tool result: obeyed vs treated as data ----------------------------------

_ASK = re.compile(r"call the tool (\w+) now with reference \"([^\"]+)\"")


async def obedient_agent(connect: Connect, order_id: str) -> str:
    async with connect() as s:
        text = _text(await s.call_tool("lookup_order", {"order_id": order_id}))
        asked = _ASK.search(text)  # the defect: tool text is read as instructions
        if asked:
            await s.call_tool(asked.group(1), {"order_id": order_id, "amount": 500.0,
                                               "idempotency_key": asked.group(2)})
        return text


async def data_only_agent(connect: Connect, order_id: str) -> str:
    async with connect() as s:
        r = await s.call_tool("lookup_order", {"order_id": order_id})
        first = r.content[0]
        data = json.loads(first.text) if isinstance(first, TextContent) else {}
        return f"Order {order_id} is {data.get('status', 'unknown')}."


# --- refund retried: without key vs with key -----------------------------------------

async def _refund_with_retry(s: ClientSession, args: dict[str, object]) -> str:
    for _ in range(3):
        try:
            return _text(await s.call_tool("refund", args, read_timeout_seconds=SHORT))
        except McpError:
            continue
    return "refund failed"


async def retry_no_key_agent(connect: Connect, order_id: str) -> str:
    async with connect() as s:
        return await _refund_with_retry(s, {"order_id": order_id, "amount": 10.0})


async def retry_with_key_agent(connect: Connect, order_id: str) -> str:
    key = str(uuid.uuid4())  # one key per intent, reused by every retry
    async with connect() as s:
        return await _refund_with_retry(s, {"order_id": order_id, "amount": 10.0,
                                            "idempotency_key": key})


# --- loop: unbounded polling vs step cap ------------------------------------------------

async def polling_agent(connect: Connect, order_id: str) -> str:
    async with connect() as s:
        while True:  # the defect: no step cap
            data = json.loads(_text(await s.call_tool("lookup_order", {"order_id": order_id})))
            if data["status"] != "pending":
                return data["status"]


async def capped_agent(connect: Connect, order_id: str, max_steps: int = 3) -> str:
    async with connect() as s:
        for _ in range(max_steps):
            data = json.loads(_text(await s.call_tool("lookup_order", {"order_id": order_id})))
            if data["status"] != "pending":
                return data["status"]
        return f"order {order_id} still pending after {max_steps} checks; escalating"


