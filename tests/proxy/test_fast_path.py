"""The proxy's fast path (raw asyncio + httptools + upstream pool) and its hand-over to the
full aiohttp path whenever a toxic could fire."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from upstream import BLOB, GZIPPED, JSON_1K, Upstream, sse_chunks

from aichaos.proxy import ChaosProxy
from conftest import proxy_url

CHAT = "/v1/chat/completions"


def handed_off(cp: ChaosProxy, name: str = "llm") -> int:
    """Client connections the full (aiohttp) path has taken over."""
    server = cp.proxy(name)._server
    assert server is not None
    return len(server.connections)


async def test_fast_path_byte_exact_and_logged(chaos: ChaosProxy, upstream: Upstream) -> None:
    payload = random.Random(5).randbytes(300_000)
    async with httpx.AsyncClient() as c:
        base = proxy_url(chaos)
        assert (await c.get(base + "/json")).content == JSON_1K
        assert (await c.get(base + "/blob")).content == BLOB
        assert (await c.post(base + "/echo", content=payload)).content == payload
        raw = await c.get(base + "/gzip", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.headers["content-length"] == str(len(GZIPPED))
        sse = await c.post(base + CHAT, json={"stream": True})
        assert sse.content == b"".join(sse_chunks({"stream": True}))
        assert sse.headers["transfer-encoding"] == "chunked"
    assert handed_off(chaos) == 0
    records = chaos.traffic.query()
    assert [r.status for r in records] == [200] * 5
    assert all(r.upstream and r.error is None and r.ttfb_s is not None for r in records)
    assert records[0].bytes_out == len(JSON_1K) and records[1].bytes_out == len(BLOB)
    assert records[2].bytes_in == len(payload) == records[2].bytes_out
    assert upstream.last_headers["Host"] == f"127.0.0.1:{upstream.port}"
    p = chaos.proxy("llm")
    assert (p.requests, p.upstream_requests, p.statuses, p.active) == (5, 5, {"200": 5}, 0)


async def test_chunked_request_body_and_pipelining(chaos: ChaosProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", chaos.proxy("llm").port)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Type: text/plain\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                 b"GET /json HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 11" in head
    assert await reader.readexactly(11) == b"hello world"
    for _ in range(2):
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert await reader.readexactly(len(JSON_1K)) == JSON_1K
    writer.close()
    assert [r.path for r in chaos.traffic] == ["/echo", "/json", "/json"]


async def test_keep_alive_reuses_one_upstream_connection(chaos: ChaosProxy) -> None:
    pool = chaos.proxy("llm").pool
    for _ in range(3):  # three client connections, one after the other
        async with httpx.AsyncClient() as c:
            for _ in range(10):
                assert (await c.get(proxy_url(chaos) + "/json")).content == JSON_1K
    assert pool.opened == 1 and len(pool.idle) == 1


async def test_concurrent_requests_open_parallel_upstream_connections(
        chaos: ChaosProxy) -> None:
    async with httpx.AsyncClient() as c:
        got = await asyncio.gather(*(c.get(proxy_url(chaos) + "/json") for _ in range(8)))
    assert all(r.content == JSON_1K for r in got)
    pool = chaos.proxy("llm").pool
    assert 1 <= pool.opened <= 8 and len(pool.idle) == pool.opened


# ------------------------------------------------------------------- raw upstreams


Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line[15:]))
    return head


@pytest.fixture
async def raw_upstream() -> AsyncIterator[Callable[[Serve], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(serve: Serve) -> str:
        count = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal count
            count += 1
            try:
                await serve(reader, writer, count)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for s in servers:
        s.close()


async def _one_then_drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         n: int) -> None:
    """Answer one request per connection, then read the next and close without answering
    (an upstream that dropped an idle keep-alive connection the proxy still pooled)."""
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await writer.drain()
    await _read_request(reader)


async def test_stale_pooled_connection_retries_idempotent_only(
        raw_upstream: Callable[[Serve], Awaitable[str]]) -> None:
    url = await raw_upstream(_one_then_drop)
    async with ChaosProxy() as cp, httpx.AsyncClient() as c:
        p = await cp.add_proxy("up", "127.0.0.1:0", url)
        base = f"http://127.0.0.1:{p.port}"
        assert (await c.get(base + "/a")).text == "ok"
        assert (await c.get(base + "/b")).text == "ok"  # stale connection, retried
        r = await c.post(base + "/c", content=b"x")  # stale again; POST is not retried
        assert r.status_code == 502 and "upstream" in r.json()["error"]
        assert [(x.status, x.error) for x in cp.traffic] == [
            (200, None), (200, None), (502, "upstream_unreachable")]
        assert p.statuses == {"200": 2}


async def test_upstream_refuses_gives_502() -> None:
    async with ChaosProxy(check_upstream=False) as cp, httpx.AsyncClient() as c:
        p = await cp.add_proxy("dead", "127.0.0.1:0", "http://127.0.0.1:9")
        r = await c.get(f"http://127.0.0.1:{p.port}/x")
        assert r.status_code == 502
        assert r.json()["error"].startswith("aichaos proxy dead: upstream http://127.0.0.1:9")
        rec = cp.traffic.query()[0]
        assert (rec.status, rec.error, rec.upstream) == (502, "upstream_unreachable", False)


async def _until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       n: int) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ")
    await writer.drain()
    await asyncio.sleep(0.02)
    writer.write(b"part two")


async def test_body_until_upstream_close_is_rechunked(
        raw_upstream: Callable[[Serve], Awaitable[str]]) -> None:
    url = await raw_upstream(_until_close)
    async with ChaosProxy() as cp, httpx.AsyncClient() as c:
        p = await cp.add_proxy("up", "127.0.0.1:0", url)
        for _ in range(2):  # the client connection stays usable
            r = await c.get(f"http://127.0.0.1:{p.port}/")
            assert r.content == b"part one, part two"
            assert r.headers["transfer-encoding"] == "chunked"
        assert p.pool.idle == []  # an upstream that closes is never pooled


async def test_client_gone_mid_stream_is_recorded(chaos: ChaosProxy,
                                                  upstream: Upstream) -> None:
    upstream.chunk_gap_s = 0.05
    async with (httpx.AsyncClient() as c,
                c.stream("POST", proxy_url(chaos) + CHAT, json={"stream": True}) as r):
        async for _ in r.aiter_raw():
            break
    for _ in range(50):
        if len(chaos.traffic):
            break
        await asyncio.sleep(0.02)
    rec = chaos.traffic.query()[0]
    assert rec.error == "client_gone" and rec.status == 200
    assert chaos.proxy("llm").active == 0


# ------------------------------------------------------------ hand-over to toxics


async def test_non_matching_toxic_keeps_fast_path_matching_one_fires(
        chaos: ChaosProxy, upstream: Upstream) -> None:
    chaos.add_toxic("llm", {"type": "http_error", "attributes": {"match_path": "/v1/*"}})
    chaos.add_toxic("llm", {"type": "rate_limit", "toxicity": 0})
    async with httpx.AsyncClient() as c:
        assert (await c.get(proxy_url(chaos) + "/json")).content == JSON_1K
        assert handed_off(chaos) == 0
        r = await c.post(proxy_url(chaos) + CHAT, json={"model": "m"})
        assert r.status_code == 500
        assert handed_off(chaos) == 1  # that keep-alive connection now lives on aiohttp
        assert (await c.get(proxy_url(chaos) + "/json")).content == JSON_1K
    assert [(r.path, r.toxics, r.upstream) for r in chaos.traffic] == [
        ("/json", [], True), (CHAT, ["http_error_downstream"], False), ("/json", [], True)]
    assert [r.id for r in chaos.traffic] == ["llm-1", "llm-2", "llm-3"]


async def test_pipelined_requests_behind_a_toxic_one_are_handed_over_too(
        chaos: ChaosProxy) -> None:
    chaos.add_toxic("llm", {"type": "rate_limit", "attributes": {"match_path": "/v1/*"}})
    reader, writer = await asyncio.open_connection("127.0.0.1", chaos.proxy("llm").port)
    writer.write(b"POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
                 b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 429")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert await reader.readexactly(len(JSON_1K)) == JSON_1K
    writer.close()
    assert handed_off(chaos) == 1
    assert [r.toxics for r in chaos.traffic] == [["rate_limit_downstream"], []]


async def test_toxic_added_mid_connection_and_match_model(chaos: ChaosProxy) -> None:
    async with httpx.AsyncClient() as c:
        assert (await c.post(proxy_url(chaos) + CHAT, json={"model": "gpt-4o"})).is_success
        chaos.add_toxic("llm", {"type": "quota", "attributes": {"match_model": "gpt-*"}})
        r = await c.post(proxy_url(chaos) + CHAT, json={"model": "gpt-4o"})
        assert r.status_code == 429  # same client connection, handed over at this request
        assert (await c.post(proxy_url(chaos) + CHAT, json={"model": "claude"})).is_success
    assert [r.toxics for r in chaos.traffic] == [[], ["quota_downstream"], []]


async def test_disabled_proxy_and_head_take_the_full_path(chaos: ChaosProxy) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.head(proxy_url(chaos) + "/json")
        assert r.status_code == 200 and r.content == b""
        assert handed_off(chaos) == 1
        chaos.proxy("llm").enabled = False
        with pytest.raises(httpx.TransportError):
            await c.get(proxy_url(chaos) + "/json")


def test_fast_path_under_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        up = Upstream()
        await up.start()
        try:
            async with ChaosProxy() as cp, httpx.AsyncClient() as c:
                p = await cp.add_proxy("llm", "127.0.0.1:0", up.url)
                base = f"http://127.0.0.1:{p.port}"
                for _ in range(3):
                    assert (await c.get(base + "/blob")).content == BLOB
                sse = await c.post(base + CHAT, json={"stream": True})
                assert sse.content == b"".join(sse_chunks({"stream": True}))
                cp.add_toxic("llm", {"type": "rate_limit"})
                assert (await c.get(base + "/json")).status_code == 429
                assert p.pool.opened == 1
        finally:
            await up.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())


def test_traffic_log_keeps_snapshots_out_of_the_gc() -> None:
    import gc

    from aichaos.proxy import TrafficLog, TrafficRecord

    log = TrafficLog(maxlen=3)
    rec = TrafficRecord("llm-1", "llm", "GET", "/a?x=1", status=200, started=10.0,
                        upstream=True, toxics=["t"])
    log.add(rec)
    rec.toxics.append("later")  # the log holds a snapshot
    for i in range(2, 5):
        log.add(TrafficRecord(f"llm-{i}", "llm", "POST", "/b", started=10.0 + i))
    assert [r.id for r in log] == ["llm-2", "llm-3", "llm-4"]
    assert log.count(path="/b", since=12.0) == 3 and log.count(limit=2) == 2
    first = TrafficLog()
    first.add(rec)
    assert first.query(path="/a")[0] == TrafficRecord(
        "llm-1", "llm", "GET", "/a?x=1", status=200, started=10.0, upstream=True,
        toxics=["t", "later"])
    gc.collect()
    assert not any(gc.is_tracked(row) for row in log._records)
