"""A small real AI app for the telemetry tests: aiohttp on 127.0.0.1, calling a real LLM.

``POST /chat {"input": ..., "context": ...}`` -> ``{"output": ...}``. It asks the
OpenAI-compatible server at ``--llm`` (the local SmolLM2) for a chat completion.

``--instrumented``: OpenTelemetry SDK with OTLP/HTTP exporters (endpoint from the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``): a SERVER span per request with a CLIENT GenAI child span
carrying the GenAI semantic-convention attributes, the GenAI client metrics, and a
Prometheus ``/metrics`` endpoint (request counter with a status label, latency histogram).
Without it, the uninstrumented twin: same behaviour, no telemetry at all.

Run: ``python support_app.py --port P --llm http://127.0.0.1:N/v1 [--instrumented]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import httpx
from aiohttp import web

MODEL = "smollm2-135m-instruct"
SYSTEM = ("You are the customer support assistant of Northwind Gadgets. Answer in one or two "
          "sentences using only the facts in the context.")


class Telemetry:
    def __init__(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from prometheus_client import CollectorRegistry, Counter, Histogram

        resource = Resource.create({"service.name": "support-app"})
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=100))
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=300)
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        self.tracer = self.tracer_provider.get_tracer("support-app")
        meter = self.meter_provider.get_meter("support-app")
        self.duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
        self.tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        self.registry = CollectorRegistry()
        self.requests = Counter("app_requests", "chat requests", ["status"],
                                registry=self.registry)
        self.latency = Histogram("app_request_duration_seconds", "chat latency, s",
                                 registry=self.registry)

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


async def ask_llm(client: httpx.AsyncClient, llm: str, body: dict[str, Any]) -> dict[str, Any]:
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Context:\n{body.get('context') or ''}\n\n"
                                            f"Question: {body['input']}"}]
    r = await client.post(f"{llm}/chat/completions", json={
        "model": MODEL, "messages": messages, "max_tokens": 16, "temperature": 0.0})
    r.raise_for_status()
    data: dict[str, Any] = r.json()
    return data


def build_app(llm: str, telemetry: Telemetry | None) -> web.Application:
    client = httpx.AsyncClient(timeout=30.0)

    async def chat_plain(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            data = await ask_llm(client, llm, body)
        except httpx.HTTPError as exc:
            return web.json_response({"error": str(exc)}, status=502)
        return web.json_response({"output": data["choices"][0]["message"]["content"]})

    async def chat_traced(request: web.Request) -> web.Response:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        assert telemetry is not None
        start = time.perf_counter()
        body = await request.json()
        status = 200
        with telemetry.tracer.start_as_current_span("POST /chat", kind=SpanKind.SERVER) as srv:
            attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                     "gen_ai.request.model": MODEL}
            with telemetry.tracer.start_as_current_span(f"chat {MODEL}", kind=SpanKind.CLIENT,
                                                        attributes=attrs) as span:
                t0 = time.perf_counter()
                try:
                    data = await ask_llm(client, llm, body)
                except httpx.HTTPError as exc:
                    span.set_status(Status(StatusCode.ERROR, str(exc)))
                    span.set_attribute("error.type", type(exc).__name__)
                    telemetry.duration.record(time.perf_counter() - t0,
                                              {**attrs, "error.type": type(exc).__name__})
                    status, payload = 502, {"error": str(exc)}
                else:
                    usage = data.get("usage") or {}
                    span.set_attribute("gen_ai.usage.input_tokens", usage["prompt_tokens"])
                    span.set_attribute("gen_ai.usage.output_tokens", usage["completion_tokens"])
                    span.set_attribute("gen_ai.response.model", data.get("model", MODEL))
                    telemetry.duration.record(time.perf_counter() - t0, attrs)
                    telemetry.tokens.record(usage["prompt_tokens"],
                                            {**attrs, "gen_ai.token.type": "input"})
                    telemetry.tokens.record(usage["completion_tokens"],
                                            {**attrs, "gen_ai.token.type": "output"})
                    payload = {"output": data["choices"][0]["message"]["content"]}
            srv.set_attribute("http.response.status_code", status)
            if status >= 500:
                srv.set_status(Status(StatusCode.ERROR))
        telemetry.requests.labels(str(status)).inc()
        telemetry.latency.observe(time.perf_counter() - start)
        return web.json_response(payload, status=status)

    async def metrics(_request: web.Request) -> web.Response:
        from prometheus_client import generate_latest

        assert telemetry is not None
        return web.Response(body=generate_latest(telemetry.registry),
                            content_type="text/plain", charset="utf-8")

    async def close(_app: web.Application) -> None:
        await client.aclose()
        if telemetry is not None:
            telemetry.shutdown()

    app = web.Application()
    app.router.add_post("/chat", chat_traced if telemetry else chat_plain)
    app.router.add_get("/health", lambda _r: _ok())
    if telemetry is not None:
        app.router.add_get("/metrics", metrics)
    app.on_cleanup.append(close)
    return app


async def _ok() -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--llm", required=True)
    parser.add_argument("--instrumented", action="store_true")
    args = parser.parse_args()
    telemetry = Telemetry() if args.instrumented else None
    web.run_app(build_app(args.llm, telemetry), host="127.0.0.1", port=args.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
