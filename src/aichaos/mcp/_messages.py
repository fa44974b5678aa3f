"""JSON-RPC messages of MCP as the proxy sees them, parsed with the official ``mcp`` SDK types.

A message on the wire is one JSON object (stdio: one line; streamable HTTP: a POST body, a
JSON response body or the ``data`` of one server-sent event). :func:`parse` validates it as
:class:`mcp.types.JSONRPCMessage`; anything else (not JSON, not JSON-RPC 2.0) is kept as raw
bytes and recorded as an observation, never raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pydantic
from mcp import types

Raw = bytes
"""A message the proxy could not parse (kept byte-exact)."""


@dataclass(slots=True)
class Message:
    """One parsed JSON-RPC message.

    Attributes:
        doc: the message as a JSON object (what is forwarded; toxics may rewrite it).
        kind: ``request``, ``notification``, ``response`` or ``error``.
    """

    doc: dict[str, Any]
    kind: str
    raw: bytes | None = None
    _orig: dict[str, Any] | None = None

    @property
    def id(self) -> str | int | None:
        value = self.doc.get("id")
        return value if isinstance(value, str | int) else None

    @property
    def method(self) -> str | None:
        value = self.doc.get("method")
        return value if isinstance(value, str) else None

    @property
    def tool(self) -> str | None:
        """The tool name of a ``tools/call`` request, else None."""
        params = self.doc.get("params")
        if self.method == "tools/call" and isinstance(params, dict):
            name = params.get("name")
            return name if isinstance(name, str) else None
        return None

    @property
    def arguments(self) -> dict[str, Any] | None:
        params = self.doc.get("params")
        if self.method == "tools/call" and isinstance(params, dict):
            args = params.get("arguments")
            return args if isinstance(args, dict) else {}
        return None

    def encode(self) -> bytes:
        """The wire form: the bytes as received when no toxic replaced ``doc``."""
        if self.raw is not None and self.doc is self._orig:
            return self.raw
        return json.dumps(self.doc, separators=(",", ":")).encode()


_KINDS = {
    types.JSONRPCRequest: "request",
    types.JSONRPCNotification: "notification",
    types.JSONRPCResponse: "response",
    types.JSONRPCError: "error",
}


def parse(data: bytes | str | dict[str, Any]) -> Message | Raw:
    """Parse one wire message with :class:`mcp.types.JSONRPCMessage`.

    Returns:
        a :class:`Message`, or the raw bytes when ``data`` is not a JSON-RPC 2.0 message
        (never raises).
    """
    try:
        doc = data if isinstance(data, dict) else json.loads(data)
        root = types.JSONRPCMessage.model_validate(doc).root
    except (ValueError, pydantic.ValidationError):
        return data.encode() if isinstance(data, str) else (
            data if isinstance(data, bytes) else json.dumps(data).encode())
    raw = data if isinstance(data, bytes) else data.encode() if isinstance(data, str) else None
    raw = raw.strip() if raw is not None else None
    return Message(doc, _KINDS[type(root)], raw, doc)


def error(req_id: str | int | None, code: int, message: str,
          data: Any = None) -> dict[str, Any]:
    """A JSON-RPC error response built with :class:`mcp.types.JSONRPCError`."""
    err = types.JSONRPCError(jsonrpc="2.0", id=req_id if req_id is not None else 0,
                             error=types.ErrorData(code=code, message=message, data=data))
    return err.model_dump(mode="json", exclude_none=True)


def tool_result(req_id: str | int, text: str, is_error: bool = False) -> dict[str, Any]:
    """A ``tools/call`` response whose result is a :class:`mcp.types.CallToolResult`."""
    result = types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                  isError=is_error)
    return types.JSONRPCResponse(
        jsonrpc="2.0", id=req_id, result=result.model_dump(mode="json", exclude_none=True)
    ).model_dump(mode="json", exclude_none=True)


def notification(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-RPC notification (e.g. ``notifications/tools/list_changed``)."""
    return types.JSONRPCNotification(jsonrpc="2.0", method=method, params=params).model_dump(
        mode="json", exclude_none=True)


def call_result(msg: Message) -> types.CallToolResult | None:
    """The :class:`mcp.types.CallToolResult` of a response, or None when it is not one."""
    if msg.kind != "response":
        return None
    try:
        return types.CallToolResult.model_validate(msg.doc.get("result"))
    except pydantic.ValidationError:
        return None


def tools_of(msg: Message) -> types.ListToolsResult | None:
    """The :class:`mcp.types.ListToolsResult` of a response, or None when it is not one."""
    if msg.kind != "response":
        return None
    try:
        return types.ListToolsResult.model_validate(msg.doc.get("result"))
    except pydantic.ValidationError:
        return None


def set_result(msg: Message, result: pydantic.BaseModel) -> None:
    """Replace the ``result`` of response ``msg`` with the dump of ``result``."""
    msg.doc = {**msg.doc, "result": result.model_dump(mode="json", exclude_none=True,
                                                      by_alias=True)}


def result_text(msg: Message) -> str:
    """The text content of a ``tools/call`` result joined by newlines ("" when none)."""
    res = call_result(msg)
    if res is None:
        return ""
    return "\n".join(c.text for c in res.content if isinstance(c, types.TextContent))


def text_of(result: dict[str, Any]) -> str:
    """The ``text`` of every text content block of a raw ``tools/call`` result, joined by
    newlines (the hot path's reading of a result whose envelope is already validated)."""
    content = result.get("content")
    if not isinstance(content, list):
        return ""
    return "\n".join(c["text"] for c in content
                     if isinstance(c, dict) and c.get("type") == "text"
                     and isinstance(c.get("text"), str))
