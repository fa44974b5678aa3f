"""OTLP receiver (protobuf from the real SDK exporter, OTLP/JSON), GenAI checks, Prometheus."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from aichaos.errors import ConfigError
from aichaos.telemetry import (
    OtlpReceiver,
    RequestWindow,
    SpanRecord,
    alias_warnings,
    check_metrics,
    check_requests,
    check_scrapes,
    parse_exposition,
)


def _export_with_sdk(endpoint: str) -> None:
    """Export one GenAI span and two metrics with the real OpenTelemetry SDK (protobuf)."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind

    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{endpoint}/v1/traces")))
    tracer = tp.get_tracer("t")
    with tracer.start_as_current_span("POST /chat", kind=SpanKind.SERVER), \
            tracer.start_as_current_span("chat m", kind=SpanKind.CLIENT, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 7}):
        pass
    tp.shutdown()
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    meter = mp.get_meter("t")
    meter.create_histogram("gen_ai.client.operation.duration", unit="s").record(0.5)
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    tokens.record(12, {"gen_ai.token.type": "input"})
    tokens.record(7, {"gen_ai.token.type": "output"})
    data = reader.get_metrics_data()
    assert OTLPMetricExporter(f"{endpoint}/v1/metrics").export(data).name == "SUCCESS"
    mp.shutdown()


async def test_receiver_decodes_sdk_protobuf_and_checks_pass() -> None:
    async with OtlpReceiver("127.0.0.1:0") as rx:
        start = __import__("time").time()
        await asyncio.to_thread(_export_with_sdk, rx.endpoint)
        end = __import__("time").time()
    assert len(rx.spans) == 2 and {s.encoding for s in rx.spans} == {"protobuf"}
    client = next(s for s in rx.spans if s.kind == "client")
    server = next(s for s in rx.spans if s.kind == "server")
    assert client.parent_span_id == server.span_id and client.trace_id == server.trace_id
    assert len(client.trace_id) == 32 and client.attributes["gen_ai.usage.input_tokens"] == 12
    [req] = check_requests(rx.spans, [RequestWindow("c1", start, end)])
    assert req.genai_spans == 1 and req.spans == 2 and req.correlated
    assert set(req.attributes.values()) == {"present"} and req.items() == (6, 6)
    checks = {c.name: c for c in check_metrics(rx.metrics)}
    assert checks["gen_ai.client.operation.duration"].status == "present"
    assert checks["gen_ai.client.operation.duration"].observations == 1
    assert checks["gen_ai.client.token.usage"].observations == 2
    assert all(not c.problems for c in checks.values())


async def test_receiver_json_hex_ids_and_rejections() -> None:
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "app"}}]}, "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "chat", "kind": 3, "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000001000000000", "status": {"code": 2},
            "attributes": [{"key": "llm.usage.prompt_tokens", "value": {"intValue": "5"}}],
        }]}]}]}
    async with OtlpReceiver("127.0.0.1:0") as rx, httpx.AsyncClient() as http:
        ok = await http.post(f"{rx.endpoint}/v1/traces", json=body)
        bad_type = await http.post(f"{rx.endpoint}/v1/traces", content=b"x",
                                   headers={"Content-Type": "text/plain"})
        garbage = await http.post(f"{rx.endpoint}/v1/traces", content=b"\xff\x00garbage",
                                  headers={"Content-Type": "application/x-protobuf"})
    assert ok.status_code == 200 and ok.json() == {}
    assert bad_type.status_code == 415 and garbage.status_code == 400 and rx.rejected == 2
    [span] = rx.spans
    assert span.trace_id == "5b8efff798038103d269b633813fc60c" and span.span_id == "eee19b7ec3c1b174"
    assert span.status == "error" and span.kind == "client" and span.encoding == "json"
    assert span.start_s == 1_700_000_000.0 and span.resource == {"service.name": "app"}
    [req] = check_requests(rx.spans, [RequestWindow("c", 1_699_999_999.9, 1_700_000_001.1)])
    assert req.attributes["gen_ai.usage.input_tokens"] == "alias:llm.usage.prompt_tokens"
    assert req.attributes["gen_ai.request.model"] == "missing" and req.error_spans == 1
    [warning] = alias_warnings([req], [])
    assert "'llm.usage.prompt_tokens' accepted for 'gen_ai.usage.input_tokens'" in warning


