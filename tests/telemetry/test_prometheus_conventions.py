"""Prometheus checks on real exporters: naming conventions, other traffic, auth, redirects.

Issue 11 item 9: auto-detection took a batch job's error counter and a per-token latency from a
real exporter; counters were compared as exact deltas, so any other traffic failed the check;
no auth header was sent and redirects were not followed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from aichaos.telemetry import check_scrapes, parse_exposition, scrape

# a real exporter's families: the app's own, plus unrelated ones that the old rules took
NOISY = """# TYPE batch_cost_errors_total counter
batch_cost_errors_total {batch}
# TYPE llm_time_per_output_token_seconds histogram
llm_time_per_output_token_seconds_bucket{{le="+Inf"}} {tokens}
llm_time_per_output_token_seconds_count {tokens}
llm_time_per_output_token_seconds_sum {tokens}
# TYPE shop_requests_total counter
shop_requests_total{{code="200"}} {ok}
shop_requests_total{{code="503"}} {err}
# TYPE shop_request_duration_seconds histogram
shop_request_duration_seconds_bucket{{le="+Inf"}} {count}
shop_request_duration_seconds_count {count}
shop_request_duration_seconds_sum {total}
"""


def test_only_conventional_names_are_picked_on_a_noisy_exporter() -> None:
    before = parse_exposition(NOISY.format(batch=10, tokens=100, ok=5, err=0, count=5, total=1))
    after = parse_exposition(NOISY.format(batch=90, tokens=900, ok=8, err=1, count=9, total=2))
    report = check_scrapes(before, after, sent=4, failed=1, client_mean_latency_s=0.5)
    assert report.latency_series == "shop_request_duration_seconds"
    assert report.requests_series == "shop_requests"
    assert report.errors_series is None  # not batch_cost_errors: errors come from code="503"
    assert report.errors_delta == 1
    assert all(report.checks.values()), report.messages
    assert "requests=shop_requests" in report.series()


def test_other_traffic_on_a_shared_server_is_reported_not_failed() -> None:
    before = parse_exposition(NOISY.format(batch=0, tokens=0, ok=100, err=0, count=100, total=10))
    after = parse_exposition(NOISY.format(batch=0, tokens=0, ok=130, err=2, count=132, total=99))
    report = check_scrapes(before, after, sent=4, failed=1, client_mean_latency_s=0.2)
    assert report.checks["consistent.requests"] and report.checks["consistent.latency"]
    assert report.checks["consistent.errors"]  # 2 errors counted, aichaos saw 1: others' too
    assert report.other_traffic == 28
    undercounted = check_scrapes(before, after, sent=40, failed=3, client_mean_latency_s=0.2)
    assert not undercounted.checks["consistent.requests"]
    assert not undercounted.checks["consistent.errors"]  # the server missed a failure


def test_opentelemetry_http_duration_serves_as_request_counter_with_status_label() -> None:
    text = """# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{{http_response_status_code="200",le="+Inf"}} {ok}
http_server_request_duration_seconds_count{{http_response_status_code="200"}} {ok}
http_server_request_duration_seconds_sum{{http_response_status_code="200"}} 1
http_server_request_duration_seconds_bucket{{http_response_status_code="500",le="+Inf"}} {err}
http_server_request_duration_seconds_count{{http_response_status_code="500"}} {err}
http_server_request_duration_seconds_sum{{http_response_status_code="500"}} 1
"""
    report = check_scrapes(parse_exposition(text.format(ok=1, err=0)),
                           parse_exposition(text.format(ok=3, err=1)),
                           sent=3, failed=1, client_mean_latency_s=None)
    assert report.latency_series == report.requests_series == \
        "http_server_request_duration_seconds"
    assert report.requests_delta == 3 and report.errors_delta == 1
    assert all(report.checks.values()), report.messages


@pytest.fixture()
def exporter() -> Iterator[tuple[str, list[str | None]]]:
    """A real exporter on loopback: /metrics redirects to /secure/metrics, which needs a token."""
    registry = CollectorRegistry()
    Counter("shop_requests", "requests", registry=registry).inc(3)
    Histogram("shop_request_duration_seconds", "latency", registry=registry).observe(0.1)
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self.send_response(302)
                self.send_header("Location", "/secure/metrics")
                self.end_headers()
                return
            seen.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != "Bearer s3cret-token":
                self.send_response(401)
                self.end_headers()
                return
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics", seen
    finally:
        server.shutdown()
        server.server_close()


def test_scrape_follows_redirects_and_sends_auth_headers(
        exporter: tuple[str, list[str | None]]) -> None:
    url, seen = exporter
    denied = asyncio.run(scrape(url))
    assert denied.error is not None and "401" in denied.error
    assert "prometheus_headers" in denied.error
    ok = asyncio.run(scrape(url, headers={"Authorization": "Bearer s3cret-token"}))
    assert ok.error is None
    assert ok.kinds["shop_requests"] == "counter"
    assert seen == [None, "Bearer s3cret-token"]


def test_prometheus_headers_come_from_the_environment_and_never_print(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from aichaos.config import ObservabilityLayer

    monkeypatch.setenv("METRICS_TOKEN", "Bearer s3cret-token")
    layer = ObservabilityLayer.model_validate({
        "prometheus_url": "http://127.0.0.1:9/metrics",
        "prometheus_headers": {"Authorization": {"type": "env", "key": "METRICS_TOKEN"}}})
    assert layer.prometheus_headers["Authorization"].get_secret_value() == "Bearer s3cret-token"
    assert "s3cret" not in repr(layer) and "s3cret" not in layer.model_dump_json()
