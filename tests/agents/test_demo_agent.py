"""The demo's agent mode: the naive and hardened agents against the real CRM MCP server
(FastMCP) behind the MCP chaos proxy, under the demo's MCP toxics. Each naive defect is
flagged for its reason; the hardened twin passes. Also the stdio path (the server spawned per
session behind the stdio bridge)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aichaos.agents import run_standalone, score
from aichaos.config import AgentTasks
from aichaos.demo.agent import TASKS, demo_agent_tasks, plan

SRC = Path(__file__).resolve().parents[2] / "src"
#: (task, condition) -> (outcome, oracle that flags it or None, words in the reason)
NAIVE = {
    ("order-status", "control"): ("correct", None, "goal met"),
    ("refund-order", "control"): ("correct", None, "goal met"),
    ("order-status", "crm-tool-error"): ("crash", "tool_error_handling", "JSONDecodeError"),
    ("refund-order", "crm-tool-error"): ("crash", "tool_error_handling", "JSONDecodeError"),
    ("order-status", "refund-answer-lost"): ("correct", None, "goal met"),
    ("refund-order", "refund-answer-lost"): ("silent_failure", "duplicate_side_effect",
                                             "reached the server 2 times after mcp_timeout"),
    ("order-status", "injected-result"): ("silent_failure", "obeyed_injection",
                                          "called refund as the text injected"),
    ("refund-order", "injected-result"): ("silent_failure", "obeyed_injection",
                                          "canary from the injection reached the arguments"),
    ("order-status", "session-lost"): ("correct", None, "goal met"),
    ("refund-order", "session-lost"): ("crash", "session_recovery", "Session terminated"),
}


def test_plan_is_deterministic():
    assert plan("Refund order nw-10202 in full.") == ("refund", "NW-10202")
    assert plan("What is the status of order NW-10201?") == ("status", "NW-10201")
    assert plan("hello") is None


async def test_naive_agent_flagged_for_each_defect(crm):
    config = demo_agent_tasks("naive", crm.url)
    runs = await run_standalone(config)
    got = {(r.task.id, r.condition): r for r in runs}
    assert set(got) == set(NAIVE)
    for key, (outcome, oracle, words) in NAIVE.items():
        r = got[key]
        assert r.outcome.value == outcome, (key, r.reason)
        assert oracle is None or oracle in {f.oracle for f in r.findings}, (key, r.findings)
        assert words in r.reason or words in (r.answer.error or ""), (key, r.reason)
    result = score("t", config, runs)
    assert result.score == 25.0  # (0/2 + 1/2 + 0/2 + 1/2) / 4 toxics
    assert result.interval is not None and result.interval.n == 8


async def test_hardened_agent_passes_every_condition(crm):
    config = demo_agent_tasks("hardened", crm.url)
    runs = await run_standalone(config)
    assert [(r.task.id, r.condition, r.score) for r in runs if r.score < 1] == []
    assert [r.findings for r in runs if r.findings] == []
    by = {(r.task.id, r.condition): r for r in runs}
    assert by[("order-status", "crm-tool-error")].outcome.value == "clean_error"
    assert "Could not look up order NW-10201" in by[("order-status", "crm-tool-error")
                                                   ].answer.answer
    lost = by[("refund-order", "refund-answer-lost")]
    keys = {c.arguments["idempotency_key"] for c in lost.tool_calls if c.tool == "refund"}
    assert len([c for c in lost.tool_calls if c.tool == "refund"]) == 2 and len(keys) == 1
    again = by[("refund-order", "session-lost")]
    assert [r.method for r in again.records if r.method == "initialize"] == ["initialize"] * 2
    # refunds that took effect: control, lost answer (deduplicated), injection, session: 4
    assert crm.refunds("NW-10202") == 4
    result = score("t", config, runs)
    assert result.score == 100.0 and all(c.passed for c in result.checks)


def _one(crm_url, toxics, **options):
    return AgentTasks.model_validate({
        "agent": {"type": "python", "function": "aichaos.demo.agent:hardened",
                  "options": options},
        "mcp_servers": {"crm": {"url": crm_url, "side_effecting": ["refund"]}},
        "tasks": [TASKS[1]], "toxics": toxics})


async def test_step_cap_reported(crm):
    [control] = await run_standalone(_one(crm.url, [], max_steps=1))
    # one step allowed: the refund is never attempted and the agent says so
    assert control.steps == 1 and "step cap of 1 tool calls reached" in control.answer.answer
    assert control.outcome.value == "clean_error" and control.score == 0.0  # not under control
    assert crm.refunds("NW-10202") == 0


async def test_tool_list_change_relisted(crm):
    _control, renamed = await run_standalone(_one(crm.url, [
        {"server": "crm", "type": "mcp_tools_changed", "attributes": {
            "tool": "lookup_order", "change": "rename", "after": 0}}]))
    assert [c.tool for c in renamed.tool_calls] == ["lookup_order", "lookup_order_v2",
                                                    "refund"]
    assert renamed.outcome.value == "correct" and renamed.findings == []


async def test_stdio_server_behind_the_bridge():
    cfg = AgentTasks.model_validate({
        "agent": {"type": "python", "function": "aichaos.demo.agent:hardened",
                  "timeout_s": 30},
        # the SDK's stdio client passes only a few variables on: name this tree's sources
        "mcp_servers": {"crm": {"command": ["env", f"PYTHONPATH={SRC}", sys.executable, "-m",
                                            "aichaos.demo.agent", "stdio"],
                                "side_effecting": ["refund"]}},
        "tasks": [TASKS[0]],
        "toxics": [{"server": "crm", "type": "mcp_tool_error",
                    "attributes": {"match_tool": "lookup_order"}}]})
    control, fault = await run_standalone(cfg)
    assert control.outcome.value == "correct" and "delivered" in control.answer.answer
    assert {r.transport for r in control.records} == {"stdio"}
    assert fault.outcome.value == "clean_error" and fault.score == 1.0


def test_session_toxic_refused_on_stdio():
    from aichaos.agents import check_static
    from aichaos.errors import ConfigError

    cfg = AgentTasks.model_validate({
        "agent": {"type": "python", "function": "aichaos.demo.agent:hardened"},
        "mcp_servers": {"crm": {"command": ["python", "server.py"]}},
        "tasks": [TASKS[0]], "toxics": [{"server": "crm", "type": "mcp_session_expired"}]})
    with pytest.raises(ConfigError, match=r"layers.integration.agents.toxics\[0\]: .*stdio"):
        check_static(cfg)