def _span(trace: str, span: str, parent: str, start: float, end: float, **attrs: object
          ) -> SpanRecord:
    return SpanRecord(trace, span, parent, "s", "client", start, end, dict(attrs), {}, "unset",
                      "json")


def test_spans_are_matched_to_request_windows_and_broken_traces_flagged() -> None:
    t1, t2 = "a" * 32, "b" * 32
    spans = [_span(t1, "1" * 16, "", 10.0, 11.0, **{"gen_ai.operation.name": "chat"}),
             _span(t2, "2" * 16, "9" * 16, 20.0, 21.0, **{"gen_ai.operation.name": "chat"}),
             _span(t2, "3" * 16, "", 50.0, 51.0)]  # outside every window: other traffic
    first, second = check_requests(spans, [RequestWindow("x", 9.9, 11.2),
                                           RequestWindow("y", 19.9, 21.2)])
    assert first.correlated and first.trace_ids == [t1]
    assert not second.correlated  # its parent span was never exported
    assert first.items() == (3, 6)  # span, correlation, one of four attributes


def test_the_tail_of_an_earlier_trace_is_not_the_requests() -> None:
    # seen on the demo: layer 1's last request ended 70 ms before layer 5's first was sent; its
    # final span ("grounding check") lay inside the widened window and split the request in two
    earlier, mine = "e" * 32, "a" * 32
    spans = [_span(earlier, "1" * 16, "", 3.0, 9.95),  # the earlier request's server span
             _span(earlier, "2" * 16, "1" * 16, 9.93, 9.94),  # ... its last child
             _span(mine, "3" * 16, "", 10.0, 11.0),
             _span(mine, "4" * 16, "3" * 16, 10.1, 10.9, **{"gen_ai.operation.name": "chat"}),
             _span(mine[:-1] + "b", "5" * 16, "", 10.2, 10.3)]  # a span in a trace of its own
    (got,) = check_requests(spans, [RequestWindow("x", 10.0, 11.0)])
    assert got.spans == 3 and got.trace_ids == [mine, mine[:-1] + "b"]
    assert not got.correlated  # the app's own broken trace is still caught
    (got,) = check_requests(spans[:4], [RequestWindow("x", 10.0, 11.0)])
    assert got.spans == 2 and got.correlated and got.trace_ids == [mine]

def test_suite_waits_for_the_whole_trace_not_only_its_genai_span() -> None:
    from aichaos.config import ObservabilityLayer
    from aichaos.probes._observability import ObservabilitySuite

    suite = ObservabilitySuite(ObservabilityLayer(required_metrics=[]))
    rx = OtlpReceiver("127.0.0.1:0")
    windows = [RequestWindow("x", 9.9, 11.2)]
    trace, server = "a" * 32, "1" * 16
    rx.spans.append(_span(trace, "2" * 16, server, 10.1, 10.8,
                          **{"gen_ai.operation.name": "chat"}))
    assert not suite._complete(rx, windows)  # its parent, the server span, is in the next batch
    rx.spans.append(_span(trace, server, "", 10.0, 11.0))
    assert suite._complete(rx, windows)


def test_receiver_rejects_bad_listen_address() -> None:
    with pytest.raises(ConfigError, match="otlp_listen: expected host:port"):
        OtlpReceiver("localhost")


EXPOSITION = """# TYPE app_requests_total counter
app_requests_total{{status="200"}} {ok}
app_requests_total{{status="502"}} {err}
# TYPE app_request_duration_seconds histogram
app_request_duration_seconds_bucket{{le="+Inf"}} {count}
app_request_duration_seconds_count {count}
app_request_duration_seconds_sum {total}
"""


