"""Chaos for MCP tool servers: a proxy for the streamable HTTP and stdio transports,
MCP-aware toxics, and trajectory oracles over the traffic it logs.

Use :class:`McpHttpProxy` in front of an MCP endpoint URL, :class:`McpStdioProxy` (or
``python -m aichaos.mcp.stdio_proxy -- SERVER COMMAND``) around a stdio server, drive either
through the control API (:func:`build_mcp_control`) and judge the run with the oracles.
"""

from aichaos.mcp import _toxics_content, _toxics_fail  # noqa: F401  (registers the toxics)
from aichaos.mcp._bridge import McpStdioHttpBridge
from aichaos.mcp._check import check_toxic_tools, list_server_tools
from aichaos.mcp._control import build_mcp_control, start_mcp_control
from aichaos.mcp._engine import McpEngine
from aichaos.mcp._http import McpHttpProxy
from aichaos.mcp._messages import Message, parse
from aichaos.mcp._oracles import (
    Finding,
    duplicate_side_effects,
    flagged,
    loops,
    obeyed_injection,
    session_recovery,
    tool_error_handling,
    tool_list_change,
)
from aichaos.mcp._stdio import McpStdioProxy
from aichaos.mcp._toxic import (
    MCP_TOXICS,
    Call,
    Intercept,
    McpToxic,
    build_mcp_toxic,
    describe_mcp_types,
    mcp_toxic_class,
)
from aichaos.mcp._traffic import McpRecord, McpTrafficLog, load_jsonl

__all__ = [
    "MCP_TOXICS",
    "Call",
    "Finding",
    "Intercept",
    "McpEngine",
    "McpHttpProxy",
    "McpRecord",
    "McpStdioHttpBridge",
    "McpStdioProxy",
    "McpToxic",
    "McpTrafficLog",
    "Message",
    "build_mcp_control",
    "build_mcp_toxic",
    "check_toxic_tools",
    "describe_mcp_types",
    "duplicate_side_effects",
    "flagged",
    "list_server_tools",
    "load_jsonl",
    "loops",
    "mcp_toxic_class",
    "obeyed_injection",
    "parse",
    "session_recovery",
    "start_mcp_control",
    "tool_error_handling",
    "tool_list_change",
]
