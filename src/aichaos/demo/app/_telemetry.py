"""Telemetry of the hardened profile: Prometheus metrics and OpenTelemetry GenAI traces.

Prometheus (served at ``/metrics``, own registry):

* ``support_requests_total{outcome}``: outcome is answered, cached, abstained, clarified,
  fallback, error.
* ``support_request_duration_seconds``: end-to-end latency histogram of chat requests.
* ``support_errors_total{error_class}``: upstream failures by class (connect, timeout,
  http, rate_limit, quota, stream_error, truncated, bad_response, circuit_open, partial,
  crm_unavailable).
* ``support_upstream_retries_total``: LLM retries (attempts beyond the first).
* ``support_circuit_open``: 1 while the LLM circuit breaker is open.
* ``support_grounding_replacements_total{reason,replacement}``: answers the grounding guard
  replaced; reason is number or off_topic, replacement is extractive or abstain.
* ``gen_ai_client_operation_duration_seconds`` and ``gen_ai_client_token_usage`` (histograms
  named after the OpenTelemetry GenAI client metrics, label ``gen_ai_token_type``).

OpenTelemetry: one trace per chat request. A SERVER span ``POST /v1/chat/completions`` continues
the caller's trace when the request carries a W3C ``traceparent`` (W3C Trace Context Level 1,
read with OTel's TraceContext propagator) and starts a new one otherwise; the request's other
spans are its descendants: ``crm lookup`` (CLIENT), ``kb search`` and ``grounding check``
(INTERNAL, run in worker threads through ``asyncio.to_thread``, which copies the context) and
the ``chat {model}`` CLIENT span carrying the GenAI
semantic-convention attributes (``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.request.max_tokens``, ``gen_ai.request.temperature``,
``gen_ai.response.id``, ``gen_ai.response.model``, ``gen_ai.response.finish_reasons``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``, ``error.type``). Outgoing LLM and
CRM calls carry ``traceparent`` (httpx request hook, :meth:`Telemetry.httpx_event_hooks`), so
an instrumented dependency joins the same trace. The same two GenAI metrics are exported as
OTel histograms. Exported with OTLP/HTTP only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the exporters read the standard ``OTEL_*`` variables).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096)


class Telemetry:
    """Metrics and tracing for one app process (``enabled=False``: everything is a no-op).

    Args:
        enabled: the hardened profile's telemetry; naive passes False.
        service_name: OTel ``service.name``.
        span_exporter: also export spans here, synchronously (tests pass the in-memory one).
    """

    def __init__(self, enabled: bool, service_name: str, span_exporter: Any = None) -> None:
        self.enabled = enabled
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("support_requests", "chat requests by outcome", ["outcome"],
                                registry=r)
        self.duration = Histogram("support_request_duration_seconds",
                                  "end-to-end latency of chat requests (s)",
                                  buckets=_LATENCY_BUCKETS, registry=r)
        self.errors = Counter("support_errors", "upstream failures by class", ["error_class"],
                              registry=r)
        self.retries = Counter("support_upstream_retries", "LLM retries", registry=r)
        self.grounding_replacements = Counter(
            "support_grounding_replacements", "answers replaced by the grounding guard",
            ["reason", "replacement"], registry=r)
        self.circuit_open = Gauge("support_circuit_open", "1 while the LLM breaker is open",
                                  registry=r)
        self.op_duration = Histogram("gen_ai_client_operation_duration_seconds",
                                     "GenAI operation duration (s)",
                                     ["gen_ai_operation_name", "gen_ai_request_model"],
                                     buckets=_LATENCY_BUCKETS, registry=r)
        self.token_usage = Histogram("gen_ai_client_token_usage", "GenAI tokens per call",
                                     ["gen_ai_token_type", "gen_ai_request_model"],
                                     buckets=_TOKEN_BUCKETS, registry=r)
        self._tracer: Any = None
        self._providers: list[Any] = []
        self._otel_duration: Any = None
        self._otel_tokens: Any = None
        if enabled:
            self._setup_otel(service_name, span_exporter)

    def _setup_otel(self, service_name: str, span_exporter: Any) -> None:
        try:
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
        except ImportError:  # the otel extra is optional; metrics still work
            return
        resource = Resource.create({"service.name": service_name})
        tracer_provider = TracerProvider(resource=resource)
        if span_exporter is not None:
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor

            tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        readers: list[Any] = []
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            # the standard OTEL_METRIC_EXPORT_INTERVAL (ms) wins; else 5 s, not the SDK's 60 s
            interval = None if os.environ.get("OTEL_METRIC_EXPORT_INTERVAL") else 5000
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(),
                                                         export_interval_millis=interval))
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        self._providers = [tracer_provider, meter_provider]
        self._tracer = tracer_provider.get_tracer("aichaos.demo.app")
        meter = meter_provider.get_meter("aichaos.demo.app")
        self._otel_duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration")
        self._otel_tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="GenAI tokens used")

    @contextlib.contextmanager
    def span(self, name: str, attributes: dict[str, Any], *,
             client: bool = False) -> Iterator[Any]:
        """A child of the current span (``None`` when tracing is off): kind CLIENT for a call
        to another service (``client``), else INTERNAL; exceptions set ``error.type``."""
        if self._tracer is None:
            yield None
            return
        from opentelemetry.trace import SpanKind

        kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
        with self._start(name, kind, attributes, None) as span:
            yield span

    @contextlib.contextmanager
    def server_span(self, method: str, route: str,
                    headers: Mapping[str, str]) -> Iterator[Any]:
        """The SERVER span of one HTTP request (``None`` when tracing is off).

        Its parent is the caller's span when ``headers`` (the request's) carry a valid W3C
        ``traceparent`` (``tracestate`` kept), else it roots a new trace; spans opened inside
        the block are its descendants. Named ``{method} {route}`` with ``http.request.method``
        and ``http.route`` (OpenTelemetry HTTP server span conventions); set the status code
        with :meth:`record_response`. Only the W3C propagator is used, not the global one:
        baggage from callers is not forwarded to the model provider.
        """
        if self._tracer is None:
            yield None
            return
        from opentelemetry.trace import SpanKind
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        parent = TraceContextTextMapPropagator().extract(headers)
        attributes = {"http.request.method": method, "http.route": route}
        with self._start(f"{method} {route}", SpanKind.SERVER, attributes, parent) as span:
            yield span

    @staticmethod
    def record_response(span: Any, status: int) -> None:
        """``http.response.status_code`` on a :meth:`server_span`; 5xx marks it an error
        (HTTP server span conventions: 4xx is the client's error, not the server's)."""
        if span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))

    @contextlib.contextmanager
    def _start(self, name: str, kind: Any, attributes: dict[str, Any],
               context: Any) -> Iterator[Any]:
        from opentelemetry.trace import Status, StatusCode

        with self._tracer.start_as_current_span(name, context=context, kind=kind,
                                                attributes=attributes,
                                                record_exception=False,
                                                set_status_on_exception=False) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
                raise

    def httpx_event_hooks(self) -> dict[str, list[Callable[[httpx.Request], Awaitable[None]]]]:
        """``event_hooks`` for an ``httpx.AsyncClient``: each request gets the W3C
        ``traceparent`` of the current span (none when tracing is off, or outside a span).

        httpx awaits request hooks in the task that sends, so the hook sees that task's
        context (the ``chat`` or ``crm lookup`` span).
        """
        if self._tracer is None:
            return {}
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        propagator = TraceContextTextMapPropagator()

        async def inject(request: httpx.Request) -> None:
            propagator.inject(request.headers)

        return {"request": [inject]}

    def record_genai(self, model: str, duration_s: float, input_tokens: int,
                     output_tokens: int, error_type: str | None) -> None:
        """GenAI client metrics of one ``chat`` call (Prometheus and OTel)."""
        if not self.enabled:
            return
        self.op_duration.labels("chat", model).observe(duration_s)
        self.token_usage.labels("input", model).observe(input_tokens)
        self.token_usage.labels("output", model).observe(output_tokens)
        if self._otel_duration is not None:
            attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                     "gen_ai.request.model": model}
            self._otel_duration.record(duration_s, {**attrs, **(
                {"error.type": error_type} if error_type else {})})
            self._otel_tokens.record(input_tokens, {**attrs, "gen_ai.token.type": "input"})
            self._otel_tokens.record(output_tokens, {**attrs, "gen_ai.token.type": "output"})

    def exposition(self) -> bytes:
        """Prometheus text exposition of this app's registry."""
        return generate_latest(self.registry)

    def shutdown(self) -> None:
        """Flush and stop the OTel providers."""
        for provider in self._providers:
            with contextlib.suppress(Exception):
                provider.shutdown()
