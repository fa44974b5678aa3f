"""The chaos proxy: one HTTP/1.1 reverse proxy per dependency, applying toxics per request.

Two forward paths share one listener. Requests no toxic can fire on take the fast path
(:mod:`aichaos.proxy._fast`: raw asyncio protocols, httptools, a keep-alive upstream pool).
Everything else is handed to the full path below, built on aiohttp's low-level server and
client, where toxics act. On both, request and response bodies pass byte-exact when no toxic
fires (no decompression), small fixed-length bodies are relayed whole and everything else
(chunked, SSE) chunk by chunk as it arrives. Hop-by-hop headers (RFC 9110 section 7.6.1) are
dropped and ``Host`` is set to the upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from aichaos.errors import ProxyError
from aichaos.faults import CutConnection, Exchange, Reply, Toxic
from aichaos.proxy._control import start_control
from aichaos.proxy._fast import FastConnection, UpstreamPool
from aichaos.proxy._traffic import TrafficLog, TrafficRecord
from aichaos.proxy._types import bind_listener, parse_listen

_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                  "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length"})
_WHOLE_BODY_MAX = 256 * 1024  # fixed-length bodies up to this size are relayed in one write


#: ``listener(proxy_name, toxic_name, toxic_dict_or_None)``: see :attr:`ChaosProxy.toxic_listeners`
ToxicListener = Callable[[str, str, dict[str, Any] | None], None]

def _parse_upstream(upstream: str) -> str:
    if "://" not in upstream:
        upstream = "http://" + upstream
    parts = urlsplit(upstream)
    try:
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (
            parts.port is None or parts.port >= 0)
    except ValueError:
        ok = False
    if not ok:
        raise ProxyError(f"upstream {upstream!r}: expected http(s)://host:port")
    return upstream.rstrip("/")


class Proxy:
    """One listening proxy ``listen -> upstream`` with its ordered toxics.

    Attributes:
        name: dependency name.
        listen: ``host:port`` asked for; ``port`` holds the bound port once started.
        upstream: base URL requests are forwarded to (path and query appended).
        enabled: False makes the proxy reset every new request's connection.
        toxics: active toxics by name, in the order they were added (applied in that order).
        fast_path: True for plain-http upstreams: requests no toxic can fire on skip aiohttp
            (see :mod:`aichaos.proxy._fast`).
        pool: the fast path's keep-alive upstream connections.
    """

    def __init__(self, name: str, listen: str, upstream: str, owner: ChaosProxy,
                 enabled: bool = True) -> None:
        self.name = name
        self.listen = listen
        self.host, self.port = parse_listen(listen)
        self.upstream = _parse_upstream(upstream)
        self.enabled = enabled
        self.toxics: dict[str, Toxic] = {}
        self._owner = owner
        self._ids = itertools.count(1)
        self._listener: asyncio.AbstractServer | None = None
        self._server: web.Server | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        parts = urlsplit(self.upstream)
        self._host_header = parts.netloc
        # fast path (aichaos.proxy._fast): plain http upstreams only
        self.fast_path = parts.scheme == "http"
        self.host_header = parts.netloc.encode("latin-1")
        self.upstream_prefix = parts.path.encode("latin-1")
        self.pool = UpstreamPool(parts.hostname or "127.0.0.1", parts.port or 80)
        self.fast_connections: set[FastConnection] = set()
        self.stopping = asyncio.Event()
        # counters for /metrics
        self.requests = 0
        self.upstream_requests = 0
        self.active = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.statuses: dict[str, int] = {}
        self.fired_total: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._listener is not None

    def next_id(self) -> str:
        """A new request id, ``"<proxy>-<n>"``."""
        return f"{self.name}-{next(self._ids)}"

    def record(self, rec: TrafficRecord) -> None:
        """Append a finished request to the traffic log."""
        self._owner.traffic.add(rec)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task the proxy keeps (and cancels on stop)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check_upstream(self, timeout_s: float = 2.0) -> None:
        """Open and close one TCP connection to the upstream.

        Raises:
            ProxyError: the upstream does not accept connections.
        """
        parts = urlsplit(self.upstream)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, port), timeout_s)
        except (OSError, TimeoutError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ProxyError(f"proxy {self.name!r}: upstream {self.upstream} unreachable: "
                             f"{reason}") from exc
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def start(self) -> None:
        """Bind ``listen`` and start serving.

        Raises:
            ProxyError: the address is in use or cannot be bound.
        """
        sock = bind_listener(self.host, self.port, f"proxy {self.name!r}")
        self.port = sock.getsockname()[1]
        self.stopping = asyncio.Event()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
        )
        parts = urlsplit(self.upstream)
        self.pool = UpstreamPool(parts.hostname or "127.0.0.1", parts.port or 80)
        server = self._server = web.Server(self._handle, access_log=None)
        self._listener = await asyncio.get_running_loop().create_server(
            lambda: FastConnection(self, server), sock=sock, backlog=1024)

    async def stop(self) -> None:
        """Release held requests, remove every toxic, close the listener and connections."""
        self.stopping.set()
        self.clear_toxics()
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.close()
            for conn in list(self.fast_connections):
                if conn.transport is not None:
                    conn.transport.abort()
            for task in list(self._tasks):
                task.cancel()
            self.pool.close()
        if self._server is not None:  # connections handed to the full (aiohttp) path
            server, self._server = self._server, None
            await asyncio.sleep(0)
            server.pre_shutdown()
            await server.shutdown(0.5)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def clear_toxics(self) -> None:
        for toxic in self.toxics.values():
            toxic.release()
        self.toxics.clear()

    def to_dict(self) -> dict[str, Any]:
        """Toxiproxy shape: ``{name, listen, upstream, enabled, toxics}``."""
        return {"name": self.name, "listen": f"{self.host}:{self.port}",
                "upstream": self.upstream, "enabled": self.enabled,
                "toxics": [t.to_dict() for t in self.toxics.values()]}

    # -------------------------------------------------------------------- forward

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if not self.enabled:
            _cut(request, reset=True)
            return web.Response(status=503)
        start = time.monotonic()
        rec = TrafficRecord(self.next_id(), self.name, request.method, request.path_qs,
                            started=time.time())
        self.requests += 1
        self.active += 1
        try:
            return await self._forward(request, rec, start)
        except CutConnection as cut:
            rec.error = "reset" if cut.reset else "cut"
            _cut(request, cut.reset)
            return web.Response(status=499)
        except ConnectionError:  # the client went away mid-response
            rec.error = rec.error or "client_gone"
            _cut(request, reset=False)
            return web.Response(status=499)
        except (aiohttp.ClientPayloadError, asyncio.CancelledError):
            rec.error = rec.error or "client_gone"
            raise
        finally:
            self.active -= 1
            rec.duration_s = time.monotonic() - start
            self.bytes_in += rec.bytes_in
            self.bytes_out += rec.bytes_out
            if rec.status is not None and rec.error is None:
                key = str(rec.status)
                self.statuses[key] = self.statuses.get(key, 0) + 1
            self.record(rec)

    async def _forward(self, request: web.BaseRequest, rec: TrafficRecord,
                       start: float) -> web.StreamResponse:
        body = await request.read() if request.body_exists else b""
        rec.bytes_in = len(body)
        active: list[Toxic] = []
        ex: Exchange | None = None
        if self.toxics:
            ex = Exchange(rec.id, self._owner.seed, request.method, request.path_qs,
                          request.headers, body, stopping=self.stopping)
            active = [t for t in list(self.toxics.values()) if t.matches(ex) and t.roll(ex)]
            rec.toxics = [t.name for t in active]
            for t in active:
                self.fired_total[t.name, t.type] = self.fired_total.get((t.name, t.type), 0) + 1
            for toxic in active:
                reply = await toxic.on_request(ex)
                if reply is not None:
                    return await self._reply(request, rec, reply, start)
            body = ex.body
        rewrites = any(t.rewrites_body for t in active)
        headers = CIMultiDict((k, v) for k, v in request.headers.items()
                              if k.lower() not in _HOP)
        headers["Host"] = self._host_header
        if rewrites:
            headers["Accept-Encoding"] = "identity"
        assert self._session is not None
        try:
            up = await self._session.request(
                request.method, self.upstream + request.path_qs, headers=headers,
                data=body if body or request.body_exists else None, allow_redirects=False)
        except aiohttp.ClientConnectionError as exc:
            rec.error = "upstream_unreachable"
            msg = f'{{"error": "aichaos proxy {self.name}: upstream {self.upstream} failed: ' \
                  f'{type(exc).__name__}"}}'
            return await self._reply(request, rec, Reply(502, msg.encode()), start)
        rec.upstream = True
        self.upstream_requests += 1
        try:
            out_headers = CIMultiDict((k, v) for k, v in up.headers.items()
                                      if k.lower() not in _HOP)
            if ex is not None:
                ex.response_headers = {k.lower(): v for k, v in up.headers.items()}
                for toxic in active:
                    reply = await toxic.on_response(ex)
                    if reply is not None:
                        return await self._reply(request, rec, reply, start)
            length = up.content_length
            if not active and length is not None and length <= _WHOLE_BODY_MAX:
                data = await up.read()
                rec.status, rec.bytes_out = up.status, len(data)
                rec.ttfb_s = time.monotonic() - start
                return web.Response(status=up.status, reason=up.reason, headers=out_headers,
                                    body=data)
            resp = web.StreamResponse(status=up.status, reason=up.reason, headers=out_headers)
            if length is not None and not rewrites:
                resp.content_length = length
            await resp.prepare(request)
            rec.status, rec.ttfb_s = up.status, time.monotonic() - start
            chunks: AsyncIterator[bytes] = up.content.iter_any()
            if ex is not None:
                for toxic in active:
                    chunks = toxic.wrap(ex, chunks)
            async for chunk in chunks:
                if chunk:
                    rec.bytes_out += len(chunk)
                    await resp.write(chunk)
            if ex is not None:
                for toxic in active:
                    await toxic.on_end(ex)
            await resp.write_eof()
            return resp
        finally:
            up.release()

    async def _reply(self, request: web.BaseRequest, rec: TrafficRecord, reply: Reply,
                     start: float) -> web.StreamResponse:
        rec.status, rec.bytes_out = reply.status, len(reply.body)
        rec.ttfb_s = time.monotonic() - start
        return web.Response(status=reply.status, headers=reply.headers, body=reply.body)


def _cut(request: web.BaseRequest, reset: bool) -> None:
    """Drop the client connection now; with ``reset`` send a TCP RST (SO_LINGER 0)."""
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class ChaosProxy:
    """Several proxies (one per dependency), their toxics, a traffic log and, optionally, the
    control REST API, all in the caller's event loop.

    Example::

        async with ChaosProxy(seed=42) as chaos:
            p = await chaos.add_proxy("llm", "127.0.0.1:0", "http://127.0.0.1:8777")
            chaos.add_toxic("llm", {"type": "rate_limit", "toxicity": 0.3})
            ...  # send traffic to f"http://127.0.0.1:{p.port}"
            chaos.traffic.count(proxy="llm", upstream_only=True)

    Args:
        seed: seeds every toxic's per-request RNG.
        control: ``host:port`` for the control API (loopback), or None for none.
        check_upstream: refuse to add a proxy whose upstream does not accept connections.
        traffic_maxlen: records kept in :attr:`traffic`.

    Attributes:
        toxic_listeners: callables told of every toxic change, as
            ``listener(proxy_name, toxic_name, toxic_dict)`` when a toxic is added and
            ``listener(proxy_name, toxic_name, None)`` when it is removed (also by
            :meth:`reset`); the runner publishes them as ``ToxicApplied``/``ToxicRemoved``.
    """

    def __init__(self, *, seed: int = 42, control: str | None = None,
                 check_upstream: bool = True, traffic_maxlen: int = 100_000) -> None:
        self.seed = seed
        self.control = control
        self.check_upstream = check_upstream
        self.traffic = TrafficLog(traffic_maxlen)
        self.proxies: dict[str, Proxy] = {}
        self._started = False
        self._control_runner: web.AppRunner | None = None
        self.control_port: int | None = None
        self.toxic_listeners: list[ToxicListener] = []

    def _toxic_changed(self, proxy: str, name: str, toxic: dict[str, Any] | None) -> None:
        for listener in self.toxic_listeners:
            listener(proxy, name, toxic)

    async def __aenter__(self) -> ChaosProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def control_url(self) -> str | None:
        """Base URL of the control API once started, else None."""
        if self.control_port is None or self.control is None:
            return None
        host, _ = parse_listen(self.control)
        return f"http://{host}:{self.control_port}"

    async def start(self) -> None:
        """Start the control API and every proxy added so far.

        Raises:
            ProxyError: a port is in use or an upstream is unreachable; whatever started is
                stopped again.
        """
        self._started = True
        try:
            if self.control is not None:
                self._control_runner, self.control_port = await start_control(self,
                                                                               self.control)
            for proxy in self.proxies.values():
                if not proxy.running:
                    await self._start_proxy(proxy)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Remove every toxic (releasing held requests) and stop everything. Idempotent."""
        self.reset()
        for proxy in self.proxies.values():
            await proxy.stop()
        if self._control_runner is not None:
            runner, self._control_runner = self._control_runner, None
            await runner.cleanup()
        self._started = False

    async def _start_proxy(self, proxy: Proxy) -> None:
        if self.check_upstream:
            await proxy.check_upstream()
        await proxy.start()

    async def add_proxy(self, name: str, listen: str, upstream: str,
                        enabled: bool = True) -> Proxy:
        """Add a proxy; it starts at once when the ChaosProxy is running.

        Args:
            name: dependency name (unique).
            listen: ``host:port``; port 0 picks a free port (read it from ``Proxy.port``).
            upstream: ``http://host:port`` the requests go to.
            enabled: False resets every connection until enabled.

        Raises:
            ProxyError: name taken, bad address, port in use, upstream unreachable.
        """
        if name in self.proxies:
            raise ProxyError(f"proxy {name!r} already exists")
        proxy = Proxy(name, listen, upstream, self, enabled)
        if self._started:
            await self._start_proxy(proxy)
        self.proxies[name] = proxy
        return proxy

    async def remove_proxy(self, name: str) -> None:
        """Stop and forget proxy ``name``.

        Raises:
            ProxyError: no such proxy.
        """
        await self.proxy(name).stop()
        del self.proxies[name]

    def proxy(self, name: str) -> Proxy:
        """The proxy named ``name``.

        Raises:
            ProxyError: no such proxy (the message lists the known ones).
        """
        try:
            return self.proxies[name]
        except KeyError:
            known = ", ".join(sorted(self.proxies)) or "none"
            raise ProxyError(f"unknown proxy {name!r}; known: {known}") from None

    def add_toxic(self, proxy: str, spec: dict[str, Any] | Toxic) -> Toxic:
        """Add a toxic (a Toxiproxy-shaped mapping or a built :class:`Toxic`) to ``proxy``.

        The default name is ``<type>_<stream>`` as in Toxiproxy. Never blocks.

        Raises:
            ProxyError: unknown proxy, or a toxic of that name already exists.
            PluginError: unknown toxic type or bad attributes.
        """
        from aichaos.faults import build_toxic

        target = self.proxy(proxy)
        if isinstance(spec, Toxic):
            toxic = spec
        else:
            kind = spec.get("type")
            stream = spec.get("stream") or "downstream"
            toxic = build_toxic(spec, default_name=f"{kind}_{stream}")
        if toxic.name in target.toxics:
            raise ProxyError(f"proxy {proxy!r}: toxic {toxic.name!r} already exists")
        target.toxics[toxic.name] = toxic
        self._toxic_changed(proxy, toxic.name, toxic.to_dict())
        return toxic

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove toxic ``name`` from ``proxy``; requests it holds are released. Never blocks.

        Raises:
            ProxyError: unknown proxy or toxic.
        """
        target = self.proxy(proxy)
        toxic = target.toxics.pop(name, None)
        if toxic is None:
            known = ", ".join(target.toxics) or "none"
            raise ProxyError(f"proxy {proxy!r}: unknown toxic {name!r}; active: {known}")
        toxic.release()
        self._toxic_changed(proxy, name, None)

    def toxics(self, proxy: str) -> list[Toxic]:
        """Active toxics of ``proxy`` in application order."""
        return list(self.proxy(proxy).toxics.values())

    def reset(self) -> None:
        """Remove every toxic from every proxy and enable them all (Toxiproxy ``/reset``)."""
        for proxy in self.proxies.values():
            removed = list(proxy.toxics)
            proxy.clear_toxics()
            proxy.enabled = True
            for name in removed:
                self._toxic_changed(proxy.name, name, None)
