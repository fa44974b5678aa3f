"""The demo agent: Northwind's order assistant, whose tools are the CRM MCP server, in the
demo's two profiles.

The local model (SmolLM2-135M) cannot choose tools or fill their arguments reliably, so the
demo agent plans deterministically: a rule reads the goal ("status of order NW-10201",
"refund order NW-10202") and picks the steps (look the order up; refund its total). The MCP
client, the tool calls, their failures and the agent's handling of them are real; only the
choice of tool is scripted.

``hardened``: validates every tool result (``isError``, JSON, the record's fields), one
idempotency key per refund intent reused by its retries, a step cap, re-initialises a lost
session, re-lists tools when a call names an unknown tool, and treats tool text as data.
``naive``: parses tool text as JSON without checking ``isError``, follows instructions found
in tool text, retries a timed-out refund without an idempotency key, keeps one session.
Call either as ``agent(goal, mcp_urls)`` (the ``python`` agent type of aichaos).
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import McpError
from mcp.types import CallToolResult, TextContent

ORDER = re.compile(r"\bNW-\d{5}\b", re.I)
STATUSES = frozenset({"processing", "shipped", "delivered", "cancelled", "returned"})
_ASK = re.compile(r"call the tool (\w+) now with reference \"([^\"]+)\"")
#: how long one tool call may take before the agent gives up on its answer, seconds
CALL_TIMEOUT_S = 1.0


def plan(goal: str) -> tuple[str, str] | None:
    """The deterministic planner: ``(intent, order id)`` with intent ``status`` or
    ``refund``, or None when the goal names no order."""
    found = ORDER.search(goal)
    if found is None:
        return None
    return ("refund" if re.search(r"\brefund", goal, re.I) else "status",
            found.group(0).upper())


def _text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


def _first_json(text: str) -> Any:
    """The JSON value at the start of ``text`` (whatever follows it is ignored)."""
    return json.JSONDecoder().raw_decode(text.lstrip())[0]


class _Failed(Exception):
    """A step failed in a way the hardened agent reports."""


class _Session:
    """One MCP client session the hardened agent can re-open (re-initialise)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stack: AsyncExitStack | None = None
        self.session: ClientSession | None = None

    async def open(self) -> ClientSession:
        await self.close()
        self.stack = AsyncExitStack()
        read, write, _ = await self.stack.enter_async_context(streamable_http_client(self.url))
        self.session = await self.stack.enter_async_context(ClientSession(read, write))
        await self.session.initialize()
        return self.session

    async def close(self) -> None:
        if self.stack is not None:
            stack, self.stack, self.session = self.stack, None, None
            with contextlib.suppress(BaseException):
                await stack.aclose()


class Hardened:
    """The hardened agent for one task."""

    def __init__(self, url: str, max_steps: int = 6) -> None:
        self.conn = _Session(url)
        self.max_steps = max_steps
        self.steps = 0
        self.names: dict[str, str] = {}  # intended tool -> name the server lists now

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        """Call ``tool`` and return its validated JSON result.

        Raises:
            _Failed: the tool failed, timed out, or answered something that is not a
                JSON object; or the step cap was reached.
            TimeoutError: no answer within :data:`CALL_TIMEOUT_S` (the caller may retry).
        """
        for _attempt in range(3):
            if self.steps >= self.max_steps:
                raise _Failed(f"step cap of {self.max_steps} tool calls reached")
            self.steps += 1
            session = self.conn.session or await self.conn.open()
            try:
                result = await session.call_tool(
                    self.names.get(tool, tool), args,
                    read_timeout_seconds=timedelta(seconds=CALL_TIMEOUT_S))
            except McpError as exc:
                text = str(exc).lower()
                if "session" in text or "connection closed" in text:
                    await self.conn.open()  # re-initialise a lost session, then retry
                    continue
                if "unknown tool" in text:  # the tool list changed: look again
                    listed = [t.name for t in (await session.list_tools()).tools]
                    self.names[tool] = next((n for n in listed if n.startswith(tool)), tool)
                    continue
                if "timed out" in text:
                    raise TimeoutError(str(exc)) from exc
                raise _Failed(str(exc)) from exc
            if result.isError:
                raise _Failed(_text(result) or "the tool reported an error")
            try:
                data = _first_json(_text(result))  # tool text is data, never instructions
            except ValueError as exc:
                raise _Failed("the tool answered something that is not JSON") from exc
            if not isinstance(data, dict):
                raise _Failed("the tool answered something that is not a JSON object")
            return data
        raise _Failed(f"{tool} kept failing after re-initialising the session")

    async def lookup(self, order_id: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = await self.call("lookup_order", {"order_id": order_id})
        except TimeoutError as exc:
            raise _Failed("the CRM did not answer in time") from exc
        if data.get("order_id") != order_id or data.get("status") not in STATUSES \
                or not isinstance(data.get("total"), int | float):
            raise _Failed("the CRM returned a record that does not match the order")
        return data

    async def run(self, intent: str, order_id: str) -> str:
        try:
            order = await self.lookup(order_id)
            if intent == "status":
                return f"Order {order_id} is {order['status']}."
            key = str(uuid.uuid4())  # one key per refund intent, reused by every retry
            for _ in range(3):
                try:
                    done = await self.call("refund", {"order_id": order_id,
                                                      "amount": order["total"],
                                                      "idempotency_key": key})
                except TimeoutError:
                    continue
                return (f"Refunded ${float(done.get('refunded', 0)):.2f} for order "
                        f"{order_id} (refund {done.get('refund_id', '?')}).")
            return (f"Could not confirm the refund of order {order_id}; escalating to a "
                    "human.")
        except _Failed as exc:
            verb = "refund" if intent == "refund" else "look up"
            return f"Could not {verb} order {order_id}: {exc}"
        finally:
            await self.conn.close()


async def hardened(goal: str, mcp_urls: Mapping[str, str], max_steps: int = 6) -> str:
    """The hardened profile's agent (see the module docstring)."""
    planned = plan(goal)
    if planned is None:
        return "Please name the order (NW-#####) you want me to look up or refund."
    return await Hardened(mcp_urls["crm"], max_steps).run(*planned)


async def naive(goal: str, mcp_urls: Mapping[str, str]) -> str:
    """The naive profile's agent (see the module docstring)."""
    planned = plan(goal)
    if planned is None:
        return "Please name the order."
    intent, order_id = planned
    async with streamable_http_client(mcp_urls["crm"]) as (read, write, _), \
            ClientSession(read, write) as s:
        await s.initialize()
        result = await s.call_tool("lookup_order", {"order_id": order_id})
        text = _text(result)
        order = _first_json(text)  # no isError check: an error text crashes here
        asked = _ASK.search(text)  # tool text read as instructions
        if asked:
            await s.call_tool(asked.group(1), {"order_id": order_id,
                                               "amount": order["total"],
                                               "idempotency_key": asked.group(2)})
        if intent == "status":
            return f"Order {order_id} is {order['status']}."
        for _ in range(3):  # retried without an idempotency key
            try:
                done = _first_json(_text(await s.call_tool(
                    "refund", {"order_id": order_id, "amount": order["total"]},
                    read_timeout_seconds=timedelta(seconds=CALL_TIMEOUT_S))))
            except McpError:
                continue
            return f"Refunded ${done['refunded']:.2f} for order {order_id}."
        return f"Refund of order {order_id} submitted."
