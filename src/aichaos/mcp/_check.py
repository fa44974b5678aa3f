"""Pre-flight checks before chaos: does the server speak MCP, and do the tools the toxics
name exist in its ``tools/list``? Uses the official SDK's client session.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TextIO

import anyio
import httpx
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from aichaos.errors import PluginError, TargetError
from aichaos.mcp._toxic import build_mcp_toxic


async def _probe_http(url: str) -> None:
    """POST ``initialize`` by hand and insist on a JSON-RPC answer (fails fast where the SDK
    would wait for its read timeout)."""
    init = types.JSONRPCRequest(jsonrpc="2.0", id=0, method="initialize", params={
        "protocolVersion": types.LATEST_PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "aichaos-check", "version": "0"}})
    async with httpx.AsyncClient(timeout=5.0) as client:
        try:
            r = await client.post(url, json=init.model_dump(mode="json", exclude_none=True),
                                  headers={"Accept": "application/json, text/event-stream"})
        except httpx.HTTPError as exc:
            raise TargetError(f"MCP server {url}: unreachable ({exc or type(exc).__name__})"
                              ) from exc
        ctype = r.headers.get("content-type", "").split(";")[0] or "no content type"
        if r.status_code >= 400 or ctype not in ("application/json", "text/event-stream"):
            raise TargetError(f"MCP server {url}: does not speak MCP (initialize answered "
                              f"HTTP {r.status_code} {ctype}, expected JSON-RPC)")
        sid = r.headers.get("mcp-session-id")
        if sid:  # end the probe's session
            with contextlib.suppress(httpx.HTTPError):
                await client.delete(url, headers={"Mcp-Session-Id": sid})


@asynccontextmanager
async def _session(server: str | Sequence[str],
                   errlog: TextIO | None = None) -> AsyncIterator[ClientSession]:
    if isinstance(server, str):
        async with streamable_http_client(server) as (read, write, _), \
                ClientSession(read, write, read_timeout_seconds=timedelta(seconds=5)) as s:
            yield s
    else:
        params = StdioServerParameters(command=server[0], args=list(server[1:]))
        async with stdio_client(params, errlog=errlog or sys.stderr) as (read, write), \
                ClientSession(read, write, read_timeout_seconds=timedelta(seconds=5)) as s:
            yield s


async def list_server_tools(server: str | Sequence[str], timeout_s: float = 10.0) -> list[str]:
    """Initialize a session with ``server`` (a streamable HTTP URL, or a stdio command as a
    list) and return the names in its ``tools/list``.

    Raises:
        TargetError: the server does not answer ``initialize`` and ``tools/list`` as an MCP
            server within ``timeout_s`` seconds (the message names the server and the cause).
    """
    where = server if isinstance(server, str) else " ".join(server)
    if isinstance(server, str):
        await _probe_http(server)
    errlog = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115  (closed below)

    async def go() -> list[str]:
        async with _session(server, errlog) as s:
            await s.initialize()
            return [t.name for t in (await s.list_tools()).tools]

    def stderr_tail() -> str:
        errlog.seek(0)
        lines = [ln.strip() for ln in errlog.read().splitlines() if ln.strip()]
        return f"; its stderr: {lines[-1][:200]}" if lines else ""

    quiet = [logging.getLogger(n) for n in ("mcp", "asyncio")]  # they log what we raise
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.CRITICAL)
    try:
        return await asyncio.wait_for(go(), timeout_s)
    except TimeoutError:
        raise TargetError(f"MCP server {where}: no MCP answer to initialize within "
                          f"{timeout_s:g} s{stderr_tail()}") from None
    except BaseException as exc:  # the SDK raises from task groups; name the first cause
        if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
            raise
        cause: BaseException = exc
        while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
            cause = cause.exceptions[0]
        text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        if isinstance(cause, anyio.BrokenResourceError | anyio.ClosedResourceError |
                      anyio.EndOfStream):
            text = "it closed the connection before answering initialize"
        raise TargetError(f"MCP server {where}: does not speak MCP ({text}){stderr_tail()}"
                          ) from exc
    finally:
        for q, lvl in zip(quiet, levels, strict=True):
            q.setLevel(lvl)
        errlog.close()


def check_toxic_tools(specs: Sequence[Mapping[str, Any]], tools: Sequence[str], *,
                      transport: str = "http") -> None:
    """Check every toxic spec builds and names only tools the server lists.

    Raises:
        PluginError: a bad spec, or ``match_tool``/``tool`` naming no listed tool (the
            message names the toxic, the tool and the tools listed).
    """
    for i, spec in enumerate(specs):
        toxic = build_mcp_toxic(spec, transport=transport)
        for key in ("match_tool", "tool"):
            pattern = toxic.attributes.get(key)
            if pattern and not any(fnmatch.fnmatchcase(t, pattern) for t in tools):
                raise PluginError(
                    f"toxics[{i}] ({toxic.name}): {key} {pattern!r} matches no tool in "
                    f"tools/list ({', '.join(tools) or 'none'})")
