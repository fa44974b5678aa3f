"""Shared fixtures for the MCP tests (the conftests of tests/scenarios/mcp and tests/mcp_proxy
import them): a real FastMCP server over streamable HTTP, the MCP chaos proxy, and ``connect``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_shop_server import HttpShop

from aichaos.demo import free_port
from aichaos.mcp import McpHttpProxy


@pytest.fixture(scope="module")
def shop() -> Iterator[HttpShop]:
    server = HttpShop(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
async def proxy(shop: HttpShop) -> AsyncIterator[McpHttpProxy]:
    p = McpHttpProxy("shop", "127.0.0.1:0", shop.url, seed=7)
    await p.start()
    yield p
    await p.stop()


def http_connect(url: str) -> Callable[[], AbstractAsyncContextManager[ClientSession]]:
    @asynccontextmanager
    async def connect() -> AsyncIterator[ClientSession]:
        async with streamable_http_client(url) as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            yield session

    return connect


@pytest.fixture
def connect(proxy: McpHttpProxy) -> Callable[[], AbstractAsyncContextManager[ClientSession]]:
    return http_connect(proxy.url)
