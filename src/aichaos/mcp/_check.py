"""Pre-flight checks before chaos: does the server speak MCP, and do the tools the toxics
name exist in its ``tools/list``? Uses the official SDK's client session.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from aichaos.errors import PluginError, TargetError
from aichaos.mcp._toxic import build_mcp_toxic


@asynccontextmanager
async def _session(server: str | Sequence[str]) -> AsyncIterator[ClientSession]:
    if isinstance(server, str):
        async with streamable_http_client(server) as (read, write, _), \
                ClientSession(read, write, read_timeout_seconds=timedelta(seconds=5)) as s:
            yield s
    else:
        params = StdioServerParameters(command=server[0], args=list(server[1:]))
        async with stdio_client(params) as (read, write), \
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

    async def go() -> list[str]:
        async with _session(server) as s:
            await s.initialize()
            return [t.name for t in (await s.list_tools()).tools]

    try:
        return await asyncio.wait_for(go(), timeout_s)
    except TimeoutError:
        raise TargetError(f"MCP server {where}: no MCP answer to initialize within "
                          f"{timeout_s:g} s") from None
    except BaseException as exc:  # the SDK raises from task groups; name the first cause
        if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
            raise
        cause: BaseException = exc
        while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
            cause = cause.exceptions[0]
        text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise TargetError(f"MCP server {where}: does not speak MCP ({text})") from exc


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
