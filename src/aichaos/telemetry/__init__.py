"""Telemetry checks (layer 5): a built-in OTLP/HTTP receiver, GenAI semantic-convention
checks and Prometheus scrape checks."""

from aichaos.telemetry._otlp import (
    MetricPoint,
    OtlpDecodeError,
    SpanRecord,
    decode_metrics,
    decode_traces,
)
from aichaos.telemetry._prometheus import (
    PrometheusReport,
    Scrape,
    SeriesNames,
    check_scrapes,
    parse_exposition,
    scrape,
)
from aichaos.telemetry._receiver import DEFAULT_OTLP_HTTP_PORT, OtlpReceiver
from aichaos.telemetry._self import RunTracer
from aichaos.telemetry._semconv import (
    ATTRIBUTE_ALIASES,
    METRIC_ALIASES,
    REQUIRED_METRICS,
    REQUIRED_SPAN_ATTRIBUTES,
    MetricCheck,
    RequestTelemetry,
    RequestWindow,
    alias_warnings,
    assign_spans,
    check_metrics,
    check_requests,
    is_error_span,
    is_genai_span,
)

__all__ = [
    "ATTRIBUTE_ALIASES",
    "DEFAULT_OTLP_HTTP_PORT",
    "METRIC_ALIASES",
    "REQUIRED_METRICS",
    "REQUIRED_SPAN_ATTRIBUTES",
    "MetricCheck",
    "MetricPoint",
    "OtlpDecodeError",
    "OtlpReceiver",
    "PrometheusReport",
    "RequestTelemetry",
    "RequestWindow",
    "RunTracer",
    "Scrape",
    "SeriesNames",
    "SpanRecord",
    "alias_warnings",
    "assign_spans",
    "check_metrics",
    "check_requests",
    "check_scrapes",
    "decode_metrics",
    "decode_traces",
    "is_error_span",
    "is_genai_span",
    "parse_exposition",
    "scrape",
]
