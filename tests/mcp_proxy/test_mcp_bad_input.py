"""Bad input: a server that does not speak MCP and a toxic naming a tool absent from
tools/list give one error line and exit 2; a malformed message from the server under test is
recorded, never a crash of the proxy; the control API answers in Toxiproxy's shape."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import httpx
import pytest
from aiohttp import web
from fake_servers import start_not_mcp
from typer.testing import CliRunner

from aichaos.cli._main import app
from aichaos.demo import free_port
from aichaos.mcp import McpHttpProxy, McpStdioProxy, build_mcp_control

HERE = Path(__file__).parent


def test_cli_not_mcp_server_exit_2():
    srv = start_not_mcp(free_port())
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/mcp"
        result = CliRunner().invoke(app, ["mcp", "check", url])
    finally:
        srv.shutdown()
    assert result.exit_code == 2
    assert result.stderr == (f"error: MCP server {url}: does not speak MCP (initialize "
                             "answered HTTP 200 text/html, expected JSON-RPC)\n")


def test_cli_proxy_refuses_a_server_that_is_not_mcp():
    srv = start_not_mcp(free_port())
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/mcp"
        result = CliRunner().invoke(app, ["mcp", "proxy", url, "--listen", "127.0.0.1:0",
                                          "--control", "127.0.0.1:0"])
    finally:
        srv.shutdown()
    assert result.exit_code == 2 and result.stderr.startswith(f"error: MCP server {url}: ")
    types = CliRunner().invoke(app, ["mcp", "toxics"])
    assert types.exit_code == 0 and len(types.stdout.strip().splitlines()) == 13


def test_cli_stdio_server_that_is_not_mcp_exit_2():
    cmd = [sys.executable, "-c", "import sys; print('hello'); sys.exit(3)"]
    result = CliRunner().invoke(app, ["mcp", "check", "--", *cmd])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: MCP server {sys.executable} -c ")
    assert "does not speak MCP" in lines[0]


def test_cli_unknown_tool_exit_2_and_known_tool_ok(shop):
    toxic = json.dumps({"type": "mcp_tool_error", "attributes": {"match_tool": "refnd"}})
    result = CliRunner().invoke(app, ["mcp", "check", shop.url, "--toxic", toxic])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: toxics[0] (mcp_tool_error): match_tool 'refnd' "
                                     "matches no tool in tools/list (lookup_order, refund)")
    ok = CliRunner().invoke(app, ["mcp", "check", shop.url, "--toxic", toxic.replace("refnd", "refund")])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["tools"] == ["lookup_order", "refund"]


def test_cli_bad_toxic_exit_2_before_contacting_anything():
    result = CliRunner().invoke(app, ["mcp", "check", "http://127.0.0.1:9/mcp", "--toxic",
                                      '{"type": "mcp_slow", "attributes": {"latency": "fast"}}'])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: MCP toxic 'mcp_slow': attribute latency: "
                                     "expected a number ms, got 'fast'")


async def test_http_malformed_server_answer_is_an_observation():
    async def handler(request: web.Request) -> web.Response:
        doc = await request.json()
        if doc.get("method") == "tools/call":
            return web.Response(body=b'{"jsonrpc": "2.0", "id": ', content_type="application/json")
        return web.json_response({"jsonrpc": "2.0", "id": doc["id"], "result": {}})

    srv = web.Application()
    srv.router.add_post("/mcp", handler)
    runner = web.AppRunner(srv)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    p = McpHttpProxy("bad", "127.0.0.1:0", f"http://127.0.0.1:{port}/mcp")
    await p.start()
    try:
        async with httpx.AsyncClient() as c:
            bad = await c.post(p.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                            "params": {"name": "x"}})
            assert bad.status_code == 200 and bad.content == b'{"jsonrpc": "2.0", "id": '
            good = await c.post(p.url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"})
            assert good.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    finally:
        await p.stop()
        await runner.cleanup()
    first, second = list(p.engine.traffic)
    assert first.outcome == "malformed" and "malformed message to client" in first.observations[0]
    assert second.outcome == "ok"


async def test_stdio_malformed_server_line_is_an_observation():
    p = McpStdioProxy("g", [sys.executable, str(HERE / "fake_servers.py")])
    client = asyncio.StreamReader()
    got: list[bytes] = []

    async def write(data: bytes) -> None:
        got.append(data)

    for i, method in enumerate(["initialize", "tools/call", "ping"], 1):
        client.feed_data(json.dumps({"jsonrpc": "2.0", "id": i, "method": method,
                                     "params": {"name": "t"} if method == "tools/call" else {}}
                                    ).encode() + b"\n")
    serve = asyncio.ensure_future(p.serve(client, write))
    # the server is a Python subprocess: on a loaded 2-core machine it can take seconds to
    # start, so wait for the three answers up to 30 s (the test ends as soon as they arrive)
    for _ in range(1500):
        if len(got) == 3:
            break
        await asyncio.sleep(0.02)
    client.feed_eof()
    await asyncio.wait_for(serve, 10)
    # the malformed line is passed on as it came and the session goes on (the order in which
    # the proxy hands a raw line and the next answer to the client is not part of the contract)
    assert len(got) == 3
    assert b"Traceback (most recent call last): oops\n" in got
    assert {"jsonrpc": "2.0", "id": 3, "result": {}} in [json.loads(g) for g in got
                                                          if g.startswith(b"{")]
    recs = list(p.engine.traffic)
    observed = [r for r in recs if r.kind == "malformed"]
    assert observed and "malformed message from server" in observed[0].observations[0]
    assert [r.outcome for r in recs if r.method == "ping"] == ["ok"]


async def test_control_api_shape(proxy, connect):
    runner = web.AppRunner(build_mcp_control({"shop": proxy.engine}))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as c:
            r = await c.post(f"{base}/proxies/shop/toxics", json={
                "name": "err", "type": "mcp_tool_error", "attributes": {"match_tool": "refund"}})
            assert r.status == 200 and (await r.json())["fired"] == 0
            r = await c.post(f"{base}/proxies/shop/toxics", json={"name": "err", "type": "mcp_slow"})
            assert r.status == 409 and "exists" in (await r.json())["error"]
            r = await c.post(f"{base}/proxies/shop/toxics", json={"type": "mcp_nope"})
            assert r.status == 400 and "unknown MCP toxic 'mcp_nope'" in (await r.json())["error"]
            async with connect() as s:
                res = await s.call_tool("refund", {"order_id": "Z", "amount": 1.0})
                assert res.isError
            t = await (await c.get(f"{base}/proxies/shop/toxics/err")).json()
            assert t["fired"] == 1 and len(t["fired_on"]) == 1
            traffic = await (await c.get(f"{base}/traffic?tool=refund")).json()
            assert traffic["count"] == 1 and traffic["records"][0]["outcome"] == "tool_error"
            assert traffic["records"][0]["arguments"] == {"order_id": "Z", "amount": 1.0}
            types = await (await c.get(f"{base}/toxics")).json()
            assert len(types) == 13
            assert (await c.delete(f"{base}/proxies/shop/toxics/err")).status == 204
            assert (await c.get(f"{base}/proxies/nope")).status == 404
            assert (await (await c.get(f"{base}/proxies")).json())["shop"]["toxics"] == []
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("argv", [["--toxic", "{not json", "--", "true"], []])
def test_stdio_proxy_bad_options_exit_2(argv, capsys):
    from aichaos.mcp.stdio_proxy import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
