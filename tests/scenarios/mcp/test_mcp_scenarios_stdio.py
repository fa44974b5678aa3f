"""Victim/twin pairs over stdio: the SDK's stdio client spawns
``python -m aichaos.mcp.stdio_proxy -- python mcp_shop_server.py stdio`` (a real stdio MCP
server behind the real proxy process); the oracles read the proxy's ``--traffic-out`` log."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import mcp_agents as agents
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import aichaos
from aichaos.mcp import duplicate_side_effects, load_jsonl, tool_error_handling

HERE = Path(__file__).parent
SRC = str(Path(aichaos.__file__).parents[1])


def stdio_connect(tmp_path: Path, toxics: list[dict]):
    traffic, ledger = tmp_path / "traffic.jsonl", tmp_path / "ledger.jsonl"
    args = ["-m", "aichaos.mcp.stdio_proxy", "--traffic-out", str(traffic), "--seed", "3"]
    for t in toxics:
        args += ["--toxic", json.dumps(t)]
    args += ["--", sys.executable, str(HERE / "mcp_shop_server.py"), "stdio"]
    env = {**os.environ, "PYTHONPATH": SRC, "SHOP_LEDGER": str(ledger)}
    params = StdioServerParameters(command=sys.executable, args=args, env=env)

    @asynccontextmanager
    async def connect() -> AsyncIterator[ClientSession]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            yield s

    def refunds() -> int:
        return len(ledger.read_text().splitlines()) if ledger.exists() else 0

    return connect, (lambda: load_jsonl(str(traffic))), refunds


@pytest.mark.parametrize("agent,crash", [(agents.naive_lookup, True),
                                         (agents.careful_lookup, False)])
async def test_stdio_tool_error(tmp_path, agent, crash):
    connect, traffic, _ = stdio_connect(tmp_path, [
        {"type": "mcp_tool_error", "attributes": {"match_tool": "lookup_order"}}])
    try:
        answer, crashed = await agent(connect, "A1"), False
    except Exception:
        answer, crashed = None, True
    assert crashed is crash
    recs = traffic()
    assert [r.method for r in recs if r.direction == "client" and r.kind == "request"] == [
        "initialize", "tools/call"]
    assert recs[-1].transport == "stdio" and recs[-1].outcome == "tool_error"
    assert [f.flagged for f in tool_error_handling(recs, crashed=crashed, answer=answer)] == [crash]


@pytest.mark.parametrize("agent,victim", [(agents.retry_no_key_agent, True),
                                          (agents.retry_with_key_agent, False)])
async def test_stdio_refund_retried_after_timeout(tmp_path, agent, victim):
    connect, traffic, refunds = stdio_connect(tmp_path, [
        {"type": "mcp_timeout", "attributes": {"match_tool": "refund", "max_fired": 1,
                                               "timeout": 600}}])
    answer = await agent(connect, "E1")
    assert '"refunded": 10.0' in answer
    assert refunds() == (2 if victim else 1)
    findings = duplicate_side_effects(traffic(), side_effecting={"refund"})
    assert [f.flagged for f in findings] == [victim]
