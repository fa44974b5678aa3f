"""A stdio MCP server exposed as streamable HTTP, through the MCP chaos proxy.

Each HTTP session (``initialize`` without ``Mcp-Session-Id``) spawns its own server process
behind a :class:`McpStdioProxy`; all sessions share one :class:`McpEngine`, so toxics,
counters and traffic are those of one proxy. A POSTed request is answered ``application/json``
with the server's response; notifications and responses from the client get 202; messages
the server sends on its own go to the session's ``GET`` event stream; ``DELETE`` ends the
session and its process. An unknown session id gets 404, as the spec prescribes. A request
left without an answer (a toxic, or a server that exited) stays open until the client gives
up or the bridge stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

from aiohttp import web

from aichaos.errors import ProxyError
from aichaos.mcp import _messages as m
from aichaos.mcp import _sse
from aichaos.mcp._engine import McpEngine
from aichaos.mcp._stdio import McpStdioProxy
from aichaos.mcp._traffic import McpTrafficLog
from aichaos.proxy import bind_listener, parse_listen

_HEADER = "Mcp-Session-Id"


class _Session:
    def __init__(self, proxy: McpStdioProxy) -> None:
        self.proxy = proxy
        self.reader = asyncio.StreamReader()
        self.waiters: dict[str | int, asyncio.Future[bytes]] = {}
        self.events: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.task = asyncio.ensure_future(proxy.serve(self.reader, self.write))
        self.task.add_done_callback(lambda _t: self._closed())

    async def write(self, data: bytes) -> None:
        for line in data.splitlines():
            item = m.parse(line)
            rid = item.id if isinstance(item, m.Message) and item.kind in (
                "response", "error") else None
            if rid is None and isinstance(item, bytes) and len(self.waiters) == 1:
                rid = next(iter(self.waiters))  # a malformed answer goes to the one waiting
            fut = self.waiters.pop(rid, None) if rid is not None else None
            if fut is not None and not fut.done():
                fut.set_result(line)
            else:
                self.events.put_nowait(line)

    def _closed(self) -> None:
        for fut in self.waiters.values():
            if not fut.done():
                fut.cancel()
        self.events.put_nowait(None)

    async def close(self) -> None:
        self.reader.feed_eof()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(self.task, 5.0)


class McpStdioHttpBridge:
    """Serve a stdio MCP server command over streamable HTTP at ``http://listen/mcp``.

    Args:
        name: proxy name.
        listen: ``host:port`` (port 0 picks one; see :attr:`url`).
        command: the server command and its arguments.
        seed: run seed for the toxics.
        traffic: a shared traffic log (a new one by default).

    Attributes:
        engine: toxics, counters and traffic shared by every session (transport ``stdio``).
    """

    def __init__(self, name: str, listen: str, command: Sequence[str], *, seed: int = 0,
                 traffic: McpTrafficLog | None = None) -> None:
        if not command:
            raise ProxyError("stdio bridge: no server command given")
        self.name = name
        self.command = list(command)
        self.host, self.port = parse_listen(listen)
        self.engine = McpEngine(name, transport="stdio", seed=seed, traffic=traffic)
        self.sessions: dict[str, _Session] = {}
        self._runner: web.ServerRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/mcp"

    async def start(self) -> None:
        """Listen.

        Raises:
            ProxyError: the address is in use.
        """
        sock = bind_listener(self.host, self.port, f"stdio bridge {self.name!r}")
        self.port = sock.getsockname()[1]
        self._runner = web.ServerRunner(web.Server(self._handle, access_log=None),
                                        handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """End holds, every session and its server process, then the listener."""
        self.engine.stop()
        for sid in list(self.sessions):
            await self.sessions.pop(sid).close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> McpStdioHttpBridge:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        sid = request.headers.get(_HEADER)
        session = self.sessions.get(sid) if sid else None
        if session is not None and session.task.done() and sid is not None:
            self.sessions.pop(sid)  # its server process has exited: the session is gone
            session = None
        if request.method == "DELETE":
            if session is None or sid is None:
                return web.Response(status=404)
            await self.sessions.pop(sid).close()
            return web.Response(status=200)
        if request.method == "GET":
            return await self._events(request, session) if session else web.Response(
                status=404 if sid else 400)
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "GET, POST, DELETE"})
        body = await request.read()
        msg = m.parse(body)
        if isinstance(msg, bytes):
            return web.json_response(m.error(None, -32700, "Parse error"), status=400)
        if session is None:
            if sid is not None:
                return web.json_response(m.error(msg.id, -32001, "Session not found"),
                                         status=404)
            if msg.method != "initialize":
                return web.json_response(m.error(msg.id, -32600, "Bad Request: no session; "
                                                 "send initialize first"), status=400)
            sid = uuid.uuid4().hex
            session = self.sessions[sid] = _Session(McpStdioProxy(
                self.name, self.command, engine=self.engine))
        assert sid is not None
        if msg.kind != "request" or msg.id is None:
            session.reader.feed_data(body.strip() + b"\n")
            return web.Response(status=202, headers={_HEADER: sid})
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        session.waiters[msg.id] = fut
        session.reader.feed_data(body.strip() + b"\n")
        try:
            line = await fut
        except asyncio.CancelledError:  # the session ended with this request unanswered:
            await self.engine.stopping.wait()  # it stays so (no answer) until the bridge stops
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=499)
        return web.Response(status=200, body=line, headers={
            _HEADER: sid, "Content-Type": "application/json"})

    async def _events(self, request: web.BaseRequest, session: _Session) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
        await resp.prepare(request)
        while (line := await session.events.get()) is not None:
            item = m.parse(line)
            await resp.write(_sse.encode(item.doc if isinstance(item, m.Message) else line))
        return resp
