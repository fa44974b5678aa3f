"""aichaos drives the tool loop against an OpenAI-compatible endpoint (a scripted real HTTP
server): tools from the MCP server through the chaos proxy, parallel tool calls (streamed
fragments merged by index), tool results sent back, tokens counted; and the merge rule."""

from __future__ import annotations

import pytest
from scripted_llm import ScriptedLLM

from aichaos.agents import merge_tool_call_deltas, run_standalone
from aichaos.config import AgentTasks


def _config(llm_url: str, crm_url: str, stream: bool, toxics=()):
    return AgentTasks.model_validate({
        "agent": {"type": "openai", "base_url": llm_url, "model": "scripted",
                  "stream": stream, "timeout_s": 10},
        "mcp_servers": {"crm": {"url": crm_url, "side_effecting": ["refund"]}},
        "tasks": [{"id": "two", "goal": "Status of NW-10201 and NW-10218?",
                   "success": {"expected": "shipped", "tool_effects": [
                       {"tool": "lookup_order", "arguments": {"order_id": "NW-10218"}}]}}],
        "toxics": list(toxics)})


@pytest.mark.parametrize("stream", [True, False])
async def test_tool_loop_through_the_mcp_proxy(crm, stream):
    llm = await ScriptedLLM().start()
    try:
        [run] = await run_standalone(_config(llm.url, crm.url, stream))
    finally:
        await llm.stop()
    assert run.goal_met and run.outcome.value == "correct"
    assert [r.arguments for r in run.tool_calls] == [{"order_id": "NW-10201"},
                                                     {"order_id": "NW-10218"}]
    assert all(r.proxy == "crm" and r.outcome == "ok" for r in run.tool_calls)
    first, second = llm.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["lookup_order", "refund"]
    tool_msgs = [m for m in second["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["call_0", "call_1"]
    assert '"status": "delivered"' in tool_msgs[0]["content"]
    assert run.answer.model_steps == 2 and run.answer.output_tokens == 14
    assert run.answer.input_tokens == sum(
        sum(len(str(m.get("content") or "").split()) for m in r["messages"])
        for r in llm.requests)


async def test_tool_error_reaches_the_model_as_text(crm):
    llm = await ScriptedLLM().start()
    try:
        [control, fault] = await run_standalone(_config(llm.url, crm.url, False, [
            {"server": "crm", "type": "mcp_tool_error", "attributes": {
                "match_tool": "lookup_order", "text": "CRM down"}}]))
    finally:
        await llm.stop()
    assert control.goal_met and not fault.goal_met
    assert "error: CRM down" in fault.answer.answer
    assert fault.outcome.value == "clean_error" and fault.score == 1.0  # reported, graceful
    assert [f.oracle for f in fault.findings] == []


def test_merge_by_index_not_by_arrival():
    deltas = [{"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g",
                                                                  "arguments": '{"y"'}}]},
              {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f",
                                                                  "arguments": '{"x": 1'}}]},
              {"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]},
              {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}]
    calls = merge_tool_call_deltas(deltas)
    assert [(c.index, c.id, c.name, c.parsed()) for c in calls] == [
        (0, "a", "f", {"x": 1}), (1, "b", "g", {"y": 2})]
