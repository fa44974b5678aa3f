"""Helpers for the agent tests."""

from __future__ import annotations

from typing import Any


def agents_section(url: str, profile: str = "hardened", **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "agent": {"type": "python", "function": f"aichaos.demo.agent:{profile}",
                  "timeout_s": 10},
        "mcp_servers": {"crm": {"url": url, "side_effecting": ["refund"]}},
        "tasks": [{"id": "refund-order", "goal": "Refund order NW-10202 in full.",
                   "success": {"expected": "Refunded", "tool_effects": [
                       {"tool": "refund", "arguments": {"order_id": "NW-10202"},
                        "min": 1, "max": 1}]}}],
        "toxics": [{"server": "crm", "type": "mcp_timeout", "name": "refund-answer-lost",
                    "attributes": {"match_tool": "refund", "max_fired": 1,
                                   "timeout": 3000}}],
    }
    doc.update(over)
    return doc
