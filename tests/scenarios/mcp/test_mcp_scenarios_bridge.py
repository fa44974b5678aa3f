"""A stdio MCP server exposed as streamable HTTP through the chaos proxy (McpStdioHttpBridge):
the SDK's streamable HTTP client talks to a real stdio FastMCP server process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import mcp_agents as agents
import pytest
from mcp_fixtures import http_connect

from aichaos.mcp import McpStdioHttpBridge, duplicate_side_effects

HERE = Path(__file__).parent


@pytest.mark.parametrize("agent,victim", [(agents.retry_no_key_agent, True),
                                          (agents.retry_with_key_agent, False)])
async def test_bridge_refund_retried_after_timeout(tmp_path, monkeypatch, agent, victim):
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("SHOP_LEDGER", str(ledger))
    bridge = McpStdioHttpBridge("shop", "127.0.0.1:0",
                                [sys.executable, str(HERE / "mcp_shop_server.py"), "stdio"])
    bridge.engine.add_toxic({"type": "mcp_timeout", "attributes": {
        "match_tool": "refund", "max_fired": 1, "timeout": 600}})
    async with bridge:
        answer = await agent(http_connect(bridge.url), "F1")
        tools = await _tools(bridge.url)
    assert '"refunded": 10.0' in answer
    assert tools == ["lookup_order", "refund"]
    assert len(ledger.read_text().splitlines()) == (2 if victim else 1)
    findings = duplicate_side_effects(bridge.engine.traffic, side_effecting={"refund"})
    assert [f.flagged for f in findings] == [victim]
    assert {r.transport for r in bridge.engine.traffic} == {"stdio"}
    assert os.environ["SHOP_LEDGER"] == str(ledger)


async def _tools(url: str) -> list[str]:
    async with http_connect(url)() as s:
        return [t.name for t in (await s.list_tools()).tools]
