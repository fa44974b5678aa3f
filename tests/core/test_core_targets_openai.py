"""OpenAITarget against a real aiohttp server speaking the OpenAI chat completions API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from aichaos.config import OpenAITargetConfig
from aichaos.errors import TargetUnreachable
from aichaos.targets import OpenAITarget, TargetRequest

KEY = "sk-core-openai-test-0123456789"

Events = list[dict[str, Any] | str]


def chunk(content: str | None = None, finish: str | None = None,
          usage: dict[str, int] | None = None, choices: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "model": "m"}
    delta = {"content": content} if content is not None else {}
    data["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []
    if usage is not None:
        data["usage"] = usage
    return data


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def sse_handler(events: Events, gap_s: float = 0.02,
                seen: list[dict[str, Any]] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if seen is not None:
            seen.append(body)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for ev in events:
            payload = ev if isinstance(ev, str) else json.dumps(ev)
            await resp.write(f"data: {payload}\n\n".encode())
            await asyncio.sleep(gap_s)
        await resp.write_eof()
        return resp

    return handler


async def openai_server(serve: Any, handler: Any) -> str:
    async def models(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": "m"}]})

    base = await serve([("POST", "/v1/chat/completions", handler), ("GET", "/v1/models", models)])
    return base + "/v1"


def target(base_url: str, **kw: Any) -> OpenAITarget:
    return OpenAITarget(OpenAITargetConfig(type="openai", base_url=base_url, model="m", **kw))


async def send(t: OpenAITarget, req: TargetRequest) -> Any:
    try:
        return await t.send(req)
    finally:
        await t.aclose()


# ------------------------------------------------------------------ non-streaming


async def test_plain_completion(serve: Any) -> None:
    seen: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(await request.json())
        return web.json_response({
            "id": "x", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        })

    t = target(await openai_server(serve, handler), stream=False, max_tokens=32,
               system_prompt="Be brief.")
    req = TargetRequest("Capital of France?", context="Europe", metadata={"seed": 7})
    resp = await send(t, req)
    assert (resp.ok, resp.status, resp.output) == (True, 200, "Paris.")
    assert resp.finish_reason == "stop"
    assert (resp.input_tokens, resp.output_tokens) == (12, 3)
    assert resp.ttft_s == resp.e2e_s > 0
    body = seen[0]
    assert body["model"] == "m" and body["max_tokens"] == 32 and body["stream"] is False
    assert body["seed"] == 7 and "stream_options" not in body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Context:\nEurope\n\nQuestion: Capital of France?"},
    ]


async def test_plain_completion_without_choices_is_invalid(serve: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"object": "chat.completion", "choices": []})

    resp = await send(target(await openai_server(serve, handler), stream=False), TargetRequest("x"))
    assert resp.error_class == "invalid_response"
    assert resp.error == "response JSON has no choices[0].message"


async def test_prompt_keeps_raw_input(serve: Any) -> None:
    seen: list[dict[str, Any]] = []
    raw = 'a\x00b\n"q" {{ x }} 😀 '
    events: Events = [chunk("ok"), chunk(finish="stop"), "[DONE]"]
    t = target(await openai_server(serve, sse_handler(events, 0, seen)))
    resp = await send(t, TargetRequest(raw))
    assert resp.ok
    assert seen[0]["messages"] == [{"role": "user", "content": raw}]
    assert seen[0]["stream_options"] == {"include_usage": True}


# ------------------------------------------------------------------ streaming


async def test_stream_timings_and_usage(serve: Any) -> None:
    events: Events = [
        chunk(""),  # role-only / empty first chunk: not a token
        chunk("The "), chunk("refund "), chunk("takes "), chunk("5 days."),
        chunk(finish="stop"),
        chunk(usage={"prompt_tokens": 40, "completion_tokens": 4}, choices=False),
        "[DONE]",
    ]
    t = target(await openai_server(serve, sse_handler(events)))
    resp = await send(t, TargetRequest("How long?"))
    assert (resp.ok, resp.status) == (True, 200)
    assert resp.output == "The refund takes 5 days."
    assert resp.finish_reason == "stop"
    assert (resp.input_tokens, resp.output_tokens) == (40, 4)
    assert len(resp.chunk_times_s) == 4
    assert all(b > a for a, b in zip(resp.chunk_times_s, resp.chunk_times_s[1:], strict=False))
    assert resp.ttft_s == resp.chunk_times_s[0]
    assert 0 < resp.ttft_s <= resp.e2e_s
    assert resp.chunk_times_s[-1] <= resp.e2e_s
    assert len(resp.itl_s) == len(resp.chunk_times_s) - 1
    assert all(gap > 0 for gap in resp.itl_s)


async def test_stream_without_finish_reason(serve: Any) -> None:
    events: Events = [chunk("partial "), chunk("answer"), "[DONE]"]
    resp = await send(target(await openai_server(serve, sse_handler(events))), TargetRequest("x"))
    assert (resp.ok, resp.error_class) == (False, "stream")
    assert resp.error == "stream ended without finish_reason"
    assert resp.output == "partial answer"


async def test_stream_cut_without_done(serve: Any) -> None:
    events: Events = [chunk("partial")]
    resp = await send(target(await openai_server(serve, sse_handler(events))), TargetRequest("x"))
    assert resp.error_class == "stream"
    assert resp.error == "stream ended without finish_reason or [DONE]"


async def test_stream_mid_stream_error_event(serve: Any) -> None:
    events: Events = [chunk("Hello "), chunk("wor"),
                      {"error": {"message": "upstream overloaded", "type": "server_error"}},
                      chunk("ld"), chunk(finish="stop"), "[DONE]"]
    resp = await send(target(await openai_server(serve, sse_handler(events))), TargetRequest("x"))
    assert (resp.ok, resp.error_class) == (False, "stream")
    assert resp.output == "Hello wor"
    assert resp.error == "mid-stream error event: upstream overloaded"


async def test_stream_garbage_chunk(serve: Any) -> None:
    events: Events = [chunk("a"), "{not json"]
    resp = await send(target(await openai_server(serve, sse_handler(events))), TargetRequest("x"))
    assert (resp.error_class, resp.error) == ("invalid_response", "stream chunk is not JSON")


@pytest.mark.parametrize("stream", [True, False])
async def test_http_429_with_openai_error_body(serve: Any, stream: bool) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"message": "Rate limit reached for requests", "type": "requests",
                       "code": "rate_limit_exceeded"}}, status=429)

    t = target(await openai_server(serve, handler), stream=stream)
    resp = await send(t, TargetRequest("x"))
    assert (resp.ok, resp.status, resp.error_class) == (False, 429, "http_429")
    assert resp.error == "HTTP 429: Rate limit reached for requests"
    assert resp.output == "" and resp.ttft_s is None


async def test_http_500_plain_text_stream(serve: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=503, text="upstream down")

    resp = await send(target(await openai_server(serve, handler)), TargetRequest("x"))
    assert (resp.status, resp.error_class) == (503, "http_5xx")
    assert resp.error == "HTTP 503: upstream down"


# ------------------------------------------------------------------ auth, describe, reachability


async def test_api_key_sent_as_bearer_and_hidden(serve: Any) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        return await sse_handler([chunk("authorised"), chunk(finish="stop"), "[DONE]"], 0)(request)

    base = await openai_server(serve, handler)
    good = target(base, api_key=KEY, headers={"X-Extra": "1"})
    described = json.dumps(good.describe())
    assert KEY not in described
    assert good.describe() == {"type": "openai", "base_url": base, "model": "m",
                               "stream": True, "max_tokens": 64}
    resp = await send(good, TargetRequest("x"))
    assert (resp.ok, resp.output) == (True, "authorised")

    bad = await send(target(base), TargetRequest("x"))
    assert (bad.status, bad.error_class, bad.error) == (401, "http_4xx", "HTTP 401: bad key")


async def test_connection_refused_and_check(closed_port: int) -> None:
    t = target(f"http://127.0.0.1:{closed_port}/v1")
    try:
        resp = await t.send(TargetRequest("x"))
        assert (resp.ok, resp.status, resp.error_class) == (False, None, "connection")
        with pytest.raises(TargetUnreachable, match="connection refused"):
            await t.check()
    finally:
        await t.aclose()


async def test_check_ok_and_timeout(serve: Any) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    base = await openai_server(serve, slow)
    t = target(base, timeout_s=0.3)
    try:
        await t.check()  # GET /models answers
        resp = await t.send(TargetRequest("x"))
    finally:
        await t.aclose()
    assert resp.error_class == "timeout"
    assert resp.error == "ReadTimeout: no answer within the timeout"
