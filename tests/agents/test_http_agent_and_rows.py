"""The `http` agent type (a real aiohttp agent endpoint that runs the demo's hardened agent on
the proxy URL it is given) and the agent rows `aichaos demo` prints."""

from __future__ import annotations

import json

from aiohttp import web
from rich.console import Console

from aichaos.agents import run_standalone, score
from aichaos.config import AgentTasks
from aichaos.demo.agent import TASKS, agent_rows, demo_agent_tasks, hardened, render_agent_rows


async def _agent_endpoint(request: web.Request) -> web.Response:
    body = await request.json()
    urls = json.loads(body["mcp_urls"])
    if body["goal"].startswith("boom"):
        return web.Response(status=500, text="Traceback (most recent call last): ...")
    answer = await hardened(body["goal"], urls)
    return web.json_response({"result": {"text": answer},
                              "usage": {"input_tokens": 11, "output_tokens": 5}})


async def test_http_agent_endpoint(crm):
    app = web.Application()
    app.router.add_post("/agent", _agent_endpoint)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        cfg = AgentTasks.model_validate({
            "agent": {"type": "http", "url": f"http://127.0.0.1:{port}/agent",
                      "answer_path": "$.result.text"},
            "mcp_servers": {"crm": {"url": crm.url, "side_effecting": ["refund"]}},
            "tasks": [TASKS[1], {"id": "boom", "goal": "boom NW-10201",
                                 "success": {"expected": "x"}}],
            "toxics": [{"server": "crm", "type": "mcp_timeout", "attributes": {
                "match_tool": "refund", "max_fired": 1, "timeout": 3000}}]})
        runs = await run_standalone(cfg)
    finally:
        await runner.cleanup()
    by = {(r.task.id, r.condition): r for r in runs}
    ok = by[("refund-order", "mcp_timeout")]
    assert ok.outcome.value == "correct" and ok.answer.answer.startswith("Refunded $45.97")
    assert ok.answer.tokens == 16
    assert [c.tool for c in ok.tool_calls] == ["lookup_order", "refund", "refund"]
    boom = by[("boom", "control")]
    assert boom.outcome.value == "crash" and boom.answer.error == "HTTP 500"
    assert crm.refunds("NW-10202") == 2  # control once, under the timeout once (one key)


async def test_agent_rows_from_scorecards(crm):
    cards = {}
    for profile in ("naive", "hardened"):
        cfg = demo_agent_tasks(profile, crm.url, quick=True)
        res = score("r", cfg, await run_standalone(cfg))
        cards[profile] = {"layers": [{"layer": 3, "details": res.details,
                                      "checks": [{"name": c.name, "value": c.value}
                                                 for c in res.checks]}]}
    rows = agent_rows(cards)
    assert rows[:3] == [("tasks under control", "2/2", "2/2"),
                        ("tasks under crm-tool-error", "0/2 (crash)", "2/2"),
                        ("tasks under refund-answer-lost", "1/2 (silent_failure)", "2/2")]
    assert ("runs refunding twice", "1", "0") in rows
    assert rows[-1] == ("agent part of layer 3", "25.0", "100.0")
    console = Console(record=True, width=100)
    render_agent_rows(cards, console)
    assert "agent mode: tasks under MCP toxics" in console.export_text()
