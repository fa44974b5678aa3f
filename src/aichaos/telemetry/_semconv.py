"""Checks of received telemetry against the OpenTelemetry GenAI semantic conventions.

Source: OpenTelemetry semantic conventions, "Semantic conventions for generative client AI
spans" and "... metrics" (gen-ai-spans.md, gen-ai-metrics.md, v1.37). A GenAI client span
carries ``gen_ai.operation.name`` (``chat``, ``text_completion``, ``embeddings``...),
``gen_ai.request.model`` and the usage counts ``gen_ai.usage.input_tokens`` /
``gen_ai.usage.output_tokens``; the client metrics are the histograms
``gen_ai.client.operation.duration`` (unit ``s``) and ``gen_ai.client.token.usage``
(unit ``{token}``, attribute ``gen_ai.token.type`` = ``input`` | ``output``).

Vendor aliases are accepted with a warning: the pre-1.27 GenAI names
(``gen_ai.usage.prompt_tokens``/``completion_tokens``), OpenLLMetry/Traceloop's ``llm.*``
attributes and metric names, and OpenInference (Arize) ``llm.token_count.*`` /
``llm.model_name``.

Requests are matched to spans by time: each request sent by aichaos has a wall-clock window
``[sent, answered]`` widened by ``skew_s`` on both sides, and a span belongs to the request
whose window contains it (largest overlap wins), unless its trace began before that window:
such a span is the tail of earlier traffic (typically the last request of the suite that ran
just before, whose final spans end within ``skew_s`` of the first window), not part of this
request. Requests are sent one at a time, so windows do not overlap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aichaos.telemetry._otlp import MetricPoint, SpanRecord

REQUIRED_SPAN_ATTRIBUTES: tuple[str, ...] = (
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
)
REQUIRED_METRICS: tuple[str, ...] = (
    "gen_ai.client.operation.duration",
    "gen_ai.client.token.usage",
)
#: canonical attribute -> accepted vendor aliases (each use is reported as a warning)
ATTRIBUTE_ALIASES: dict[str, tuple[str, ...]] = {
    "gen_ai.operation.name": ("llm.request.type",),
    "gen_ai.request.model": ("llm.request.model", "llm.model_name", "gen_ai.response.model"),
    "gen_ai.usage.input_tokens": ("gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens",
                                  "llm.token_count.prompt"),
    "gen_ai.usage.output_tokens": ("gen_ai.usage.completion_tokens",
                                   "llm.usage.completion_tokens", "llm.token_count.completion"),
}
#: canonical metric -> accepted vendor aliases (OpenLLMetry's names before semconv 1.26)
METRIC_ALIASES: dict[str, tuple[str, ...]] = {
    "gen_ai.client.operation.duration": ("llm.operation.duration",),
    "gen_ai.client.token.usage": ("llm.token.usage",),
}
_GENAI_PREFIXES = ("gen_ai.", "llm.")
_EXPECTED_UNITS = {"gen_ai.client.operation.duration": "s",
                   "gen_ai.client.token.usage": "{token}"}


@dataclass(frozen=True, slots=True)
class RequestWindow:
    """A request aichaos sent: its case id, wall-clock window (Unix seconds) and outcome."""

    case_id: str
    start_s: float
    end_s: float
    ok: bool = True


@dataclass(slots=True)
class RequestTelemetry:
    """What the telemetry said about one request.

    Attributes:
        case_id: the golden case sent.
        spans: spans inside the request's window.
        genai_spans: of those, spans with ``gen_ai.*`` (or alias) attributes.
        trace_ids: distinct trace ids among the request's spans.
        correlated: the request's spans form one trace whose parent links all resolve.
        attributes: required attribute -> ``present``, ``alias:<name>`` or ``missing``.
        error_spans: spans with status ``error`` or an ``error.type`` attribute.
    """

    case_id: str
    spans: int = 0
    genai_spans: int = 0
    trace_ids: list[str] = field(default_factory=list)
    correlated: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    error_spans: int = 0

    def items(self) -> tuple[int, int]:
        """(checks passed, checks made): span arrived, correlated, each required attribute."""
        passed = int(self.genai_spans > 0) + int(self.correlated)
        passed += sum(1 for v in self.attributes.values() if v != "missing")
        return passed, 2 + len(self.attributes)


@dataclass(slots=True)
class MetricCheck:
    """One required metric: ``status`` is ``present``, ``alias:<name>`` or ``missing``.

    ``observations`` is the number of recorded measurements (histogram count, summed over
    attribute sets; the latest cumulative point per set), ``problems`` lists deviations from
    the convention (wrong unit or instrument kind, missing ``gen_ai.token.type``).
    """

    name: str
    status: str
    observations: int = 0
    problems: list[str] = field(default_factory=list)


def _is_valid_id(value: str, digits: int) -> bool:
    return len(value) == digits and value.strip("0") != ""


def is_genai_span(span: SpanRecord) -> bool:
    """True when the span carries GenAI attributes (canonical or alias)."""
    return any(k.startswith(_GENAI_PREFIXES) for k in span.attributes)


def is_error_span(span: SpanRecord) -> bool:
    """True for status ERROR or an ``error.type`` attribute (semconv's error marker)."""
    return span.status == "error" or "error.type" in span.attributes


def attribute_status(attributes: dict[str, Any], name: str) -> str:
    """``present``, ``alias:<vendor name>`` or ``missing`` for one required attribute."""
    if attributes.get(name) not in (None, ""):
        return "present"
    for alias in ATTRIBUTE_ALIASES.get(name, ()):
        if attributes.get(alias) not in (None, ""):
            return f"alias:{alias}"
    return "missing"


def assign_spans(spans: Iterable[SpanRecord], windows: Sequence[RequestWindow],
                 skew_s: float = 0.5) -> list[list[SpanRecord]]:
    """The spans of each request window (same order as ``windows``); unmatched spans are dropped.

    A span matches a window when ``[start_s, end_s]`` lies within the window widened by
    ``skew_s`` seconds on both sides (clock skew between aichaos and the target) and the
    earliest received span of its trace starts inside that widened window too (a trace that
    began earlier belongs to earlier traffic); a span matching several windows goes to the
    one it overlaps most. Spans without a trace id are matched on their own times only.
    """
    spans = list(spans)
    trace_start: dict[str, float] = {}
    for span in spans:
        if span.trace_id:
            trace_start[span.trace_id] = min(trace_start.get(span.trace_id, span.start_s),
                                             span.start_s)
    out: list[list[SpanRecord]] = [[] for _ in windows]
    for span in spans:
        began = trace_start.get(span.trace_id, span.start_s)
        best, best_overlap = -1, -1.0
        for i, w in enumerate(windows):
            lo = w.start_s - skew_s
            if span.start_s >= lo and began >= lo and span.end_s <= w.end_s + skew_s:
                overlap = min(span.end_s, w.end_s) - max(span.start_s, w.start_s)
                if overlap > best_overlap:
                    best, best_overlap = i, overlap
        if best >= 0:
            out[best].append(span)
    return out


def check_request(window: RequestWindow, spans: Sequence[SpanRecord],
                  all_span_ids: set[tuple[str, str]],
                  required: Sequence[str] = REQUIRED_SPAN_ATTRIBUTES) -> RequestTelemetry:
    """Check one request's spans: arrival, correlation and the required attributes.

    ``all_span_ids`` holds every received ``(trace_id, span_id)``: a parent link resolves
    when its parent was received in the same trace. Attributes are looked up on the GenAI
    spans and count as present when any of them carries the attribute.
    """
    genai = [s for s in spans if is_genai_span(s)]
    trace_ids = sorted({s.trace_id for s in spans})
    links_ok = all(not s.parent_span_id or (s.trace_id, s.parent_span_id) in all_span_ids
                   for s in spans)
    ids_ok = all(_is_valid_id(s.trace_id, 32) and _is_valid_id(s.span_id, 16) for s in spans)
    merged: dict[str, Any] = {}
    for s in genai:
        merged.update({k: v for k, v in s.attributes.items() if v not in (None, "")})
    return RequestTelemetry(
        case_id=window.case_id, spans=len(spans), genai_spans=len(genai), trace_ids=trace_ids,
        correlated=bool(genai) and len(trace_ids) == 1 and links_ok and ids_ok,
        attributes={name: attribute_status(merged, name) for name in required},
        error_spans=sum(1 for s in spans if is_error_span(s)),
    )


def check_requests(spans: Sequence[SpanRecord], windows: Sequence[RequestWindow],
                   required: Sequence[str] = REQUIRED_SPAN_ATTRIBUTES,
                   skew_s: float = 0.5) -> list[RequestTelemetry]:
    """:func:`check_request` for every window, in order."""
    ids = {(s.trace_id, s.span_id) for s in spans}
    return [check_request(w, mine, ids, required)
            for w, mine in zip(windows, assign_spans(spans, windows, skew_s), strict=True)]


def observations(points: Sequence[MetricPoint]) -> int:
    """Measurements recorded by distribution points of one metric.

    Cumulative points: the largest count per attribute set (the latest export), summed over
    sets; delta points: every count summed. Gauge/sum points count one each.
    """
    latest: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)
    total = 0
    for p in points:
        if p.count is None:
            total += 1
        elif p.temporality == "delta":
            total += p.count
        else:
            key = tuple(sorted((k, repr(v)) for k, v in p.attributes.items()))
            latest[key] = max(latest[key], p.count)
    return total + sum(latest.values())


