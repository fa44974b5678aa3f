"""Toxiproxy's TCP toxic set, applied per HTTP exchange.

Names, attributes and units follow Toxiproxy's README
(https://github.com/Shopify/toxiproxy#toxics): latency and jitter in ms, bandwidth rate in
KB/s, slicer delay in microseconds, timeout and delays in ms, limit_data in bytes. Because
aichaos proxies HTTP, "the connection" is the exchange: ``upstream`` toxics act before the
request is forwarded, ``downstream`` toxics on the response.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aichaos.faults._base import Attr, CutConnection, Exchange, Reply, Toxic, register


@register
class Latency(Toxic):
    """Adds ``latency`` ± ``jitter`` ms (uniform, as Toxiproxy), or a Pareto heavy tail.

    With ``distribution: pareto`` the delay is ``latency * X`` with ``X ~ Pareto(alpha)``
    (``random.paretovariate``, X >= 1), capped at ``max_latency`` ms.
    """

    type = "latency"
    exercises = "timeouts and latency budgets under a slow dependency"
    summary = "delay the request (upstream) or the response (downstream)"
    attrs = (
        Attr("latency", 100, "base delay", "ms", min=0, max=3_600_000),
        Attr("jitter", 0, "uniform +- spread around latency", "ms", min=0, max=3_600_000),
        Attr("distribution", "uniform", "uniform or pareto (heavy tail)",
             choices=("uniform", "pareto")),
        Attr("alpha", 1.5, "Pareto shape (smaller = heavier tail)", min=0.1, max=100),
        Attr("max_latency", 60_000, "cap on one delay", "ms", min=0, max=3_600_000),
    )

    def delay_s(self, ex: Exchange) -> float:
        """The delay for ``ex`` in seconds (deterministic under the seed)."""
        a, rng = self.attributes, self.rng(ex)
        if a["distribution"] == "pareto":
            ms = a["latency"] * rng.paretovariate(a["alpha"])
        else:
            ms = a["latency"] + rng.uniform(-a["jitter"], a["jitter"]) if a["jitter"] else a[
                "latency"]
        return max(0.0, min(float(ms), float(a["max_latency"]))) / 1000.0

    async def on_request(self, ex: Exchange) -> Reply | None:
        if self.stream == "upstream":
            await asyncio.sleep(self.delay_s(ex))
        return None

    async def on_response(self, ex: Exchange) -> Reply | None:
        if self.stream == "downstream":
            await asyncio.sleep(self.delay_s(ex))
        return None


@register
class Bandwidth(Toxic):
    """Limits the response body to ``rate`` KB/s (1 KB = 1024 bytes), sent in 10 ms slices."""

    type = "bandwidth"
    exercises = "timeouts under a slow response body"
    summary = "limit response throughput to rate KB/s"
    streams = ("downstream",)
    rewrites_body = True
    attrs = (Attr("rate", 100, "throughput", "KB/s", min=1, max=10_000_000),)

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        rate = self.attributes["rate"] * 1024
        piece = max(1, rate // 100)
        async for chunk in chunks:
            for i in range(0, len(chunk), piece):
                part = chunk[i:i + piece]
                await asyncio.sleep(len(part) / rate)
                yield part


@register
class Slicer(Toxic):
    """Slices the response body into pieces of ``average_size`` ± ``size_variation`` bytes
    with ``delay`` microseconds between them (Toxiproxy's slicer)."""

    type = "slicer"
    exercises = "parsers that assume a whole body per read"
    summary = "slice the response into small pieces with a delay between them"
    streams = ("downstream",)
    rewrites_body = True
    attrs = (
        Attr("average_size", 64, "mean piece size", "bytes", min=1, max=1 << 20),
        Attr("size_variation", 32, "uniform spread of piece size", "bytes", min=0, max=1 << 20),
        Attr("delay", 10, "pause between pieces", "us", min=0, max=60_000_000),
    )

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        a, rng = self.attributes, self.rng(ex)
        async for chunk in chunks:
            i = 0
            while i < len(chunk):
                size = max(1, a["average_size"] + rng.randint(-a["size_variation"],
                                                             a["size_variation"]))
                yield chunk[i:i + size]
                i += size
                if a["delay"]:
                    await asyncio.sleep(a["delay"] / 1e6)


@register
class Timeout(Toxic):
    """Holds the request without answering, then drops the connection after ``timeout`` ms.

    ``timeout: 0`` holds until the toxic is removed (or the proxy stops), then drops it.
    """

    type = "timeout"
    condition_text = "connection timeout"
    exercises = "read timeouts and detection of a truncated response"
    wrong_answer = "partial output emitted as if complete"
    summary = "stop all data and close the connection after timeout ms (0 = hang)"
    attrs = (Attr("timeout", 0, "hold time before closing (0 = until removed)", "ms",
                  min=0, max=86_400_000),)

    async def on_request(self, ex: Exchange) -> Reply | None:
        await self.hold(ex, self.attributes["timeout"] / 1000.0)
        raise CutConnection()


@register
class ResetPeer(Toxic):
    """Resets the client connection (TCP RST) after ``timeout`` ms without answering."""

    type = "reset_peer"
    condition_text = "connection reset"
    exercises = "handling of a reset connection (retry or clean error)"
    summary = "reset the connection (TCP RST), immediately or after timeout ms"
    attrs = (Attr("timeout", 0, "delay before the reset", "ms", min=0, max=86_400_000),)

    async def on_request(self, ex: Exchange) -> Reply | None:
        if self.attributes["timeout"]:
            await asyncio.sleep(self.attributes["timeout"] / 1000.0)
        raise CutConnection(reset=True)


@register
class SlowClose(Toxic):
    """Delays the end of the response (final chunk / close) by ``delay`` ms."""

    type = "slow_close"
    exercises = "clients waiting for the end of a response"
    summary = "delay the end of the response by delay ms"
    streams = ("downstream",)
    rewrites_body = True
    attrs = (Attr("delay", 1000, "hold before the response ends", "ms", min=0,
                  max=86_400_000),)

    async def on_end(self, ex: Exchange) -> None:
        await asyncio.sleep(self.attributes["delay"] / 1000.0)


@register
class LimitData(Toxic):
    """Forwards at most ``bytes`` response-body bytes, then drops the connection."""

    type = "limit_data"
    condition_text = "truncated body"
    exercises = "detection of a response body cut short"
    wrong_answer = "partial output emitted as if complete"
    summary = "close the connection after bytes of response body"
    streams = ("downstream",)
    rewrites_body = True
    attrs = (Attr("bytes", 1024, "body bytes let through", "bytes", min=0, max=1 << 40),)

    async def wrap(self, ex: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        left = self.attributes["bytes"]
        async for chunk in chunks:
            if len(chunk) >= left:
                if left:
                    yield chunk[:left]
                raise CutConnection()
            left -= len(chunk)
            yield chunk
