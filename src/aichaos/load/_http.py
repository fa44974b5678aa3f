"""A lean raw-asyncio HTTP/1.1 target for load generation (plain URLs and OpenAI-compatible).

Load generation needs a client whose own cost per request is small next to the target's, so
this target speaks HTTP/1.1 over keep-alive connections directly on asyncio transports and
parses responses with ``httptools`` (the llhttp parser uvicorn uses). It is deliberately
narrow: ``http://`` only, no redirects, no TLS, no proxies. Use the full targets of
``aichaos.targets`` for anything else.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

from aichaos.errors import ConfigError, TargetUnreachable
from aichaos.targets import Target, TargetRequest, TargetResponse
from aichaos.targets._errors import retry_after_seconds


class _Conn(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    __slots__ = ("body", "chunks", "closed", "keep_alive", "loop", "parser", "retry_after",
                 "sse", "status", "t0", "transport", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop, sse: bool) -> None:
        self.loop = loop
        self.sse = sse
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.keep_alive = True
        self.status = 0
        self.retry_after: bytes | None = None
        self.body: list[bytes] = []
        self.chunks: list[float] = []  # arrival times of body pieces, loop clock
        self.t0 = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; both have the same API
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ValueError(f"malformed HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionResetError("connection closed before the response completed"))

    def _fail(self, exc: BaseException) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        w = self.waiter
        if w is not None and not w.done():
            w.set_exception(exc)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self.retry_after = value

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        if self.sse:
            self.chunks.append(time.perf_counter())

    def on_message_complete(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def request(self, data: bytes) -> asyncio.Future[None]:
        self.body = []
        self.chunks = []
        self.status = 0
        self.retry_after = None
        self.waiter = self.loop.create_future()
        assert self.transport is not None
        self.transport.write(data)
        return self.waiter


class RawHttpTarget(Target):
    """Plain HTTP GET/POST or an OpenAI-compatible ``/chat/completions`` endpoint.

    Modes:
        ``get``: ``GET url`` (the input text is not sent; for raw capacity tests).
        ``post``: ``POST url`` with JSON ``{"input": text}``.
        ``openai``: ``POST {url}/chat/completions`` with one user message; streamed (SSE)
            when ``stream`` is true, asking for usage in the last chunk
            (``stream_options.include_usage``).

    Timing: ``e2e_s`` from the request write to the last byte. ``ttft_s`` is the first
    non-empty content delta of a stream, or ``e2e_s`` without streaming; ``chunk_times_s``
    holds one time per content delta (so ``itl_s`` excludes the first token, as vLLM's ITL).

    Raises:
        ConfigError: the URL is not ``http://host[:port][/path]`` or the mode is unknown.
    """

    kind = "raw_http"

    def __init__(
        self,
        url: str,
        *,
        mode: str = "get",
        model: str = "default",
        stream: bool = True,
        max_tokens: int = 64,
        timeout_s: float = 30.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ConfigError(f"load url: expected http://host[:port]/path, got {url!r}")
        if mode not in ("get", "post", "openai"):
            raise ConfigError(f"load mode: expected get, post or openai, got {mode!r}")
        self.url, self.mode, self.model = url, mode, model
        self.stream = stream and mode == "openai"
        self.max_tokens, self.timeout_s = max_tokens, timeout_s
        self.host, self.port = parts.hostname, parts.port or 80
        path = parts.path or "/"
        if mode == "openai":
            path = path.rstrip("/") + "/chat/completions"
        if parts.query:
            path += "?" + parts.query
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        host_hdr = parts.netloc
        self._get = f"GET {path} HTTP/1.1\r\nHost: {host_hdr}\r\n{extra}\r\n".encode()
        self._post_head = (
            f"POST {path} HTTP/1.1\r\nHost: {host_hdr}\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: "
        ).encode()
        self._idle: list[_Conn] = []
        self._cache: dict[str, bytes] = {}

    def describe(self) -> dict[str, Any]:
        return {"type": self.kind, "url": self.url, "mode": self.mode, "model": self.model}

    def _payload(self, text: str) -> bytes:
        data = self._cache.get(text)
        if data is not None:
            return data
        if self.mode == "get":
            data = self._get
        else:
            obj: dict[str, Any] = {"input": text}
            if self.mode == "openai":
                obj = {"model": self.model, "messages": [{"role": "user", "content": text}],
                       "max_tokens": self.max_tokens, "stream": self.stream}
                if self.stream:
                    obj["stream_options"] = {"include_usage": True}
            body = json.dumps(obj).encode()
            data = self._post_head + str(len(body)).encode() + b"\r\n\r\n" + body
        if len(self._cache) < 4096:
            self._cache[text] = data
        return data

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(
            lambda: _Conn(loop, self.stream), self.host, self.port
        )
        return conn

    async def check(self) -> None:
        """Raises TargetUnreachable when no TCP connection can be opened."""
        try:
            conn = await asyncio.wait_for(self._connect(), self.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise TargetUnreachable(f"{self.url}: {exc}") from exc
        self._idle.append(conn)

    async def send(self, request: TargetRequest) -> TargetResponse:
        loop = asyncio.get_running_loop()
        # perf_counter, not loop.time(): uvloop's loop clock only moves in whole milliseconds
        t0 = time.perf_counter()
        conn: _Conn | None = None
        try:
            while self._idle:
                c = self._idle.pop()
                if not c.closed:
                    conn = c
                    break
            if conn is None:
                conn = await self._connect()
            fut = conn.request(self._payload(request.input))
            handle = loop.call_later(self.timeout_s, conn._fail, TimeoutError())
            try:
                await fut
            finally:
                handle.cancel()
        except TimeoutError:
            return TargetResponse(error_class="timeout", error="no complete response within "
                                  f"{self.timeout_s:g} s", e2e_s=time.perf_counter() - t0)
        except OSError as exc:
            return TargetResponse(error_class="connection", error=str(exc) or type(exc).__name__,
                                  e2e_s=time.perf_counter() - t0)
        except ValueError as exc:
            return TargetResponse(error_class="invalid_response", error=str(exc),
                                  e2e_s=time.perf_counter() - t0)
        t1 = time.perf_counter()
        if conn.keep_alive and not conn.closed:
            self._idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()
        resp = TargetResponse(status=conn.status, e2e_s=t1 - t0, ttft_s=t1 - t0)
        st = conn.status
        if st >= 400:
            resp.error_class = "http_429" if st == 429 else "http_5xx" if st >= 500 else "http_4xx"
            resp.error = f"HTTP {st}"
            resp.retry_after_s = retry_after_seconds(conn.retry_after)
        if self.mode == "openai":
            _read_openai(resp, conn, t0)
        elif not resp.error_class:
            resp.output = b"".join(conn.body).decode("utf-8", "replace")
        return resp

    async def aclose(self) -> None:
        for c in self._idle:
            if c.transport is not None:
                c.transport.close()
        self._idle.clear()


def _read_openai(resp: TargetResponse, conn: _Conn, t0: float) -> None:
    """Fill output, tokens and chunk times from an OpenAI chat completion (SSE or JSON)."""
    raw = b"".join(conn.body)
    try:
        if not conn.sse:
            obj = json.loads(raw)
            resp.raw = obj
            if resp.error_class:
                return
            choice = obj["choices"][0]
            resp.output = choice["message"].get("content") or ""
            resp.finish_reason = choice.get("finish_reason")
            _usage(resp, obj.get("usage"))
            return
        _read_sse(resp, conn, raw, t0)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        if not resp.error_class:
            resp.error_class, resp.error = "invalid_response", f"unreadable completion: {exc}"


_SSE_SEP = re.compile(rb"\r?\n\r?\n")


def _read_sse(resp: TargetResponse, conn: _Conn, raw: bytes, t0: float) -> None:
    """Parse SSE events; each content delta gets the arrival time of the body piece that
    completed its event."""
    ends: list[int] = []  # cumulative end offset of each body piece
    pos = 0
    for piece in conn.body:
        pos += len(piece)
        ends.append(pos)
    text: list[str] = []
    done = False
    idx = 0
    start = 0
    bounds = [(m.start(), m.end()) for m in _SSE_SEP.finditer(raw)] + [(len(raw), len(raw))]
    for stop, nxt in bounds:
        event = raw[start:stop]
        start = nxt
        while idx < len(ends) - 1 and ends[idx] < stop:
            idx += 1
        for line in event.splitlines():
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                done = True
                continue
            obj = json.loads(data)
            if "error" in obj:
                resp.error_class, resp.error = "stream", f"error event: {obj['error']}"
                continue
            _usage(resp, obj.get("usage"))
            for choice in obj.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    text.append(content)
                    resp.chunk_times_s.append(conn.chunks[idx] - t0)
                if choice.get("finish_reason"):
                    resp.finish_reason = choice["finish_reason"]
    resp.output = "".join(text)
    resp.ttft_s = resp.chunk_times_s[0] if resp.chunk_times_s else None
    if not done and not resp.error_class:
        resp.error_class, resp.error = "stream", "stream ended without [DONE]"


def _usage(resp: TargetResponse, usage: Any) -> None:
    if isinstance(usage, dict):
        resp.input_tokens = usage.get("prompt_tokens", resp.input_tokens)
        resp.output_tokens = usage.get("completion_tokens", resp.output_tokens)