def test_prometheus_consistency_with_what_was_sent() -> None:
    before = parse_exposition(EXPOSITION.format(ok=5, err=1, count=6, total=3.0))
    after = parse_exposition(EXPOSITION.format(ok=8, err=2, count=10, total=5.0))
    good = check_scrapes(before, after, sent=4, failed=1, client_mean_latency_s=0.6)
    assert good.requests_series == "app_requests" and good.latency_series == \
        "app_request_duration_seconds"
    assert good.requests_delta == 4 and good.errors_delta == 1
    assert good.server_mean_latency_s == pytest.approx(0.5)
    assert all(good.checks.values()) and good.coverage == 1.0
    miscounted = check_scrapes(before, after, sent=7, failed=2, client_mean_latency_s=0.3)
    assert miscounted.checks["consistent.requests"] is False
    assert miscounted.checks["consistent.latency"] is False  # server 0.5 s > client 0.3 s
    assert miscounted.checks["consistent.errors"] is False
    assert "app_requests grew by 4, aichaos sent 7" in miscounted.messages


def test_metric_alias_and_problems_reported() -> None:
    from aichaos.telemetry import MetricPoint

    points = [MetricPoint("llm.operation.duration", "ms", "histogram", {}, {}, None, 3, 1.0,
                          0.0, "json", "cumulative"),
              MetricPoint("gen_ai.client.token.usage", "{token}", "histogram",
                          {"gen_ai.token.type": "input"}, {}, None, 2, 5.0, 0.0, "json",
                          "delta")]
    duration, usage = check_metrics(points)
    assert duration.status == "alias:llm.operation.duration" and duration.observations == 3
    assert duration.problems == ["unit ['ms'], expected 's'"]
    assert usage.status == "present" and "gen_ai.token.type" in usage.problems[0]
    assert json.dumps(alias_warnings([], [duration])).count("llm.operation.duration") == 1


async def test_spans_of_earlier_traffic_reaching_a_new_receiver_are_not_the_first_requests(
) -> None:
    # seen on `aichaos demo --quick`: the previous layer's last request ended just before the
    # receiver started; its server span had been exported into the void, and its last child,
    # arriving now with no earlier span of its trace, lay inside the first window's skew
    import time

    from aichaos.config import Experiment
    from aichaos.dataset import Case
    from aichaos.probes import SuiteContext
    from aichaos.probes._observability import ObservabilitySuite, ReceiverStarted
    from aichaos.runner import EventBus
    from aichaos.targets import build_target

    exp = Experiment.model_validate({
        "title": "t", "target": {"type": "mock", "default": "ok"},
        "steady-state-hypothesis": None,
        "layers": {"capability": None, "observability": {
            "otlp_listen": "127.0.0.1:0", "sample": 1, "fault_requests": 0, "wait_s": 0.3,
            "clock_skew_s": 0.5, "required_metrics": []}}})
    assert exp.layers.observability is not None
    bus, posted = EventBus(), []

    def stray(event: ReceiverStarted) -> None:
        now = time.time()
        span = {"traceId": "e" * 32, "spanId": "2" * 16, "parentSpanId": "1" * 16,
                "name": "grounding check", "kind": 1,
                "startTimeUnixNano": str(int((now - 0.1) * 1e9)),
                "endTimeUnixNano": str(int((now - 0.05) * 1e9))}
        body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
        posted.append(asyncio.get_running_loop().create_task(
            httpx.AsyncClient().post(f"{event.endpoint}/v1/traces", json=body)))

    bus.subscribe(ReceiverStarted, stray)
    ctx = SuiteContext("run", exp, build_target(exp.target), [Case(id="c", input="hi")], bus,
                       seed=1)
    layer = await ObservabilitySuite(exp.layers.observability).run(ctx)
    assert (await posted[0]).status_code == 200
    [request] = layer.details["requests"]
    assert request["spans"] == 0  # the stray span started before the first window's skew
