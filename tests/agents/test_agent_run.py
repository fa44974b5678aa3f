"""Agent tasks end to end: `aichaos validate` and `aichaos run` on an experiment whose layer 3
is agent tasks against a real FastMCP server behind the MCP chaos proxy."""

from __future__ import annotations

import json

import bot
import pytest
from agent_support import agents_section
from typer.testing import CliRunner

from aichaos.cli._main import app
from aichaos.session import run_experiment


def _report(path):
    found = list((path.parent / "results").rglob("report.json"))
    assert len(found) == 1
    return json.loads(found[0].read_text())


@pytest.mark.parametrize("profile,score,dup", [("hardened", 100.0, 0), ("naive", 0.0, 1)])
def test_run_scores_agent_tasks_in_layer_3(crm, write_experiment, profile, score, dup):
    path = write_experiment(agents_section(crm.url, profile))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    done = run_experiment(str(path))
    layer = done.outcome.scorecard.layers[3]
    assert layer.score == score
    checks = {c.name: c for c in layer.checks}
    assert checks["integration.agents.control"].passed
    assert checks["integration.agents.refund-answer-lost"].passed is (profile == "hardened")
    assert checks["integration.agents.duplicate_side_effect"].value == dup
    assert checks["integration.agents.refund-answer-lost"].interval.n == 1
    # control refund once; under the lost answer: hardened once (one key), naive twice
    assert crm.refunds("NW-10202") == (2 if profile == "hardened" else 3)
    rows = layer.details["agents"]["rows"]
    assert [(r["task"], r["condition"]) for r in rows] == [
        ("refund-order", "control"), ("refund-order", "refund-answer-lost")]
    fault = rows[1]["trajectory"]
    assert [c["tool"] for c in fault][:2] == ["lookup_order", "refund"]
    assert fault[1]["toxics"] == ["mcp_timeout"]
    if profile == "naive":
        assert "without one shared idempotency_key" in layer.failing[0].reason
    report = _report(path)
    layer3 = report["scorecard"]["layers"][2]
    assert layer3["key"] == "integration" and layer3["score"] == score
    assert layer3["details"]["agents"]["rows"][1]["outcome"] == (
        "correct" if profile == "hardened" else "silent_failure")


def test_validate_task_without_success_check_exit_2(crm, write_experiment):
    doc = agents_section(crm.url)
    doc["tasks"] = [{"id": "t1", "goal": "Refund order NW-10202."}]
    bot.CALLS.clear()
    result = CliRunner().invoke(app, ["validate", str(write_experiment(doc))])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "task 't1' has no success check" in lines[0]
    assert "layers.integration.agents.tasks[0]" in lines[0]
    assert bot.CALLS == []


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["mcp_servers"]["crm"].pop("url"), "exactly one of url"),
    (lambda d: d["mcp_servers"]["crm"].update(url="ftp://x"), "mcp_servers.crm.url"),
    (lambda d: d["toxics"][0].update(server="billing"), "unknown MCP server 'billing'"),
    (lambda d: d["toxics"][0].update(type="mcp_nope"), "mcp_nope"),
    (lambda d: d.update(mcp_servers={}), "mcp_servers"),
])
def test_validate_malformed_mcp_section_exit_2(crm, write_experiment, mutate, needle):
    doc = agents_section(crm.url)
    mutate(doc)
    result = CliRunner().invoke(app, ["validate", str(write_experiment(doc))])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


def test_run_server_not_mcp_exit_2_before_first_probe(write_experiment):
    from fake_servers import start_not_mcp

    from aichaos.demo import free_port
    srv = start_not_mcp(free_port())
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/mcp"
        path = write_experiment(agents_section(url))
        assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0  # sends nothing
        bot.CALLS.clear()
        result = CliRunner().invoke(app, ["run", str(path)])
    finally:
        srv.shutdown()
    assert result.exit_code == 2
    assert result.stderr == (f"error: MCP server {url}: does not speak MCP (initialize "
                             "answered HTTP 200 text/html, expected JSON-RPC)\n")
    assert bot.CALLS == []  # not even the steady-state probe was sent


@pytest.mark.parametrize("where", ["toxic", "effect"])
def test_run_tool_absent_from_tools_list_exit_2(crm, write_experiment, where):
    doc = agents_section(crm.url)
    if where == "toxic":
        doc["toxics"][0]["attributes"]["match_tool"] = "refnd"
        want = ("error: layers.integration.agents.toxics[0]: match_tool 'refnd' matches no "
                "tool in tools/list (lookup_order, refund)\n")
    else:
        doc["tasks"][0]["success"]["tool_effects"][0]["tool"] = "refund_v9"
        want = ("error: layers.integration.agents.tasks[refund-order].success.tool_effects: "
                "tool 'refund_v9' is not in tools/list (lookup_order, refund)\n")
    bot.CALLS.clear()
    result = CliRunner().invoke(app, ["run", str(write_experiment(doc))])
    assert result.exit_code == 2
    assert result.stderr == want
    assert bot.CALLS == [] and crm.ledger == []
