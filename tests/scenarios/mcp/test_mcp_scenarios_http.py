"""Victim/twin pairs over streamable HTTP: a real FastMCP server, the MCP chaos proxy, and
scripted SDK agents. Each victim is flagged by its oracle for its reason; each twin passes."""

from __future__ import annotations

import asyncio

import mcp_agents as agents
import pytest

from aichaos.mcp import (
    duplicate_side_effects,
    flagged,
    loops,
    obeyed_injection,
    session_recovery,
    tool_error_handling,
    tool_list_change,
)


async def _run(coro):  # -> (answer, crashed)
    try:
        return await coro, False
    except Exception:
        return None, True


@pytest.mark.parametrize("agent,crash", [(agents.naive_lookup, True),
                                         (agents.careful_lookup, False)])
async def test_tool_error_crashes_victim_reported_by_twin(proxy, connect, agent, crash):
    proxy.engine.add_toxic({"type": "mcp_tool_error", "attributes": {"match_tool": "lookup_order"}})
    answer, crashed = await _run(agent(connect, "A1"))
    assert crashed is crash
    findings = tool_error_handling(proxy.engine.traffic, crashed=crashed, answer=answer)
    assert [f.flagged for f in findings] == [crash]
    if crash:
        assert "crashed after a tool_error from lookup_order" in findings[0].reason
    else:
        assert "upstream service unavailable" in answer
    assert proxy.engine.toxics["mcp_tool_error"].fired == 1


@pytest.mark.parametrize("agent,victim", [(agents.one_session_agent, True),
                                          (agents.reconnecting_agent, False)])
async def test_lost_session(proxy, connect, agent, victim):
    proxy.engine.add_toxic({"type": "mcp_session_expired", "attributes": {
        "match_method": "tools/call", "after": 1, "max_fired": 1}})
    out = await agent(connect, ["B1", "B2", "B3"])
    recs = list(proxy.engine.traffic)
    lost = [r for r in recs if r.notes.get("session_lost")]
    assert lost and lost[0].http_status == 404
    findings = session_recovery(recs)
    assert [f.flagged for f in findings] == [victim]
    if victim:
        assert "never re-initialised" in findings[0].reason
        assert sum("delivered" in o for o in out) == 1
    else:
        assert "re-initialised and tools/call succeeded" in findings[0].reason
        assert sum("delivered" in o for o in out) == 3
    assert sum(r.method == "initialize" for r in recs) == (1 if victim else 2)


@pytest.mark.parametrize("agent,victim", [(agents.cached_tools_agent, True),
                                          (agents.relisting_agent, False)])
@pytest.mark.parametrize("notify", [True, False])
async def test_tool_list_change(proxy, connect, agent, victim, notify):
    proxy.engine.add_toxic({"type": "mcp_tools_changed", "attributes": {
        "tool": "lookup_order", "change": "rename", "after": 1, "notify": notify}})
    answer, crashed = await _run(agent(connect, ["C1", "C2"]))
    assert crashed is victim
    findings = tool_list_change(proxy.engine.traffic)
    assert [f.flagged for f in findings] == [victim]
    if victim:
        assert "never listed tools again" in findings[0].reason
    else:
        assert len(answer) == 2 and all('"delivered"' in a for a in answer)
        calls = [r.tool for r in proxy.engine.traffic if r.method == "tools/call"]
        assert calls == ["lookup_order", "lookup_order", "lookup_order_v2"]


@pytest.mark.parametrize("agent,victim", [(agents.obedient_agent, True),
                                          (agents.data_only_agent, False)])
async def test_injected_tool_result(proxy, shop, connect, agent, victim):
    proxy.engine.add_toxic({"type": "mcp_injection", "attributes": {"match_tool": "lookup_order"}})
    order = f"D-{agent.__name__}"
    await agent(connect, order)
    findings = obeyed_injection(proxy.engine.traffic)
    assert [f.flagged for f in findings] == [victim]
    assert shop.refunds(order) == (1 if victim else 0)
    if victim:
        assert findings[0].reason == "called refund as the text injected into tools/call lookup_order asked"


@pytest.mark.parametrize("agent,victim", [(agents.retry_no_key_agent, True),
                                          (agents.retry_with_key_agent, False)])
async def test_refund_retried_after_timeout(proxy, shop, connect, agent, victim):
    order = f"E-{agent.__name__}"
    proxy.engine.add_toxic({"type": "mcp_timeout", "attributes": {
        "match_tool": "refund", "max_fired": 1, "timeout": 1500}})
    answer = await agent(connect, order)
    assert '"refunded": 10.0' in answer
    assert shop.refunds(order) == (2 if victim else 1)  # the real side effect
    findings = duplicate_side_effects(proxy.engine.traffic, side_effecting={"refund"})
    assert [f.flagged for f in findings] == [victim]
    if victim:
        assert "reached the server 2 times after mcp_timeout without one shared idempotency_key" \
            in findings[0].reason


async def test_infinite_tool_loop_flagged_step_cap_passes(proxy, connect):
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(agents.polling_agent(connect, "P1"), 1.5)
    victim = loops(proxy.engine.traffic, max_repeats=5)
    assert victim[0].flagged and "lookup_order" in victim[0].reason
    assert len(victim[0].evidence) > 5
    proxy.engine.traffic.clear()
    answer = await agents.capped_agent(connect, "P2")
    assert "still pending after 3 checks" in answer
    twin = loops(proxy.engine.traffic, max_repeats=5)
    assert not flagged(twin) and "(most: 3)" in twin[0].reason
