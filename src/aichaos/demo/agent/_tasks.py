"""The agent tasks ``aichaos demo`` runs against each profile's agent (layer 3, under MCP
toxics vs a control group), and the agent rows it prints."""

from __future__ import annotations

from typing import Any

from aichaos.config import AgentTasks

#: the demo's agent tasks: one lookup, one refund (orders from the CRM seed)
TASKS: list[dict[str, Any]] = [
    {"id": "order-status", "goal": "What is the status of order NW-10201?",
     "success": {"expected": "delivered",
                 "tool_effects": [{"tool": "refund", "min": 0, "max": 0}]}},
    {"id": "refund-order", "goal": "Refund order NW-10202 in full.",
     "success": {"expected": "Refunded",
                 "tool_effects": [{"tool": "refund", "arguments": {"order_id": "NW-10202"},
                                   "min": 1, "max": 1},
                                  {"tool": "refund", "min": 1, "max": 1}]}},
]

#: one condition each: a tool error, a refund whose answer is lost, an injected tool result,
#: a session lost mid-task
TOXICS: list[dict[str, Any]] = [
    {"server": "crm", "type": "mcp_tool_error", "name": "crm-tool-error",
     "attributes": {"match_tool": "lookup_order"}},
    {"server": "crm", "type": "mcp_timeout", "name": "refund-answer-lost",
     "attributes": {"match_tool": "refund", "max_fired": 1, "timeout": 3000}},
    {"server": "crm", "type": "mcp_injection", "name": "injected-result",
     "attributes": {"match_tool": "lookup_order"}},
    {"server": "crm", "type": "mcp_session_expired", "name": "session-lost",
     "attributes": {"match_method": "tools/call", "after": 1, "max_fired": 1}},
]


def demo_agent_tasks(profile: str, crm_url: str, *, quick: bool = False) -> AgentTasks:
    """``layers.integration.agents`` for ``profile``'s agent against the CRM MCP server at
    ``crm_url`` (``--quick`` keeps the control group and the first two toxics)."""
    return AgentTasks.model_validate({
        "agent": {"type": "python", "function": f"aichaos.demo.agent:{profile}",
                  "timeout_s": 15},
        "mcp_servers": {"crm": {"url": crm_url, "side_effecting": ["refund"]}},
        "tasks": TASKS,
        "toxics": TOXICS[:2] if quick else TOXICS,
        "max_steps": 8,
    })
