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

OpenTelemetry: a span per chat request with a ``chat {model}`` client span carrying the GenAI
semantic-convention attributes (``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.request.max_tokens``, ``gen_ai.request.temperature``,
``gen_ai.response.id``, ``gen_ai.response.model``, ``gen_ai.response.finish_reasons``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``, ``error.type``), and the same two
GenAI metrics as OTel histograms. Exported with OTLP/HTTP only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the exporters read the standard ``OTEL_*`` variables).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096)


class Telemetry:
    """Metrics and tracing for one app process (``enabled=False``: everything is a no-op)."""

    def __init__(self, enabled: bool, service_name: str) -> None:
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
            self._setup_otel(service_name)

    def _setup_otel(self, service_name: str) -> None:
        try:
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
        except ImportError:  # the otel extra is optional; metrics still work
            return
        resource = Resource.create({"service.name": service_name})
        tracer_provider = TracerProvider(resource=resource)
        readers: list[Any] = []
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(),
                                                         export_interval_millis=5000))
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
        """An OTel span (``None`` when tracing is off); exceptions set ``error.type``."""
        if self._tracer is None:
            yield None
            return
        from opentelemetry.trace import SpanKind, Status, StatusCode

        kind = SpanKind.CLIENT if client else SpanKind.SERVER
        with self._tracer.start_as_current_span(name, kind=kind, attributes=attributes,
                                                record_exception=False,
                                                set_status_on_exception=False) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
                raise

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
