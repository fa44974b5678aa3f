"""Trace context of the demo app: one trace per request, continuing the caller's ``traceparent``.

The whole app runs in process (aiohttp test server) against a fake model and a fake CRM that
record the headers they receive; spans go to OTel's in-memory exporter.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from aichaos.demo.app import AppSettings, load_passages
from aichaos.demo.app._retrieval import KnowledgeBase, Passage
from aichaos.demo.app._server import SERVICE_KEY, build_app
from aichaos.demo.app._telemetry import Telemetry

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
REFUNDS = next(p for p in load_passages() if p.title == "Refunds")
QUESTION = "Where is my order NW-10234, and how long do refunds take?"


class _FakeKB(KnowledgeBase):
    def __init__(self) -> None:
        super().__init__([REFUNDS], None)

    def search(self, query: str, k: int) -> list[tuple[Passage, float]]:
        return [(REFUNDS, 0.8)]


def _no_similarity(question: str, texts: Sequence[str]) -> list[float]:
    return [0.0 for _ in texts]


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """A fake model (``/v1/chat/completions``, SSE) and CRM (``/orders/{id}``); yields the base
    URL and the ``(path, headers)`` of every request received."""
    seen: list[tuple[str, dict[str, str]]] = []

    async def chat(request: web.Request) -> web.StreamResponse:
        seen.append((request.path, dict(request.headers)))
        events = [{"id": "c1", "choices": [{"delta": {"content": "Order NW-10234 shipped."}}]},
                  {"id": "c1", "choices": [{"delta": {}, "finish_reason": "stop"}]}]
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return web.Response(body=body.encode(), content_type="text/event-stream")

    async def order(request: web.Request) -> web.Response:
        seen.append((request.path, dict(request.headers)))
        return web.json_response({"status": "shipped", "carrier": "UPS", "tracking": "1Z",
                                  "eta": None, "items": [], "total": 10})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/orders/{oid}", order)
    async with TestServer(app) as server:
        yield str(server.make_url("")).rstrip("/"), seen


async def _ask(profile: str, upstream_url: str, headers: dict[str, str]
               ) -> tuple[int, list[ReadableSpan]]:
    exporter = InMemorySpanExporter()
    settings = AppSettings(profile=profile,  # type: ignore[arg-type]
                           llm_url=f"{upstream_url}/v1", crm_url=upstream_url)
    telemetry = Telemetry(settings.hardened, "test", span_exporter=exporter)
    app = build_app(settings, _FakeKB(), telemetry)
    app[SERVICE_KEY].similarity = _no_similarity
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/v1/chat/completions", headers=headers, json={
            "messages": [{"role": "user", "content": QUESTION}], "stream": True})
        await resp.read()
        status = resp.status
    return status, list(exporter.get_finished_spans())


def _hex(value: int, digits: int) -> str:
    return f"{value:0{digits}x}"


def _traceparent(headers: dict[str, str]) -> tuple[str, str]:
    """(trace id, parent span id) of a ``traceparent`` header."""
    version, trace_id, parent, flags = headers["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled (0x02 is Level 2's "random")
    return trace_id, parent


async def test_hardened_request_is_one_trace_continuing_the_callers(
        upstream: tuple[str, list[tuple[str, dict[str, str]]]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    url, seen = upstream
    status, spans = await _ask("hardened", url, {"traceparent": TRACEPARENT})
    assert status == 200
    by_name = {s.name: s for s in spans}
    assert {"POST /v1/chat/completions", "crm lookup", "kb search", "grounding check",
            "chat smollm2-135m-instruct"} <= set(by_name)
    server = by_name["POST /v1/chat/completions"]
    assert {_hex(s.context.trace_id, 32) for s in spans} == {TRACE_ID}
    assert server.parent is not None and server.parent.is_remote
    assert _hex(server.parent.span_id, 16) == CALLER_SPAN
    assert server.kind.name == "SERVER"
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 200
    for span in spans:  # the request's other spans are children of the server span
        if span is not server:
            assert span.parent is not None
            assert span.parent.span_id == server.context.span_id, span.name
    kinds = {name: by_name[name].kind.name for name in (
        "crm lookup", "kb search", "grounding check", "chat smollm2-135m-instruct")}
    assert kinds == {"crm lookup": "CLIENT", "kb search": "INTERNAL",
                     "grounding check": "INTERNAL", "chat smollm2-135m-instruct": "CLIENT"}
    # outgoing calls carry traceparent: the CRM's parent is the crm span, the model's the chat
    parents = {path: _traceparent(headers) for path, headers in seen}
    assert parents == {
        "/orders/NW-10234": (TRACE_ID, _hex(by_name["crm lookup"].context.span_id, 16)),
        "/v1/chat/completions": (TRACE_ID, _hex(by_name["chat smollm2-135m-instruct"]
                                                .context.span_id, 16)),
    }


async def test_hardened_request_without_traceparent_roots_one_trace(
        upstream: tuple[str, list[tuple[str, dict[str, str]]]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    url, seen = upstream
    _, spans = await _ask("hardened", url, {})
    roots = [s for s in spans if s.parent is None]
    assert [s.name for s in roots] == ["POST /v1/chat/completions"]
    assert len({s.context.trace_id for s in spans}) == 1
    ids = {s.context.span_id for s in spans}
    assert all(s.parent.span_id in ids for s in spans if s.parent is not None)
    assert {_traceparent(h)[0] for _, h in seen} == {_hex(roots[0].context.trace_id, 32)}


async def test_naive_keeps_no_telemetry(
        upstream: tuple[str, list[tuple[str, dict[str, str]]]]) -> None:
    url, seen = upstream
    status, spans = await _ask("naive", url, {"traceparent": TRACEPARENT})
    assert status == 200 and spans == []
    assert seen and all("traceparent" not in h for _, h in seen)


def test_record_response_marks_5xx_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    exporter = InMemorySpanExporter()
    telemetry = Telemetry(True, "test", span_exporter=exporter)
    for status in (400, 503):
        with telemetry.server_span("POST", "/x", {}) as span:
            telemetry.record_response(span, status)
    client_error, server_error = exporter.get_finished_spans()
    assert client_error.status.status_code.name == "UNSET"
    assert server_error.status.status_code.name == "ERROR"
    assert server_error.attributes is not None
    assert server_error.attributes["error.type"] == "503"
