"""The proxy's fast forward path: raw asyncio protocols, httptools, a keep-alive upstream pool.

Every client connection is accepted by :class:`FastConnection`. It parses requests with
httptools and forwards those no toxic can touch straight to the upstream over a pooled
keep-alive connection, relaying the response head and each body read as it arrives (one
client write per upstream read, so streams keep their chunking). There is no task, no
coroutine and no header decoding per request while a pooled connection is free.

A request goes to the full aiohttp path (toxics, disabled proxy) instead when, at its headers,
any toxic could fire on it (:meth:`aichaos.faults.Toxic.could_fire`), the proxy is disabled,
or it is something the fast path does not speak (``HEAD``, ``CONNECT``, upgrades, HTTP/1.0,
an https upstream). The connection is then handed over whole to aiohttp's ``RequestHandler``
(``transport.set_protocol``) together with every byte received since the request began, and
stays there for its remaining requests.

Framing: a response with ``Content-Length`` keeps it; any other body (chunked, or read until
the upstream closes) goes to the client chunked, as aiohttp's ``StreamResponse`` does.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, cast

import httptools
from multidict import CIMultiDict

from aichaos.proxy._traffic import TrafficRecord
from aichaos.proxy._types import ProxyCounters

_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization",
                  b"te", b"trailer", b"transfer-encoding", b"upgrade", b"host",
                  b"content-length", b"expect"})
_SLOW_METHODS = frozenset({b"HEAD", b"CONNECT"})
_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})
_NO_BODY_STATUS = frozenset({204, 304})
_MAX_IDLE = 1024  # pooled idle upstream connections kept per proxy
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_METHOD_NAMES = {m: m.decode() for m in (b"GET", b"POST", b"PUT", b"PATCH", b"DELETE",
                                        b"OPTIONS", b"TRACE")}


class UpstreamPool:
    """Idle keep-alive connections to one upstream (plain http), most recent first.

    Args:
        host: upstream host.
        port: upstream port.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.idle: list[UpstreamConnection] = []
        self.opened = 0  # connections ever opened (tests read it to check reuse)
        self.closed = False

    async def connect(self) -> UpstreamConnection:
        """Open a new upstream connection.

        Raises:
            OSError: the upstream refused or could not be reached.
        """
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: UpstreamConnection(self),
                                               self.host, self.port)
        self.opened += 1
        return conn

    def take(self) -> UpstreamConnection | None:
        """An idle connection, or None when there is none."""
        while self.idle:
            conn = self.idle.pop()
            if conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    def put(self, conn: UpstreamConnection) -> None:
        """Return ``conn`` for reuse (closed instead when the pool is full or closed)."""
        if self.closed or len(self.idle) >= _MAX_IDLE or conn.transport is None:
            conn.close()
        else:
            conn.transport.resume_reading()  # no-op unless a slow client paused it
            self.idle.append(conn)

    def close(self) -> None:
        """Close every idle connection; later returns are closed too."""
        self.closed = True
        idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection to the upstream, serving one exchange at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.client: FastConnection | None = None
        self.reused = False
        self.got_bytes = False
        self.until_eof = False  # the response body ends when the upstream closes
        self._parser = httptools.HttpResponseParser(self)
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []

    # ------------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        client, self.client = self.client, None
        if client is None:
            if self in self.pool.idle:
                self.pool.idle.remove(self)
            return
        client.upstream_lost(self)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None:  # unsolicited bytes on an idle connection: drop it
            self.close()
            return
        self.got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.client = None
            self.close()
            client.upstream_lost(self)
            return
        client.flush()

    def pause_writing(self) -> None:  # request bodies are bounded; the transport buffers
        pass

    def resume_writing(self) -> None:
        pass

    # ----------------------------------------------------------------- exchange

    def send(self, client: FastConnection, request: bytes) -> None:
        """Send one request head and body; the response goes to ``client``."""
        assert self.transport is not None
        self.client = client
        self.got_bytes = False
        self.until_eof = False
        self._headers = []
        self.transport.write(request)

    def until_eof_done(self) -> bool:
        """True when the connection closed at the end of a read-until-close body."""
        return self.until_eof and self.transport is None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()
            self.transport = None

    # --------------------------------------------------------- httptools callbacks

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        reason, self._reason = self._reason, b""
        headers, self._headers = self._headers, []
        if status < 200:  # interim response (103 Early Hints): not forwarded
            return
        if self.client is not None:
            self.client.response_head(status, reason, headers)

    def on_body(self, body: bytes) -> None:
        if self.client is not None:
            self.client.response_body(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:
            return
        client, self.client = self.client, None
        if client is None:
            return
        keep = self._parser.should_keep_alive()
        client.response_end()
        if keep:
            self.reused = True
            self.pool.put(self)
        else:
            self.close()



class FastProxy(ProxyCounters, Protocol):
    """One proxy as the fast path uses it (:class:`aichaos.proxy.Proxy` satisfies it)."""

    enabled: bool
    fast_path: bool
    upstream: str
    host_header: bytes
    upstream_prefix: bytes
    stopping: asyncio.Event
    pool: UpstreamPool
    fast_connections: set[FastConnection]

    def next_id(self) -> str: ...

    def record(self, rec: TrafficRecord) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...


class FastConnection(asyncio.Protocol):
    """One client connection: parses requests and forwards the ones no toxic can touch.

    Args:
        proxy: the proxy this connection belongs to.
        handoff: builds aiohttp's protocol for the connection when a request needs the full
            path.
    """

    def __init__(self, proxy: FastProxy, handoff: Callable[[], asyncio.Protocol]) -> None:
        self.proxy = proxy
        self._handoff_factory = handoff
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        # parsing state of the current message
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._msg_open = False
        self._slow = False  # the message being parsed needs the aiohttp path
        self._seg: list[bytes] | None = None  # bytes since the message began (for a handoff)
        self._seg_first = False
        self._handoff = False
        self._close_after = False
        # the exchange in flight
        self._pending: deque[tuple[bytes, bytes, bytes, bool, int]] = deque()
        self._busy = False
        self._rec: TrafficRecord | None = None
        self._start = 0.0
        self._method = b""
        self._request = b""
        self._keep_alive = True
        self._upstream: UpstreamConnection | None = None
        self._head_sent = False
        self._chunked = False
        self._out: list[bytes] = []
        self._paused = False

    # ------------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.proxy.fast_connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.proxy.fast_connections.discard(self)
        self._pending.clear()
        if self._busy:
            up, self._upstream = self._upstream, None
            if up is not None:
                up.client = None
                up.close()
            self._finish("client_gone")

    def data_received(self, data: bytes) -> None:
        if not self._msg_open and not self._busy and not self._pending:
            self._seg, self._seg_first = [data], True  # a request may start here
        elif self._seg is not None:
            self._seg.append(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._handoff = self._handoff or self._seg is not None
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
                self.transport.close()
            return
        if self._handoff:
            self._hand_off()

    def pause_writing(self) -> None:
        self._paused = True
        up = self._upstream
        if up is not None and up.transport is not None:
            up.transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused = False
        up = self._upstream
        if up is not None and up.transport is not None:
            up.transport.resume_reading()

    def _hand_off(self) -> None:
        """Give the connection, and the bytes of the current request on, to aiohttp."""
        transport, seg = self.transport, self._seg
        self.proxy.fast_connections.discard(self)
        self.transport, self._seg = None, None
        if transport is None or seg is None or transport.is_closing():
            return
        protocol = self._handoff_factory()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(b"".join(seg))

    # --------------------------------------------------------- httptools callbacks

    def on_message_begin(self) -> None:
        self._msg_open = True
        self._url = b""
        self._headers = []
        self._body = []
        self._slow = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._handoff:  # a request pipelined behind one going to the full path: goes too
            return
        first, self._seg_first = self._seg_first, False
        if self._needs_full_path():
            self._slow = True
            if first and self._seg is not None:
                self._handoff = True
            else:  # a pipelined request cannot be handed over: answer it by closing
                self._close_after = True
            return
        self._seg = None  # decided: nothing to hand over
        if self.transport is not None:
            for name, value in self._headers:
                if name.lower() == b"expect" and value.lower() == b"100-continue":
                    self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        if not self._slow and not self._handoff:
            self._body.append(body)

    def on_message_complete(self) -> None:
        self._msg_open = False
        if self._slow or self._handoff or self._close_after:
            if self._close_after and not self._busy and self.transport is not None:
                self.transport.close()
            return
        method = self._parser.get_method()
        keep_alive = self._parser.should_keep_alive()
        url = self._url
        head = [method, b" ", self.proxy.upstream_prefix, url, b" HTTP/1.1\r\n"]
        for name, value in self._headers:
            if name.lower() not in _HOP:
                head += (name, b": ", value, b"\r\n")
        body = b"".join(self._body)
        self._body = []
        head += (b"Host: ", self.proxy.host_header, b"\r\n")
        if body or method not in _IDEMPOTENT or any(
                n.lower() in (b"content-length", b"transfer-encoding") for n, _ in self._headers):
            head += (b"Content-Length: ", str(len(body)).encode(), b"\r\n")
        head.append(b"\r\n")
        head.append(body)
        request = b"".join(head)
        if self._busy:  # pipelined: forwarded once the response in flight has ended
            self._pending.append((method, url, request, keep_alive, len(body)))
        else:
            self._begin(method, url, request, keep_alive, len(body))

    def _needs_full_path(self) -> bool:
        proxy = self.proxy
        if not proxy.enabled or not proxy.fast_path:
            return True
        if self._parser.get_method() in _SLOW_METHODS or self._parser.should_upgrade():
            return True
        if self._parser.get_http_version() != "1.1":
            return True
        if proxy.toxics:
            method = self._parser.get_method().decode("latin-1")
            path = self._url.decode("latin-1")
            headers = CIMultiDict((n.decode("latin-1"), v.decode("latin-1"))
                                  for n, v in self._headers)
            return any(t.could_fire(method, path, headers) for t in list(proxy.toxics.values()))
        return False

    # ------------------------------------------------------------------ exchange

    def _begin(self, method: bytes, url: bytes, request: bytes, keep_alive: bool,
               bytes_in: int) -> None:
        proxy = self.proxy
        self._busy = True
        self._start = time.monotonic()
        # method and path strings are shared between the traffic log's records (sys.intern)
        rec = TrafficRecord(proxy.next_id(), proxy.name,
                            _METHOD_NAMES.get(method) or method.decode("latin-1"),
                            sys.intern(url.decode("latin-1")), started=time.time())
        rec.bytes_in = bytes_in
        self._rec = rec
        proxy.requests += 1
        proxy.active += 1
        self._method, self._request, self._keep_alive = method, request, keep_alive
        self._head_sent = False
        up = proxy.pool.take()
        if up is not None:
            self._send(up)
        else:
            proxy.spawn(self._connect_and_send())

    def _send(self, up: UpstreamConnection) -> None:
        self._upstream = up
        up.send(self, self._request)
        if self._paused and up.transport is not None:
            up.transport.pause_reading()

    async def _connect_and_send(self) -> None:
        try:
            up = await self.proxy.pool.connect()
        except OSError as exc:
            self._bad_gateway(exc)
            return
        if not self._busy or self.transport is None:  # the client left meanwhile
            self.proxy.pool.put(up)
            return
        self._send(up)

    def _bad_gateway(self, exc: BaseException) -> None:
        if not self._busy:
            return
        rec = self._rec
        assert rec is not None
        rec.error = "upstream_unreachable"
        body = (f'{{"error": "aichaos proxy {self.proxy.name}: upstream {self.proxy.upstream} '
                f'failed: {type(exc).__name__}"}}').encode()
        rec.status, rec.bytes_out = 502, len(body)
        rec.ttfb_s = time.monotonic() - self._start
        if self.transport is not None:
            self.transport.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json"
                                 b"\r\nContent-Length: %d\r\n%s\r\n%s" % (
                                     len(body), b"" if self._keep_alive else
                                     b"Connection: close\r\n", body))
        self._finish(None)

    def upstream_lost(self, up: UpstreamConnection) -> None:
        """The upstream connection closed or sent garbage before the response ended."""
        if up is not self._upstream or not self._busy:
            return
        self._upstream = None
        if up.until_eof_done():
            self.response_end()
            return
        if not up.got_bytes and up.reused and self._method in _IDEMPOTENT:
            self.proxy.spawn(self._connect_and_send())  # a stale pooled connection: retry
            return
        if not self._head_sent:
            self._bad_gateway(ConnectionResetError())
            return
        if self.transport is not None:  # mid-body: the client sees a broken response
            self.transport.abort()
        self._finish("client_gone")

    def response_head(self, status: int, reason: bytes,
                      headers: list[tuple[bytes, bytes]]) -> None:
        """Upstream response headers: build the client's head (sent with the first flush)."""
        rec = self._rec
        assert rec is not None
        rec.upstream = True
        self.proxy.upstream_requests += 1
        out = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        length: bytes | None = None
        chunked_in = False
        for name, value in headers:
            low = name.lower()
            if low in _HOP:
                if low == b"content-length":
                    length = value
                elif low == b"transfer-encoding":
                    chunked_in = True
                continue
            out += (name, b": ", value, b"\r\n")
        self._chunked = False
        if length is not None and not chunked_in:
            out += (b"Content-Length: ", length, b"\r\n")
        elif status not in _NO_BODY_STATUS:
            self._chunked = True
            out.append(b"Transfer-Encoding: chunked\r\n")
        if not self._keep_alive:
            out.append(b"Connection: close\r\n")
        out.append(b"\r\n")
        self._out = [b"".join(out)]
        self._head_sent = True
        rec.status = status
        rec.ttfb_s = time.monotonic() - self._start
        up = self._upstream
        if up is not None:
            up.until_eof = length is None and not chunked_in and status not in _NO_BODY_STATUS

    def response_body(self, chunk: bytes) -> None:
        rec = self._rec
        assert rec is not None
        rec.bytes_out += len(chunk)
        if self._chunked:
            self._out += (b"%x\r\n" % len(chunk), chunk, b"\r\n")
        else:
            self._out.append(chunk)

    def flush(self) -> None:
        """Write what the last upstream read produced, in one client write."""
        out = self._out
        if out:
            self._out = []
            if self.transport is not None:
                self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def response_end(self) -> None:
        """The upstream response ended: finish the client's and forward any pipelined one."""
        self._upstream = None  # first, so a pause_writing from this flush pauses nothing
        if self._chunked:
            self._out.append(b"0\r\n\r\n")
        self.flush()
        self._finish(None)

    def _finish(self, error: str | None) -> None:
        if not self._busy:
            return
        self._busy = False
        self._request = b""  # kept until now for a retry on a stale pooled connection
        rec, self._rec = self._rec, None
        assert rec is not None
        proxy = self.proxy
        proxy.active -= 1
        rec.duration_s = time.monotonic() - self._start
        if error is not None:
            rec.error = rec.error or error
        proxy.bytes_in += rec.bytes_in
        proxy.bytes_out += rec.bytes_out
        if rec.status is not None and rec.error is None:
            key = str(rec.status)
            proxy.statuses[key] = proxy.statuses.get(key, 0) + 1
        proxy.record(rec)
        transport = self.transport
        if transport is None:
            return
        if not self._keep_alive or (self._close_after and not self._pending):
            transport.close()
        elif self._pending:
            self._begin(*self._pending.popleft())
