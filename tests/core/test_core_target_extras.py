"""Extra request fields, headers and query parameters, templated per case, reach a real
loopback server (openai target streaming and not, http target); bad templates are config
errors naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from aichaos.config import HttpTargetConfig, OpenAITargetConfig, parse_experiment
from aichaos.errors import ConfigError
from aichaos.targets import HttpTarget, OpenAITarget, TargetRequest


async def recording_openai(serve: Any, received: list[dict[str, Any]]) -> str:
    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        received.append({"headers": {k.lower(): v for k, v in request.headers.items()}, "query": dict(request.query),
                         "body": body, "path": request.path})
        if not body.get("stream"):
            return web.json_response({"choices": [{"message": {"content": "ok"},
                                                   "finish_reason": "stop"}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        chunk = {"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]}
        await resp.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
        return resp

    async def models(request: web.Request) -> web.Response:
        received.append({"headers": {k.lower(): v for k, v in request.headers.items()}, "query": dict(request.query),
                         "body": None, "path": request.path})
        return web.json_response({"data": []})

    return await serve([("POST", "/v1/chat/completions", chat), ("GET", "/v1/models", models)])


EXTRAS: dict[str, Any] = {
    "headers": {"X-Tenant": "acme", "X-Request-Id": "aichaos-{{ case.id }}-{{ variant }}"},
    "params": {"api-version": "2024-06-01", "trace": "{{ case_id }}"},
    "extra_body": {"user": "{{ case_id }}", "cache": {"no-cache": True, "ttl": 0},
                   "metadata": {"q": "{{ input }}", "tags": ["aichaos", "{{ variant }}"]}},
}


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_target_sends_templated_extras(serve: Any, stream: bool) -> None:
    received: list[dict[str, Any]] = []
    base = await recording_openai(serve, received)
    config = OpenAITargetConfig(type="openai", base_url=base + "/v1", model="m", stream=stream,
                                api_key="sk-test", **EXTRAS)
    target = OpenAITarget(config)
    try:
        await target.check()
        resp = await target.send(TargetRequest("How long do refunds take?", case_id="refund-1",
                                               metadata={"variant": "typo_keyboard@3",
                                                         "headers": {"Cache-Control":
                                                                     "no-cache"}}))
    finally:
        await target.aclose()
    assert resp.ok and resp.output == "ok"
    check, chat = received
    # static headers and params reach the health check too; templated ones only the chat
    assert check["path"] == "/v1/models" and check["headers"]["x-tenant"] == "acme"
    assert check["query"] == {"api-version": "2024-06-01"}
    assert chat["headers"]["x-tenant"] == "acme"
    assert chat["headers"]["x-request-id"] == "aichaos-refund-1-typo_keyboard@3"
    assert chat["headers"]["cache-control"] == "no-cache"  # a probe's header still arrives
    assert chat["headers"]["authorization"] == "Bearer sk-test"
    assert chat["query"] == {"api-version": "2024-06-01", "trace": "refund-1"}
    body = chat["body"]
    assert body["user"] == "refund-1"
    assert body["cache"] == {"no-cache": True, "ttl": 0}  # non-string leaves keep their type
    assert body["metadata"] == {"q": "How long do refunds take?",
                                "tags": ["aichaos", "typo_keyboard@3"]}
    assert body["model"] == "m" and body["stream"] is stream  # aichaos's own fields remain


async def test_extra_body_overrides_aichaos_fields(serve: Any) -> None:
    received: list[dict[str, Any]] = []
    base = await recording_openai(serve, received)
    target = OpenAITarget(OpenAITargetConfig(type="openai", base_url=base + "/v1", stream=False,
                                             extra_body={"temperature": 0.7, "max_tokens": 9}))
    try:
        await target.send(TargetRequest("hi", case_id="c"))
    finally:
        await target.aclose()
    assert (received[0]["body"]["temperature"], received[0]["body"]["max_tokens"]) == (0.7, 9)


async def test_http_target_sends_templated_extras(serve: Any) -> None:
    received: list[dict[str, Any]] = []

    async def ask(request: web.Request) -> web.Response:
        body = await request.json()
        received.append({"headers": {k.lower(): v for k, v in request.headers.items()}, "query": dict(request.query),
                         "body": body})
        return web.json_response({"output": "fine"})

    url = await serve([("POST", "/ask", ask)]) + "/ask"
    config = HttpTargetConfig(type="http", url=url, body={"question": "{{ input }}"},
                              **EXTRAS)
    target = HttpTarget(config)
    try:
        resp = await target.send(TargetRequest("Where is my order?", context="ctx",
                                               case_id="order-7"))
    finally:
        await target.aclose()
    assert resp.ok and resp.output == "fine"
    got = received[0]
    assert got["headers"]["x-request-id"] == "aichaos-order-7-clean"
    assert got["query"] == {"api-version": "2024-06-01", "trace": "order-7"}
    assert got["body"]["question"] == "Where is my order?"
    assert got["body"]["user"] == "order-7"
    assert got["body"]["metadata"]["q"] == "Where is my order?"


@pytest.mark.parametrize(("target", "message"), [
    ({"type": "openai", "base_url": "http://127.0.0.1:9/v1",
      "headers": {"X-User": "{{ user_id }}"}},
     "target.headers.X-User: unknown template variable 'user_id'"),
    ({"type": "openai", "base_url": "http://127.0.0.1:9/v1",
      "extra_body": {"user": "{{ case_id "}},
     "target.extra_body.user: invalid template"),
    ({"type": "http", "url": "http://127.0.0.1:9/ask", "params": {"v": "{% if %}"}},
     "target.params.v: invalid template"),
    ({"type": "http", "url": "http://127.0.0.1:9/ask", "body": "{{ input }}",
      "extra_body": {"user": "x"}},
     "target: extra_body: needs a mapping body"),
])
def test_bad_request_templates_are_config_errors(target: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_experiment({"title": "t", "target": target}, "exp.yaml")
    text = str(err.value)
    assert text.startswith("exp.yaml: ")
    assert message.split(": ", 1)[1] in text, text
