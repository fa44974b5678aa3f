"""``aichaos mcp``: the MCP chaos proxy (streamable HTTP and stdio) and its pre-flight check.

Expected errors print one line (``error: ...``) and exit 2: a server that does not speak MCP,
a toxic naming a tool absent from ``tools/list``, a bad toxic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer

from aichaos.errors import AIChaosError, ConfigError, TargetError

app = typer.Typer(name="mcp", help="Chaos for MCP tool servers (streamable HTTP and stdio).",
                  no_args_is_help=True)
R = TypeVar("R")
Toxics = Annotated[list[str] | None, typer.Option(
    "--toxic", help='a toxic as JSON, e.g. \'{"type": "mcp_tool_error", "attributes": '
                    '{"match_tool": "refund"}}\' (repeatable)')]


def _run(coro: Coroutine[Any, Any, R]) -> R:
    try:
        return asyncio.run(coro)
    except AIChaosError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, ConfigError | TargetError) else 1) from None


def _specs(values: list[str] | None) -> list[dict[str, Any]]:
    from aichaos.mcp.stdio_proxy import parse_toxics

    return parse_toxics(values or [])


async def _check(server: str | list[str], specs: list[dict[str, Any]]) -> list[str]:
    from aichaos.mcp import build_mcp_toxic, check_toxic_tools, list_server_tools

    transport = "http" if isinstance(server, str) else "stdio"
    for spec in specs:  # a bad spec is reported before the server is contacted
        build_mcp_toxic(spec, transport=transport)
    tools = await list_server_tools(server)
    check_toxic_tools(specs, tools, transport=transport)
    return tools


@app.command("check")
def check(server: Annotated[list[str], typer.Argument(
              help="an MCP endpoint URL, or a stdio server command after --")],
          toxic: Toxics = None) -> None:
    """Initialize a session with SERVER, list its tools, and check the toxics' tool names."""
    target: str | list[str] = server[0] if len(server) == 1 and "://" in server[0] else server
    tools = _run(_check(target, _specs(toxic)))
    typer.echo(json.dumps({"mcp": True, "tools": tools}))


@app.command("proxy")
def proxy(upstream: Annotated[str, typer.Argument(help="MCP endpoint URL, e.g. "
                                                       "http://127.0.0.1:8000/mcp")],
          listen: Annotated[str, typer.Option(help="host:port to listen on")] = "127.0.0.1:8480",
          control: Annotated[str, typer.Option(help="host:port of the control API")] =
          "127.0.0.1:8475",
          toxic: Toxics = None, seed: int = 0, name: str = "mcp") -> None:
    """Run an MCP chaos proxy in front of UPSTREAM (streamable HTTP) until interrupted."""
    specs = _specs(toxic)

    async def serve() -> None:
        from aichaos.mcp import McpHttpProxy, start_mcp_control

        await _check(upstream, specs)
        p = McpHttpProxy(name, listen, upstream, seed=seed)
        for spec in specs:
            p.engine.add_toxic(spec)
        await p.start()
        runner, port = await start_mcp_control({name: p.engine}, control)
        typer.echo(f"MCP proxy {name}: {p.url} -> {upstream}; control API "
                   f"http://127.0.0.1:{port}", err=True)
        try:
            await asyncio.Event().wait()
        finally:
            await p.stop()
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        _run(serve())


@app.command("toxics")
def toxics() -> None:
    """List the MCP toxic types with their attributes (JSON lines)."""
    from aichaos.mcp import describe_mcp_types

    for t in describe_mcp_types():
        typer.echo(json.dumps(t))
