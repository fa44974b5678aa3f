"""The chaos proxy against a real upstream on loopback: forwarding, toxics, control API."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time

import httpx
import pytest
from upstream import BLOB, GZIPPED, JSON_1K, Upstream, sse_chunks

from aichaos.errors import PluginError, ProxyError
from aichaos.proxy import ChaosProxy, ProxyClient
from conftest import proxy_url

CHAT = "/v1/chat/completions"


async def test_bodies_are_byte_exact(chaos: ChaosProxy, upstream: Upstream) -> None:
    payload = random.Random(3).randbytes(200_000)
    async with httpx.AsyncClient() as c:
        base = proxy_url(chaos)
        assert (await c.get(base + "/json")).content == JSON_1K
        assert (await c.get(base + "/blob")).content == BLOB
        echo = await c.post(base + "/echo", content=payload)
        assert echo.content == payload
        raw = await c.get(base + "/gzip", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.headers["content-length"] == str(len(GZIPPED))
        direct = await c.post(upstream.url + CHAT, json={"stream": True})
        proxied = await c.post(base + CHAT, json={"stream": True})
        assert proxied.content == direct.content == b"".join(sse_chunks({"stream": True}))
    assert upstream.last_headers["Host"] == f"127.0.0.1:{upstream.port}"
    assert [r.bytes_in for r in chaos.traffic][2] == len(payload)


async def test_stream_forwarded_chunk_by_chunk(chaos: ChaosProxy, upstream: Upstream) -> None:
    upstream.chunk_gap_s = 0.05
    arrivals: list[float] = []
    async with httpx.AsyncClient() as c:
        t0 = time.monotonic()
        async with c.stream("POST", proxy_url(chaos) + CHAT, json={"stream": True}) as r:
            async for _ in r.aiter_raw():
                arrivals.append(time.monotonic() - t0)
    assert len(arrivals) >= 8  # one read per upstream event, not one buffered blob
    assert arrivals[0] < 0.04 and arrivals[-1] > 0.3


async def test_keep_alive_two_requests_one_connection(chaos: ChaosProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", chaos.proxy("llm").port)
    for _ in range(2):
        writer.write(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert await reader.readexactly(len(JSON_1K)) == JSON_1K
    writer.close()


async def test_rate_limit_answers_without_upstream(chaos: ChaosProxy, upstream: Upstream) -> None:
    chaos.add_toxic("llm", {"type": "rate_limit", "attributes": {"retry_after_s": 20}})
    async with httpx.AsyncClient() as c:
        r = await c.post(proxy_url(chaos) + CHAT, json={"model": "m"})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "20"
    assert r.headers["x-ratelimit-reset-requests"] == "20s"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert upstream.hits == 0
    assert chaos.traffic.count(proxy="llm", upstream_only=True) == 0


@pytest.mark.parametrize(("spec", "status", "check"), [
    ({"type": "quota"}, 429, lambda d: d["error"]["type"] == "insufficient_quota"),
    ({"type": "http_error", "attributes": {"status": 529, "provider": "anthropic"}}, 529,
     lambda d: d == {"type": "error", "error": {"type": "overloaded_error",
                                                 "message": d["error"]["message"]}}),
    ({"type": "context_length"}, 400,
     lambda d: d["error"]["code"] == "context_length_exceeded"),
])
async def test_provider_error_bodies(chaos: ChaosProxy, spec: dict[str, object], status: int,
                                     check: object) -> None:
    chaos.add_toxic("llm", spec)
    async with httpx.AsyncClient() as c:
        r = await c.post(proxy_url(chaos) + CHAT, json={})
    assert r.status_code == status
    assert "retry-after" not in r.headers
    assert callable(check) and check(r.json())


async def _sse(chaos: ChaosProxy, body: dict[str, object] | None = None) -> bytes:
    async with httpx.AsyncClient() as c:
        r = await c.post(proxy_url(chaos) + CHAT, json=body or {"stream": True})
        return r.content


async def test_stream_cut_before_final_chunk(chaos: ChaosProxy) -> None:
    chaos.add_toxic("llm", {"type": "stream_cut"})
    got = bytearray()
    async with httpx.AsyncClient() as c:
        with pytest.raises(httpx.RemoteProtocolError):
            async with c.stream("POST", proxy_url(chaos) + CHAT, json={"stream": True}) as r:
                async for chunk in r.aiter_bytes():
                    got += chunk
    full = b"".join(sse_chunks({"stream": True}))
    assert bytes(got) == full[: full.index(b'data: {"id": "chatcmpl-1", "object": '
                                           b'"chat.completion.chunk", "choices": [{"index": 0, '
                                           b'"delta": {}')]
    assert chaos.traffic.query()[0].error == "cut"


async def test_no_finish_reason_and_sse_error(chaos: ChaosProxy) -> None:
    chaos.add_toxic("llm", {"type": "no_finish_reason", "name": "nf"})
    body = await _sse(chaos)
    assert b"[DONE]" not in body and b'"finish_reason":"stop"' not in body
    assert body.count(b"data:") == len(sse_chunks({"stream": True})) - 1
    chaos.remove_toxic("llm", "nf")
    chaos.add_toxic("llm", {"type": "sse_error", "attributes": {"after_events": 2,
                                                                "provider": "anthropic"}})
    events = (await _sse(chaos)).split(b"\n\n")
    assert events[2].startswith(b"event: error\ndata: ")
    assert json.loads(events[2].split(b"data: ")[1])["error"]["type"] == "overloaded_error"
    assert len([e for e in events if e]) == 3


async def test_rechunk_splits_utf8_and_keeps_bytes(chaos: ChaosProxy) -> None:
    chaos.add_toxic("llm", {"type": "rechunk", "attributes": {"min_size": 5, "max_size": 40,
                                                              "delay": 2}})
    pieces: list[bytes] = []
    async with (httpx.AsyncClient() as c,
                c.stream("POST", proxy_url(chaos) + CHAT, json={"stream": True}) as r):
        async for chunk in r.aiter_raw():
            pieces.append(chunk)
    assert b"".join(pieces) == b"".join(sse_chunks({"stream": True}))
    broken = 0
    for p in pieces:
        try:
            p.decode()
        except UnicodeDecodeError:
            broken += 1
    assert broken >= 4  # é, ö, 😀 and the client's own reads: every multibyte char was split


@pytest.mark.parametrize(("mode", "expected"), [
    ("empty", ""), ("invalid_json", '{"query": "unterminated'), ("not_object", "[1, 2]")])
async def test_tool_args_plain_and_streamed(chaos: ChaosProxy, mode: str, expected: str) -> None:
    chaos.add_toxic("llm", {"type": "tool_args", "attributes": {"mode": mode}})
    async with httpx.AsyncClient() as c:
        r = await c.post(proxy_url(chaos) + CHAT, json={"tools": [{}]})
    call = r.json()["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call == {"name": "get_weather", "arguments": expected}
    body = await _sse(chaos, {"stream": True, "tools": [{}]})
    joined = ""
    for event in body.split(b"\n\n"):
        if event.startswith(b"data: {"):
            for tc in json.loads(event[6:])["choices"][0]["delta"].get("tool_calls", []):
                joined += tc["function"].get("arguments", "")
    assert joined == expected


async def test_unknown_tool_name(chaos: ChaosProxy) -> None:
    chaos.add_toxic("llm", {"type": "tool_args", "attributes": {"mode": "unknown_tool",
                                                                "tool_name": "launch"}})
    async with httpx.AsyncClient() as c:
        r = await c.post(proxy_url(chaos) + CHAT, json={"tools": [{}]})
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "launch"


@pytest.mark.parametrize(("mode", "expected"), [
    ("empty", b""), ("truncated", JSON_1K[: len(JSON_1K) // 2]),
    ("wrong_shape", b'["unexpected"]'), ("malformed", b'{,}' + JSON_1K[1:])])
async def test_bad_json(chaos: ChaosProxy, mode: str, expected: bytes) -> None:
    chaos.add_toxic("llm", {"type": "bad_json", "attributes": {"mode": mode}})
    async with httpx.AsyncClient() as c:
        r = await c.get(proxy_url(chaos) + "/json")
    assert r.status_code == 200 and r.content == expected


async def test_json_inject_by_key_path_and_upstream(chaos: ChaosProxy) -> None:
    chaos.add_toxic("llm", {"type": "json_inject", "name": "k",
                            "attributes": {"path": "content", "payload": "EVIL"}})
    async with httpx.AsyncClient() as c:
        docs = (await c.post(proxy_url(chaos) + "/docs")).json()["documents"]
        assert [d["content"] for d in docs] == ["Refunds take 5 days.\nEVIL",
                                                "Shipping is free.\nEVIL"]
        chaos.remove_toxic("llm", "k")
        chaos.add_toxic("llm", {"type": "json_inject", "name": "p", "attributes": {
            "path": "$.documents[1].content", "payload": "EVIL", "mode": "replace"}})
        docs = (await c.post(proxy_url(chaos) + "/docs")).json()["documents"]
        assert [d["content"] for d in docs] == ["Refunds take 5 days.", "EVIL"]
        chaos.remove_toxic("llm", "p")
        chaos.add_toxic("llm", {"type": "json_inject", "stream": "upstream", "attributes": {
            "path": "q", "payload": "X", "mode": "prepend"}})
        echoed = await c.post(proxy_url(chaos) + "/echo", json={"q": "hi", "n": 1})
        assert echoed.json() == {"q": "X\nhi", "n": 1}


async def test_latency_and_matching(chaos: ChaosProxy) -> None:
    chaos.add_toxic("llm", {"type": "latency", "attributes": {
        "latency": 150, "match_path": "/v1/*", "match_model": "gpt-*"}})
    async with httpx.AsyncClient() as c:
        t0 = time.monotonic()
        await c.post(proxy_url(chaos) + CHAT, json={"model": "gpt-4o"})
        slow = time.monotonic() - t0
        t0 = time.monotonic()
        await c.post(proxy_url(chaos) + CHAT, json={"model": "claude"})
        await c.get(proxy_url(chaos) + "/json")
        fast = time.monotonic() - t0
    assert slow >= 0.15 and fast < 0.1
    assert [r.toxics for r in chaos.traffic] == [["latency_downstream"], [], []]


async def test_toxicity_is_seeded_through_the_proxy(upstream: Upstream) -> None:
    async def run(seed: int) -> list[str]:
        async with ChaosProxy(seed=seed) as cp:
            await cp.add_proxy("llm", "127.0.0.1:0", upstream.url)
            t = cp.add_toxic("llm", {"type": "http_error", "toxicity": 0.5})
            async with httpx.AsyncClient() as c:
                codes = [(await c.get(proxy_url(cp) + "/json")).status_code for _ in range(40)]
            assert codes.count(500) == t.fired
            return t.fired_on

    a, b, other = await run(11), await run(11), await run(12)
    assert a == b and a != other and 8 < len(a) < 32


async def test_s16_control_api_never_blocks_while_hang_holds(chaos: ChaosProxy,
                                                             upstream: Upstream) -> None:
    chaos.add_toxic("llm", {"type": "hang", "name": "hang"})
    assert chaos.control_url is not None
    async with httpx.AsyncClient(timeout=10) as c, ProxyClient(chaos.control_url,
                                                               timeout_s=1) as api:
        held = [asyncio.create_task(c.get(proxy_url(chaos) + "/json")) for _ in range(5)]
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in held) and chaos.proxy("llm").active == 5
        t0 = time.monotonic()
        await api.add_toxic("llm", {"type": "latency", "name": "lat", "attributes":
                                    {"latency": 1}})
        assert len(await api.toxics("llm")) == 2
        assert "aichaos_proxy_active_requests{proxy=\"llm\"} 5.0" in await api.metrics()
        await api.remove_toxic("llm", "hang")
        assert time.monotonic() - t0 < 0.5
        results = await asyncio.wait_for(asyncio.gather(*held), 2)
    assert [r.status_code for r in results] == [200] * 5
    assert upstream.hits == 5


async def test_timeout_zero_holds_then_stop_releases_everything(upstream: Upstream) -> None:
    cp = ChaosProxy()
    await cp.start()
    await cp.add_proxy("llm", "127.0.0.1:0", upstream.url)
    cp.add_toxic("llm", {"type": "timeout", "attributes": {"timeout": 0}})
    async with httpx.AsyncClient(timeout=5) as c:
        held = asyncio.create_task(c.get(proxy_url(cp) + "/json"))
        await asyncio.sleep(0.1)
        assert not held.done()
        t0 = time.monotonic()
        await cp.stop()
        with pytest.raises(httpx.TransportError):
            await asyncio.wait_for(held, 2)
    assert time.monotonic() - t0 < 1.5
    assert cp.toxics("llm") == [] and upstream.hits == 0


async def test_control_api_shape_traffic_and_errors(chaos: ChaosProxy) -> None:
    assert chaos.control_url is not None
    async with ProxyClient(chaos.control_url) as api, httpx.AsyncClient() as c:
        proxies = await api.proxies()
        assert proxies["llm"]["toxics"] == [] and proxies["llm"]["enabled"] is True
        added = await api.add_toxic("llm", {"type": "rate_limit", "name": "rl",
                                            "toxicity": 1.0})
        assert added["name"] == "rl" and added["stream"] == "downstream"
        since = time.time()
        for _ in range(3):
            await c.post(proxy_url(chaos) + CHAT, json={})
        traffic = await api.traffic(proxy="llm", since=since)
        assert traffic["count"] == 3
        assert all(r["status"] == 429 and r["toxics"] == ["rl"] for r in traffic["records"])
        assert (await api.toxics("llm"))[0]["fired"] == 3
        metrics = await api.metrics()
        assert 'aichaos_toxic_fired_total{proxy="llm",toxic="rl",type="rate_limit"} 3.0' \
            in metrics
        with pytest.raises(PluginError) as err:
            await api.add_toxic("llm", {"type": "latency", "attributes": {"latency": -5}})
        assert str(err.value) == "toxic 'latency': attribute latency: expected >= 0 ms, got -5"
        with pytest.raises(PluginError, match="unknown toxic 'nope'; known: bad_json"):
            await api.add_toxic("llm", {"type": "nope"})
        with pytest.raises(ProxyError, match="toxic 'rl' already exists"):
            await api.add_toxic("llm", {"type": "rate_limit", "name": "rl"})
        with pytest.raises(ProxyError, match="unknown proxy 'db'; known: llm"):
            await api.toxics("db")
        await api.reset()
        assert (await api.proxies())["llm"]["toxics"] == []
        assert (await c.post(proxy_url(chaos) + CHAT, json={})).status_code == 200
        types = {t["type"] for t in await api.toxic_types()}
        assert {"latency", "rate_limit", "json_inject"} <= types


async def test_port_in_use_and_unreachable_upstream(upstream: Upstream) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        async with ChaosProxy() as cp:
            with pytest.raises(ProxyError) as err:
                await cp.add_proxy("llm", f"127.0.0.1:{port}", upstream.url)
            assert str(err.value) == (f"proxy 'llm': cannot listen on 127.0.0.1:{port}: "
                                      "Address already in use")
            with pytest.raises(ProxyError) as err:
                await cp.add_proxy("db", "127.0.0.1:0", "http://127.0.0.1:80x")
            assert str(err.value) == ("upstream 'http://127.0.0.1:80x': expected "
                                      "http(s)://host:port")
            free = socket.socket()
            free.bind(("127.0.0.1", 0))
            dead = free.getsockname()[1]
            free.close()
            with pytest.raises(ProxyError) as err:
                await cp.add_proxy("db", "127.0.0.1:0", f"http://127.0.0.1:{dead}")
            assert str(err.value) == (f"proxy 'db': upstream http://127.0.0.1:{dead} "
                                      "unreachable: Connect call failed ('127.0.0.1', "
                                      f"{dead})")
            assert cp.proxies == {}
    finally:
        busy.close()


async def test_upstream_down_at_runtime_gives_502(upstream: Upstream) -> None:
    async with ChaosProxy() as cp:
        await cp.add_proxy("llm", "127.0.0.1:0", upstream.url)
        await upstream.stop()
        async with httpx.AsyncClient() as c:
            r = await c.get(proxy_url(cp) + "/json")
        assert r.status_code == 502 and "upstream" in r.json()["error"]
        assert cp.traffic.query()[0].error == "upstream_unreachable"
