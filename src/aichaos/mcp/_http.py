"""The streamable HTTP front of the MCP chaos proxy (MCP spec 2025-06-18, "Transports").

A reverse proxy in front of one MCP endpoint: each client POST carries one JSON-RPC message;
the server answers with ``application/json`` (one message) or ``text/event-stream`` (events,
the last one the response). Requests go through :class:`McpEngine`'s toxics; the server's
answer is parsed message by message, put through the toxics and re-emitted (as SSE when a
toxic makes it more than one message). ``GET`` (the server's own event stream) and
``DELETE`` (session end) pass through. A message the server gets wrong is recorded and
delivered as it came; it never breaks the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from aichaos.errors import ProxyError
from aichaos.mcp import _messages as m
from aichaos.mcp import _sse
from aichaos.mcp._engine import McpEngine, Pending
from aichaos.mcp._toxic import Intercept, McpToxic
from aichaos.mcp._traffic import McpTrafficLog
from aichaos.proxy import bind_listener, parse_listen

_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                  "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
                  "content-encoding"})
_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def _fwd_headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _HOP}


class McpHttpProxy:
    """An MCP chaos proxy for the streamable HTTP transport.

    Args:
        name: proxy name.
        listen: ``host:port`` to listen on (port 0 picks one; see :attr:`port`).
        upstream: the MCP endpoint URL, e.g. ``http://127.0.0.1:8000/mcp``.
        seed: run seed for the toxics.
        traffic: a shared traffic log (a new one by default).

    Attributes:
        engine: toxics, counters and traffic (:class:`aichaos.mcp.McpEngine`).
        url: the proxy's MCP endpoint once started (same path as the upstream's).
    """

    def __init__(self, name: str, listen: str, upstream: str, *, seed: int = 0,
                 traffic: McpTrafficLog | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProxyError(f"upstream {upstream!r}: expected an http(s)://host:port/path URL")
        self.name = name
        self.upstream = upstream
        self.host, self.port = parse_listen(listen)
        self.engine = McpEngine(name, transport="http", seed=seed, traffic=traffic)
        self._path = parts.path or "/"
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._runner: web.ServerRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._bg: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self._path}"

    async def start(self) -> None:
        """Listen.

        Raises:
            ProxyError: the address is in use.
        """
        sock = bind_listener(self.host, self.port, f"MCP proxy {self.name!r}")
        self.port = sock.getsockname()[1]
        self._client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"))
        self._runner = web.ServerRunner(web.Server(self._handle, access_log=None),
                                        handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """End holds, close the listener and the upstream connections."""
        self.engine.stop()
        for task in list(self._bg):
            task.cancel()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def __aenter__(self) -> McpHttpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ forward

    def _target(self, request: web.BaseRequest) -> str:
        return self._base + request.path_qs

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            if request.method != "POST":
                return await self._passthrough(request, await request.read())
            body = await request.read()
            msg = m.parse(body)
            if isinstance(msg, bytes) or msg.kind != "request":
                if isinstance(msg, m.Message):
                    self.engine.observe(msg, direction="client",
                                        session=request.headers.get("mcp-session-id"))
                return await self._passthrough(request, body)
            return await self._request(request, msg)
        except aiohttp.ClientConnectionError as exc:
            return web.json_response(m.error(None, -32603, f"upstream unreachable: {exc}"),
                                     status=502)

    async def _passthrough(self, request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        assert self._client is not None
        async with self._client.request(request.method, self._target(request), data=body,
                                        headers=_fwd_headers(request.headers)) as up:
            resp = web.StreamResponse(status=up.status, headers=_fwd_headers(up.headers))
            await resp.prepare(request)
            async for chunk in up.content.iter_any():
                await resp.write(chunk)
            await resp.write_eof()
            return resp

    async def _request(self, request: web.BaseRequest, msg: m.Message) -> web.StreamResponse:
        p = self.engine.begin(msg, session=request.headers.get("mcp-session-id"))
        got = await self.engine.intercept(p)
        if got is not None:
            resp = await self._intercepted(request, p, *got)
            if resp is not None:
                return resp
        return await self._forward(request, p)

    async def _forward(self, request: web.BaseRequest, p: Pending) -> web.StreamResponse:
        assert self._client is not None
        async with self._client.post(self._target(request), data=p.call.msg.encode(),
                                     headers=_fwd_headers(request.headers)) as up:
            ctype = up.headers.get("Content-Type", "")
            headers = _fwd_headers(up.headers)
            if up.status >= 400 or not (ctype.startswith("application/json")
                                        or ctype.startswith("text/event-stream")):
                raw = await up.read()
                parsed = m.parse(raw) if raw else None
                self.engine.finish(p, [parsed] if isinstance(parsed, m.Message) else [],
                                   forwarded=True, http_status=up.status)
                return web.Response(status=up.status, body=raw, headers=headers)
            if ctype.startswith("application/json"):
                raw = await up.read()
                out = await self.engine.respond(p, [m.parse(raw)])
                return await self._send(request, p, out, up.status, headers)
            return await self._stream(request, p, up, headers)

    async def _stream(self, request: web.BaseRequest, p: Pending,
                      up: aiohttp.ClientResponse, headers: dict[str, str]) -> web.StreamResponse:
        """Relay an SSE answer: events before the response pass at once; the response goes
        through the toxics."""
        headers = {**headers, **_SSE_HEADERS}
        resp = web.StreamResponse(status=up.status, headers=headers)
        await resp.prepare(request)
        delivered: list[m.Message | m.Raw] = []
        async for ev in _sse.read_events(up.content.__aiter__()):
            item = m.parse(ev.data)
            if isinstance(item, m.Message) and item.kind in ("response", "error") \
                    and item.id == p.call.msg.id:
                out = await self.engine.respond(p, [item])
                for x in out:
                    await resp.write(_sse.encode(x.doc if isinstance(x, m.Message) else x))
                delivered += out
                break
            if isinstance(item, bytes):
                self.engine.observe(item, direction="server", session=p.call.session)
            else:
                self.engine.observe(item, direction="server", session=p.call.session)
            await resp.write(_sse.encode(item.doc if isinstance(item, m.Message) else item,
                                         ev.id))
        self.engine.finish(p, delivered, forwarded=True, http_status=up.status)
        with contextlib.suppress(ConnectionError):
            await resp.write_eof()
        return resp

    async def _send(self, request: web.BaseRequest, p: Pending,
                    out: Sequence[m.Message | m.Raw | dict[str, Any]], status: int,
                    headers: dict[str, str], *, forwarded: bool = True) -> web.StreamResponse:
        docs = [x.doc if isinstance(x, m.Message) else x for x in out]
        self.engine.finish(p, out, forwarded=forwarded, http_status=status)
        if len(out) == 1:
            one = out[0]
            body = one.encode() if isinstance(one, m.Message) else (
                one if isinstance(one, bytes) else json.dumps(one).encode())
            headers = {**headers, "Content-Type": "application/json"}
            return web.Response(status=status, body=body, headers=headers)
        resp = web.StreamResponse(status=status, headers={**headers, **_SSE_HEADERS})
        await resp.prepare(request)
        for doc in docs:
            await resp.write(_sse.encode(doc))
        await resp.write_eof()
        return resp

    async def _intercepted(self, request: web.BaseRequest, p: Pending, toxic: McpToxic,
                           icpt: Intercept) -> web.StreamResponse | None:
        """Answer as ``icpt`` says; None means go on and forward (a resumed hold)."""
        if icpt.forward:
            await self._forward_and_drop(request, p)
        if icpt.hold_s is None or icpt.hold_s > 0:
            await toxic.hold(p.call, icpt.hold_s)
        if icpt.resume and not self.engine.stopping.is_set():
            return None
        if not icpt.messages:  # no answer: close the connection
            self.engine.finish(p, [], forwarded=icpt.forward)
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=499)
        headers = {**icpt.headers}
        if p.call.session and icpt.status < 400:
            headers["Mcp-Session-Id"] = p.call.session
        return await self._send(request, p, icpt.messages, icpt.status, headers,
                                forwarded=icpt.forward)

    async def _forward_and_drop(self, request: web.BaseRequest, p: Pending) -> None:
        """Send the request upstream and read the answer to its end (the server acts); the
        answer is dropped."""
        assert self._client is not None
        async with self._client.post(self._target(request), data=p.call.msg.encode(),
                                     headers=_fwd_headers(request.headers)) as up:
            self.engine.mark_forwarded(p)
            ctype = up.headers.get("Content-Type", "")
            if ctype.startswith("text/event-stream"):
                async for ev in _sse.read_events(up.content.__aiter__()):
                    item = m.parse(ev.data)
                    if isinstance(item, m.Message) and item.id == p.call.msg.id:
                        break
            else:
                await up.read()
