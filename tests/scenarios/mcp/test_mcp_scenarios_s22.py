"""S22: a streamed answer with two parallel tool calls (``index`` 0 and 1, fragments
interleaved). The victim merges the fragments by position: the arguments become invalid JSON
and the agent crashes; the twin merges by index and both lookups reach the MCP server. A real
scripted OpenAI-compatible streaming server, the real FastMCP shop behind the MCP chaos proxy,
the agents run as aichaos `python` agents."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripted_llm import ScriptedLLM

from aichaos.agents import (
    merge_tool_call_deltas,
    parse_sse_deltas,
    run_standalone,
    streamed_tool_calls,
)
from aichaos.config import AgentTasks

HERE = Path(__file__).parent


@pytest.mark.parametrize("agent,victim", [("position_merging_agent", True),
                                          ("index_merging_agent", False)])
async def test_parallel_tool_calls_merged_from_a_stream(shop, agent, victim):
    llm = await ScriptedLLM().start()
    try:
        config = AgentTasks.model_validate({
            "agent": {"type": "python", "function": f"stream_agents:{agent}",
                      "path": str(HERE), "options": {"llm_url": llm.url}, "timeout_s": 10},
            "mcp_servers": {"crm": {"url": shop.url}},
            "tasks": [{"id": "two-orders", "goal": "Where are orders NW-10201 and NW-10202?",
                       "success": {"expected": "NW-10202", "tool_effects": [
                           {"tool": "lookup_order", "arguments": {"order_id": o}}
                           for o in ("NW-10201", "NW-10202")]}}]})
        [run] = await run_standalone(config)
    finally:
        await llm.stop()
    streamed = merge_tool_call_deltas(parse_sse_deltas(llm.streams[0]))
    assert [(c.index, c.arguments) for c in streamed] == [
        (0, '{"order_id": "NW-10201"}'), (1, '{"order_id": "NW-10202"}')]
    findings = streamed_tool_calls(streamed, run.records, crashed=run.answer.crashed)
    assert [f.flagged for f in findings] == ([True, True] if victim else [False])
    assert run.answer.crashed is victim and run.goal_met is not victim
    if victim:
        assert findings[1].reason.startswith(
            'tool call corrupted under parallel streaming: lookup_order({"order_id": '
            '"NW-10202"}) streamed as index 1 never reached the server')
        assert "JSONDecodeError" in (run.answer.error or "")
        assert run.outcome.value == "crash"
    else:
        assert [r.arguments for r in run.tool_calls] == [{"order_id": "NW-10201"},
                                                         {"order_id": "NW-10202"}]
        assert "NW-10201" in run.answer.answer and '"delivered"' in run.answer.answer
