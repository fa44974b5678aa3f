"""MCP toxics that fail a call: tool errors, JSON-RPC errors, timeouts, hangs, slowness,
session loss and lost authorisation.

Error codes are JSON-RPC 2.0's (https://www.jsonrpc.org/specification#error_object);
session expiry answers HTTP 404 to the ``Mcp-Session-Id``, as the MCP streamable HTTP
transport prescribes (spec 2025-06-18, "Session Management": the client MUST start a new
session with a fresh ``initialize``).
"""

from __future__ import annotations

from typing import ClassVar

from aichaos.faults import Attr
from aichaos.mcp import _messages as m
from aichaos.mcp._toxic import Call, Intercept, McpToxic, register


@register
class ToolError(McpToxic):
    type = "mcp_tool_error"
    oracles = ("tool_error_handling",)
    summary = "answer tools/call with a CallToolResult whose isError is true (not forwarded)"
    attrs = (Attr("text", "tool failed: upstream service unavailable",
                  "text content of the error result"),)

    async def on_request(self, call: Call) -> Intercept | None:
        assert call.msg.id is not None
        return Intercept([m.tool_result(call.msg.id, self.attributes["text"], is_error=True)])


@register
class JsonRpcError(McpToxic):
    type = "mcp_jsonrpc_error"
    oracles = ("tool_error_handling",)
    summary = "answer the request with a JSON-RPC error (code, message; not forwarded)"
    attrs = (Attr("code", -32603, "JSON-RPC error code", min=-32768, max=32767),
             Attr("message", "Internal error", "error message"))

    async def on_request(self, call: Call) -> Intercept | None:
        a = self.attributes
        return Intercept([m.error(call.msg.id, a["code"], a["message"])])


@register
class Timeout(McpToxic):
    type = "mcp_timeout"
    oracles = ("duplicate_side_effects", "loops")
    summary = ("no response: the request reaches the server (its side effects happen) but the "
               "answer is dropped; the HTTP connection closes after timeout ms")
    attrs = (Attr("timeout", 5000, "ms before the HTTP connection is closed", "ms", min=1),
             Attr("forward", True, "send the request to the server anyway"))

    async def on_request(self, call: Call) -> Intercept | None:
        a = self.attributes
        return Intercept(forward=a["forward"], hold_s=a["timeout"] / 1000.0)


@register
class Hang(McpToxic):
    type = "mcp_hang"
    oracles = ("duplicate_side_effects", "loops")
    summary = ("hold the request, no response, until the toxic is removed (then it goes on to "
               "the server) or the proxy stops (then the connection closes)")

    async def on_request(self, call: Call) -> Intercept | None:
        return Intercept(hold_s=None, resume=True)


@register
class Slow(McpToxic):
    type = "mcp_slow"
    oracles = ("loops",)
    summary = "delay the server's answer by latency ± jitter ms"
    attrs = (Attr("latency", 1000, "added delay", "ms", min=0),
             Attr("jitter", 0, "uniform jitter around the delay", "ms", min=0))

    async def on_response(self, call: Call, out: list[m.Message | m.Raw]) -> list[
            m.Message | m.Raw]:
        a = self.attributes
        delay = a["latency"] + (self.rng(call).uniform(-a["jitter"], a["jitter"])
                                if a["jitter"] else 0)
        await self.hold(call, max(0.0, delay) / 1000.0)
        return out


@register
class SessionExpired(McpToxic):
    type = "mcp_session_expired"
    oracles = ("session_recovery",)
    summary = ("forget the client's Mcp-Session-Id: this and every later request on it gets "
               "HTTP 404 until the client initializes a new session")
    attrs = (Attr("status", 404, "HTTP status for the lost session", min=400, max=599),)
    default_method = ""
    transports: ClassVar[tuple[str, ...]] = ("http",)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.dead: set[str] = set()

    def select(self, call: Call) -> bool:
        if call.session is not None and call.session in self.dead:
            return True  # the session stays lost (not counted again)
        if call.session is None:
            return False
        return super().select(call)

    async def on_request(self, call: Call) -> Intercept | None:
        assert call.session is not None
        self.dead.add(call.session)
        call.notes["session_lost"] = call.session
        return Intercept([m.error(call.msg.id, -32001, "Session not found")],
                         status=self.attributes["status"])


@register
class Unauthorized(McpToxic):
    type = "mcp_unauthorized"
    oracles = ("loops",)
    summary = "answer HTTP 401 with WWW-Authenticate mid-session (the token was revoked)"
    attrs = (Attr("realm", "mcp", "realm in the WWW-Authenticate challenge"),)
    default_method = ""
    transports: ClassVar[tuple[str, ...]] = ("http",)

    async def on_request(self, call: Call) -> Intercept | None:
        return Intercept(
            [m.error(call.msg.id, -32001, "Unauthorized")], status=401,
            headers={"WWW-Authenticate": f'Bearer realm="{self.attributes["realm"]}", '
                                         'error="invalid_token"'})
