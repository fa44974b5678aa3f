"""HttpTarget against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web

from aichaos.config import HttpTargetConfig
from aichaos.errors import ConfigError, TargetUnreachable
from aichaos.targets import HttpTarget, TargetRequest, render_body

RAW = 'line1\nline2\ttab \x00\x07\x1b[31m "double" \'single\' \\ {{ not jinja }} 😀 é\u202e'


def http_target(url: str, **kw: Any) -> HttpTarget:
    return HttpTarget(HttpTargetConfig(type="http", url=url, **kw))


async def echo_server(serve: Any, received: list[Any]) -> str:
    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        received.append({"body": body, "auth": request.headers.get("Authorization")})
        return web.json_response({"result": {"answers": [{"text": f"got:{body['input']}"}]},
                                  "output": body["input"], "n": 7})

    return await serve([("POST", "/chat", handler), ("HEAD", "/chat", handler)]) + "/chat"


async def test_body_keeps_raw_input_exactly(serve: Any) -> None:
    received: list[Any] = []
    url = await echo_server(serve, received)
    body = {"input": "{{ input }}",
            "meta": {"ctx": "{{context}}", "n": 3, "list": ["{{ case_id }}"]},
            "prompt": "Q: {{ input }}"}
    target = http_target(url, body=body)
    try:
        resp = await target.send(TargetRequest(RAW, context="the policy", case_id="c-1"))
    finally:
        await target.aclose()
    body = received[0]["body"]
    assert body["input"] == RAW
    assert body["meta"] == {"ctx": "the policy", "n": 3, "list": ["c-1"]}
    assert body["prompt"] == "Q: " + RAW
    assert (resp.ok, resp.status, resp.output) == (True, 200, RAW)
    assert resp.raw["n"] == 7
    assert resp.ttft_s == resp.e2e_s > 0


async def test_answer_path_extraction_and_non_string(serve: Any) -> None:
    url = await echo_server(serve, [])
    deep = http_target(url, answer_path="$.result.answers[0].text")
    number = http_target(url, answer_path="$.n")
    try:
        assert (await deep.send(TargetRequest("hi"))).output == "got:hi"
        assert (await number.send(TargetRequest("hi"))).output == "7"
    finally:
        await deep.aclose()
        await number.aclose()


async def test_missing_json_path_is_invalid_response(serve: Any) -> None:
    url = await echo_server(serve, [])
    target = http_target(url, answer_path="$.choices[0].text")
    try:
        resp = await target.send(TargetRequest("hi"))
    finally:
        await target.aclose()
    assert (resp.ok, resp.status, resp.error_class) == (False, 200, "invalid_response")
    assert resp.error == "no value at $.choices[0].text in the response"
    assert resp.ttft_s is None


def test_bad_json_path_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"target\.answer_path: expected a JSONPath"):
        http_target("http://127.0.0.1:9/x", answer_path="$$[[")


async def test_api_key_sent_as_bearer_and_not_described(serve: Any) -> None:
    received: list[Any] = []
    url = await echo_server(serve, received)
    target = http_target(url, api_key="sk-http-secret-123456", headers={"X-Team": "core"})
    try:
        await target.send(TargetRequest("hi"))
    finally:
        await target.aclose()
    assert received[0]["auth"] == "Bearer sk-http-secret-123456"
    assert "sk-http-secret" not in json.dumps(target.describe())
    assert target.describe() == {"type": "http", "url": url, "method": "POST",
                                 "answer_path": "$.output"}


@pytest.mark.parametrize(("status", "body", "content_type", "error_class"), [
    (200, "<html>hello</html>", "text/html", "invalid_response"),
    (500, '{"error": "boom"}', "application/json", "http_5xx"),
    (500, "Internal Server Error", "text/plain", "http_5xx"),
    (429, '{"error": "slow down"}', "application/json", "http_429"),
    (404, '{"error": "nope"}', "application/json", "http_4xx"),
])
async def test_error_classes(serve: Any, status: int, body: str, content_type: str,
                             error_class: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)

    target = http_target(await serve([("POST", "/x", handler)]) + "/x")
    try:
        resp = await target.send(TargetRequest("hi"))
    finally:
        await target.aclose()
    assert (resp.ok, resp.status, resp.error_class) == (False, status, error_class)
    assert resp.output == ""
    assert resp.error and "\n" not in resp.error
    assert resp.error.startswith(f"HTTP {status}")


async def test_non_json_error_message(serve: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="not json at all")

    target = http_target(await serve([("POST", "/x", handler)]) + "/x")
    try:
        resp = await target.send(TargetRequest("hi"))
    finally:
        await target.aclose()
    assert resp.error == "HTTP 200, body is not JSON: 'not json at all'"


async def test_connection_refused(closed_port: int) -> None:
    target = http_target(f"http://127.0.0.1:{closed_port}/x")
    try:
        resp = await target.send(TargetRequest("hi"))
        assert (resp.ok, resp.status, resp.error_class) == (False, None, "connection")
        assert resp.error and resp.error.startswith("ConnectError")
        with pytest.raises(TargetUnreachable, match="connection refused or host unknown"):
            await target.check()
    finally:
        await target.aclose()


async def test_check_passes_when_server_answers(serve: Any) -> None:
    target = http_target(await echo_server(serve, []))
    try:
        await target.check()  # must not raise
    finally:
        await target.aclose()


async def test_timeout(serve: Any) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"output": "late"})

    target = http_target(await serve([("POST", "/slow", slow)]) + "/slow", timeout_s=0.3)
    try:
        resp = await target.send(TargetRequest("hi"))
    finally:
        await target.aclose()
    assert (resp.ok, resp.error_class) == (False, "timeout")
    assert resp.error == "ReadTimeout: no answer within the timeout"
    assert 0.3 <= resp.e2e_s < 1.5


def test_render_body_leaves_non_strings_and_renders_text() -> None:
    tpl = {"a": "{{ input }}", "b": ["x {{ input }}", 5, None, True], "c": "{{ missing }}x"}
    with pytest.raises(Exception, match="missing"):  # StrictUndefined: typos fail loudly
        render_body(tpl, {"input": "q"})
    out = render_body({"a": "{{ input }}", "b": ["x {{ input }}", 5, None, True]}, {"input": [1]})
    assert out == {"a": [1], "b": ["x [1]", 5, None, True]}
