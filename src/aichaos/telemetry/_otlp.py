"""Decoding OTLP/HTTP export requests (traces and metrics, protobuf and JSON) into records.

Wire formats follow the OTLP specification 1.x, "OTLP/HTTP": a POST to ``/v1/traces`` or
``/v1/metrics`` whose body is an ``Export{Trace,Metrics}ServiceRequest`` encoded as binary
protobuf (``application/x-protobuf``) or as protobuf JSON (``application/json``). In OTLP/JSON
``traceId``/``spanId``/``parentSpanId`` are hex strings, not the base64 of the protobuf JSON
mapping, so they are re-encoded before parsing. Gzip bodies (``Content-Encoding: gzip``) are
accepted. The messages come from the official ``opentelemetry-proto`` package.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import time
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from aichaos.errors import AIChaosError

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer",
          5: "consumer"}
_STATUS = {0: "unset", 1: "ok", 2: "error"}
_TEMPORALITY = {1: "delta", 2: "cumulative"}
_HEX_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id",
                          "parent_span_id"})


class OtlpDecodeError(AIChaosError):
    """An OTLP export body could not be decoded (bad protobuf, bad JSON, bad ids)."""


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One received span.

    Attributes:
        trace_id: 32 lowercase hex digits ("" when the exporter sent none).
        span_id: 16 lowercase hex digits.
        parent_span_id: the parent's span id, "" for a root span.
        name: span name, e.g. ``chat gpt-4o``.
        kind: ``server``, ``client``, ``internal``, ``producer``, ``consumer``, ``unspecified``.
        start_s, end_s: start and end, Unix seconds.
        attributes: span attributes (key -> str/int/float/bool/list/dict).
        resource: resource attributes (``service.name``...).
        status: ``unset``, ``ok`` or ``error``.
        encoding: ``protobuf`` or ``json`` (how it arrived).
        received_s: receive time, Unix seconds.
    """

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    start_s: float
    end_s: float
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status: str
    encoding: str
    received_s: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One received metric data point.

    Attributes:
        name: instrument name, e.g. ``gen_ai.client.operation.duration``.
        unit: UCUM unit as sent (``s``, ``{token}``).
        kind: ``gauge``, ``sum``, ``histogram``, ``exponential_histogram`` or ``summary``.
        attributes: point attributes.
        resource: resource attributes.
        value: gauge/sum value, None for distributions.
        count: observations in a distribution point, None for gauge/sum.
        sum: sum of a distribution point's observations, None when absent.
        time_s: point timestamp, Unix seconds.
        encoding: ``protobuf`` or ``json``.
        temporality: ``cumulative``, ``delta`` or "" (gauges, summaries).
    """

    name: str
    unit: str
    kind: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    value: float | None
    count: int | None
    sum: float | None
    time_s: float
    encoding: str
    temporality: str = ""


def any_value(value: AnyValue) -> Any:
    """The Python value of an OTLP ``AnyValue`` (arrays -> list, kvlists -> dict)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def attributes_of(pairs: Any) -> dict[str, Any]:
    """A dict from a repeated ``KeyValue`` field."""
    out: dict[str, Any] = {}
    kv: KeyValue
    for kv in pairs:
        out[kv.key] = any_value(kv.value)
    return out


def _body_bytes(body: bytes, content_encoding: str | None) -> bytes:
    if (content_encoding or "").lower() == "gzip" or body[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise OtlpDecodeError(f"gzip body could not be decompressed: {exc}") from exc
    return body


def _hex_ids_to_base64(node: Any) -> Any:
    """Re-encode OTLP/JSON hex ids as the base64 the protobuf JSON mapping expects."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _HEX_ID_KEYS and isinstance(value, str):
                try:
                    out[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError as exc:
                    raise OtlpDecodeError(f"{key}: expected hex digits, got {value!r}") from exc
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def _parse(body: bytes, content_type: str, message: Any) -> str:
    """Fill ``message`` from ``body``; returns the encoding name.

    Raises:
        OtlpDecodeError: unsupported content type or an undecodable body.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-protobuf":
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise OtlpDecodeError(f"protobuf body could not be decoded: {exc}") from exc
        return "protobuf"
    if media == "application/json":
        try:
            data = json.loads(body)
            json_format.ParseDict(_hex_ids_to_base64(data), message, ignore_unknown_fields=True)
        except (ValueError, json_format.ParseError, binascii.Error) as exc:
            raise OtlpDecodeError(f"JSON body could not be decoded: {exc}") from exc
        return "json"
    raise OtlpDecodeError(
        f"Content-Type {content_type!r}: expected application/x-protobuf or application/json")


def decode_traces(body: bytes, content_type: str,
                  content_encoding: str | None = None) -> tuple[list[SpanRecord], Any]:
    """Decode an OTLP/HTTP trace export.

    Returns:
        (spans, an empty ``ExportTraceServiceResponse`` to answer with).

    Raises:
        OtlpDecodeError: unsupported content type or undecodable body.
    """
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    request = ExportTraceServiceRequest()
    encoding = _parse(_body_bytes(body, content_encoding), content_type, request)
    spans = []
    for rs in request.resource_spans:
        resource = attributes_of(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                spans.append(SpanRecord(
                    trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                    parent_span_id=s.parent_span_id.hex(), name=s.name,
                    kind=_KINDS.get(s.kind, "unspecified"),
                    start_s=s.start_time_unix_nano / 1e9, end_s=s.end_time_unix_nano / 1e9,
                    attributes=attributes_of(s.attributes), resource=resource,
                    status=_STATUS.get(s.status.code, "unset"), encoding=encoding,
                ))
    return spans, ExportTraceServiceResponse()


def decode_metrics(body: bytes, content_type: str,
                   content_encoding: str | None = None) -> tuple[list[MetricPoint], Any]:
    """Decode an OTLP/HTTP metrics export into one :class:`MetricPoint` per data point.

    Returns:
        (points, an empty ``ExportMetricsServiceResponse`` to answer with).

    Raises:
        OtlpDecodeError: unsupported content type or undecodable body.
    """
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceResponse,
    )

    request = ExportMetricsServiceRequest()
    encoding = _parse(_body_bytes(body, content_encoding), content_type, request)
    points = []
    for rm in request.resource_metrics:
        resource = attributes_of(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind is None:
                    continue
                data = getattr(m, kind)
                temporality = _TEMPORALITY.get(getattr(data, "aggregation_temporality", 0), "")
                for p in data.data_points:
                    value = count = total = None
                    if kind in ("gauge", "sum"):
                        which = p.WhichOneof("value")
                        value = float(getattr(p, which)) if which else None
                    else:
                        count = int(p.count)
                        total = float(p.sum) if kind == "summary" or p.HasField("sum") else None
                    points.append(MetricPoint(
                        m.name, m.unit, kind, attributes_of(p.attributes), resource, value,
                        count, total, p.time_unix_nano / 1e9, encoding, temporality,
                    ))
    return points, ExportMetricsServiceResponse()