def check_metrics(points: Sequence[MetricPoint],
                  required: Sequence[str] = REQUIRED_METRICS) -> list[MetricCheck]:
    """Check each required metric: present (or alias), instrument kind, unit, attributes."""
    by_name: dict[str, list[MetricPoint]] = defaultdict(list)
    for p in points:
        by_name[p.name].append(p)
    out = []
    for name in required:
        status, found = "missing", by_name.get(name, [])
        if found:
            status = "present"
        else:
            for alias in METRIC_ALIASES.get(name, ()):
                if by_name.get(alias):
                    status, found = f"alias:{alias}", by_name[alias]
                    break
        check = MetricCheck(name, status, observations(found))
        if found:
            kinds = {p.kind for p in found}
            if name in _EXPECTED_UNITS and kinds - {"histogram", "exponential_histogram"}:
                check.problems.append(f"instrument kind {sorted(kinds)}, expected histogram")
            units = {p.unit for p in found}
            expected_unit = _EXPECTED_UNITS.get(name)
            if expected_unit and units != {expected_unit}:
                check.problems.append(f"unit {sorted(units)}, expected {expected_unit!r}")
            if name == "gen_ai.client.token.usage":
                types = {p.attributes.get("gen_ai.token.type") for p in found}
                if not {"input", "output"} <= types:
                    check.problems.append("gen_ai.token.type should take input and output, "
                                          f"got {sorted(str(t) for t in types)}")
        out.append(check)
    return out


def alias_warnings(requests: Sequence[RequestTelemetry],
                   metrics: Sequence[MetricCheck]) -> list[str]:
    """One warning line per vendor alias used instead of a GenAI convention name."""
    seen: dict[str, str] = {}
    for r in requests:
        for name, status in r.attributes.items():
            if status.startswith("alias:"):
                seen[status[6:]] = name
    for m in metrics:
        if m.status.startswith("alias:"):
            seen[m.status[6:]] = m.name
    return [f"vendor alias {alias!r} accepted for {name!r}; rename it to follow the "
            "OpenTelemetry GenAI semantic conventions" for alias, name in sorted(seen.items())]
