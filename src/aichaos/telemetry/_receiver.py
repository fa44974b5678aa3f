"""A built-in OTLP/HTTP receiver: the system under test exports its telemetry here.

Point the target at it with the standard SDK variable, e.g.
``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`` (the SDK appends ``/v1/traces`` and
``/v1/metrics``). It listens on loopback by default, keeps every span and metric point in
memory, and answers as an OTLP collector does (HTTP 200 with an empty export response in the
request's encoding; 400 for an undecodable body, 415 for another media type).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from aichaos.errors import ConfigError
from aichaos.telemetry._otlp import (
    MetricPoint,
    OtlpDecodeError,
    SpanRecord,
    decode_metrics,
    decode_traces,
)

#: OTLP/HTTP's registered default port (OTLP specification, "OTLP/HTTP Default Port")
DEFAULT_OTLP_HTTP_PORT = 4318


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` -> (host, port); port 0 picks a free one.

    Raises:
        ConfigError: not ``host:port`` with a port in 0..65535.
    """
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"otlp_listen: expected host:port such as 127.0.0.1:4318, "
                          f"got {listen!r}")
    return host.strip("[]"), int(port)


class OtlpReceiver:
    """OTLP/HTTP receiver for traces and metrics (protobuf and JSON).

    Args:
        listen: ``host:port`` to bind; loopback by default, port 0 = a free port.

    Attributes:
        spans: every span received, in arrival order.
        metrics: every metric data point received, in arrival order.
        rejected: bodies refused (undecodable or unsupported media type).
        logs_received: ``/v1/logs`` requests accepted (logs are not checked).

    Use as ``async with OtlpReceiver() as rx: ...`` or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, listen: str = f"127.0.0.1:{DEFAULT_OTLP_HTTP_PORT}") -> None:
        self.host, self.port = parse_listen(listen)
        self.spans: list[SpanRecord] = []
        self.metrics: list[MetricPoint] = []
        self.rejected = 0
        self.logs_received = 0
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Event()

    @property
    def endpoint(self) -> str:
        """The base URL to give ``OTEL_EXPORTER_OTLP_ENDPOINT``, e.g. http://127.0.0.1:4318."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve.

        Raises:
            ConfigError: the address cannot be bound (port in use, bad host).
        """
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", self._traces)
        app.router.add_post("/v1/metrics", self._metrics)
        app.router.add_post("/v1/logs", self._logs)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(f"otlp_listen: cannot listen on {self.host}:{self.port}: "
                              f"{exc.strerror or exc}") from exc
        server = site._server  # the bound socket tells the real port when 0 was asked
        if self.port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        self._runner = runner

    async def stop(self) -> None:
        """Stop serving (idempotent); received data stays available."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OtlpReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def clear(self) -> None:
        """Forget everything received so far."""
        self.spans.clear()
        self.metrics.clear()

    async def wait_for(self, predicate: Callable[[OtlpReceiver], bool], timeout_s: float) -> bool:
        """Wait until ``predicate(self)`` holds or ``timeout_s`` seconds pass; True if it held.

        Exporters batch (the Python SDK's span processor flushes every 5 s, its metric reader
        every 60 s by default), so callers give telemetry a bounded time to arrive.
        """
        deadline = time.monotonic() + timeout_s
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=min(left, 0.25))
        return True

    async def _handle(self, request: web.Request, signal: str) -> web.Response:
        body = await request.read()
        content_type = request.headers.get("Content-Type", "")
        encoding = request.headers.get("Content-Encoding")
        response: Any
        try:
            if signal == "traces":
                spans, response = decode_traces(body, content_type, encoding)
                self.spans.extend(spans)
            else:
                points, response = decode_metrics(body, content_type, encoding)
                self.metrics.extend(points)
        except OtlpDecodeError as exc:
            self.rejected += 1
            status = 415 if str(exc).startswith("Content-Type") else 400
            return web.Response(status=status, text=str(exc))
        self._arrived.set()
        if content_type.startswith("application/json"):
            return web.Response(body=b"{}", content_type="application/json")
        return web.Response(body=response.SerializeToString(),
                            content_type="application/x-protobuf")

    async def _traces(self, request: web.Request) -> web.Response:
        return await self._handle(request, "traces")

    async def _metrics(self, request: web.Request) -> web.Response:
        return await self._handle(request, "metrics")

    async def _logs(self, request: web.Request) -> web.Response:
        await request.read()
        self.logs_received += 1
        return web.Response(body=b"", content_type="application/x-protobuf")
