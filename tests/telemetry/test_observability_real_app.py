"""Layer 5 end to end: a real aiohttp app calling the real SmolLM2, with and without OTel.

The instrumented app exports OTLP/HTTP (protobuf) to the suite's receiver and exposes
Prometheus metrics; its uninstrumented twin exports nothing. The app reaches the model through
the chaos proxy (dependency ``llm``), so the suite can inject an HTTP 500 and check that the
telemetry noticed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aichaos.config import Experiment
from aichaos.dataset import load_dataset
from aichaos.demo._llm import free_port
from aichaos.demo._stack import APP_OTEL_ENV
from aichaos.runner import EventBus, Runner, RunOutcome
from aichaos.store import ResultStore
from tests_support import ROOT

pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent
CASES = load_dataset(ROOT / "src" / "aichaos" / "demo" / "datasets" / "support.yaml")[:6]


def _start_app(port: int, llm: str, otlp: str, instrumented: bool) -> subprocess.Popen[bytes]:
    # the exporter gives up after 2 s once the receiver has stopped, so the app exits at once;
    # its log goes to a file: an unread pipe fills with exporter retries and blocks the app
    env = {**os.environ, **APP_OTEL_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp,
           "OTEL_SERVICE_NAME": "support"}
    cmd = [sys.executable, str(HERE / "support_app.py"), "--port", str(port), "--llm", llm]
    with tempfile.TemporaryFile() as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(cmd + (["--instrumented"] if instrumented else []), env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                time.sleep(0.1)
        proc.kill()
        log.seek(0)
        raise RuntimeError(f"app did not start: {log.read()[-2000:]!r}")


@pytest.fixture
def app_factory() -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: object) -> None:
        procs.append(_start_app(*args))  # type: ignore[arg-type]

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise


def _assess(llm_server: str, tmp_path: Path, app_factory: object, instrumented: bool
            ) -> tuple[RunOutcome, ResultStore]:
    app_port, otlp_port, proxy_port = free_port(), free_port(), free_port()
    llm_root = llm_server.removesuffix("/v1")
    app_factory(app_port, f"http://127.0.0.1:{proxy_port}/v1",  # type: ignore[operator]
                f"http://127.0.0.1:{otlp_port}", instrumented)
    experiment = Experiment.model_validate({
        "title": "support app telemetry",
        "target": {"type": "http", "url": f"http://127.0.0.1:{app_port}/chat",
                   "body": {"input": "{{ input }}", "context": "{{ context }}"},
                   "answer_path": "$.output", "timeout_s": 30},
        "dependencies": {"llm": {"upstream": llm_root, "listen": f"127.0.0.1:{proxy_port}"}},
        "steady-state-hypothesis": None,
        "layers": {"capability": None, "observability": {
            "otlp_listen": f"127.0.0.1:{otlp_port}",
            "prometheus_url": f"http://127.0.0.1:{app_port}/metrics",
            "sample": 3, "wait_s": 4.0, "fault_requests": 2}},
    })
    store = ResultStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    bus = EventBus()
    store.attach(bus)
    outcome = asyncio.run(Runner(experiment, bus, cases=CASES).run())
    return outcome, store


def test_instrumented_app_passes(llm_server: str, tmp_path: Path, app_factory: object) -> None:
    outcome, store = _assess(llm_server, tmp_path, app_factory, instrumented=True)
    layer = outcome.scorecard.layers[5]
    assert outcome.journal["status"] == "completed", outcome.journal["run"]
    failed = [(c.name, c.message) for c in layer.checks if not c.passed]
    assert failed == []
    assert layer.score == 100.0
    m = layer.metrics
    assert m["requests"] == 3 and m["spans_per_request"] == 1.0
    assert m["components"] == {"spans": 1.0, "metrics": 1.0, "prometheus": 1.0,
                               "fault_detection": 1.0}
    assert m["prometheus"]["requests_series"] == "app_requests"
    assert m["prometheus"]["requests_delta"] == 3 and m["prometheus"]["errors_delta"] == 0
    assert 0 < m["prometheus"]["server_mean_latency_s"] <= m["latency_p95_s"]
    fault = m["fault_detection"]
    assert fault["otlp_noticed"] == 2 and fault["prometheus_noticed"] == 2
    assert fault["target_errors"] == 2  # the app answered 502 while its LLM failed
    # instrumentation is deterministic: exact; fault visibility is a rate over 2 requests
    checks = {c.name: c for c in layer.checks}
    assert checks["observability.spans"].interval.method == "exact"  # type: ignore[union-attr]
    assert checks["observability.spans"].decided is True
    seen = checks["observability.fault_detection"]
    assert seen.interval is not None and seen.interval.method == "betting-cs"
    assert seen.interval.n == 2 and seen.decided is False  # 2 of 2 seen: not yet "always"
    assert layer.interval is not None and layer.interval.high == 100.0
    assert layer.interval.low < 100.0 and layer.interval.n == 2
    for req in layer.details["requests"]:
        assert set(req["attributes"].values()) == {"present"}
        assert req["correlated"] and len(req["trace_ids"]) == 1 and req["spans"] == 2
    rows = store.cases(outcome.run_id)
    assert [r["variant"] for r in rows].count("clean") == 3
    assert [r["variant"] for r in rows].count("fault:llm:http_error") == 2
    assert all(r["output"] for r in rows if r["variant"] == "clean")
    assert [r["status"] for r in outcome.journal["rollbacks"]] == ["succeeded", "succeeded"]
    store.close()


def test_uninstrumented_twin_fails(llm_server: str, tmp_path: Path, app_factory: object) -> None:
    outcome, store = _assess(llm_server, tmp_path, app_factory, instrumented=False)
    layer = outcome.scorecard.layers[5]
    assert layer.score == 0.0
    by_name = {c.name: c for c in layer.checks}
    assert by_name["observability.spans"].passed is False
    assert by_name["observability.spans"].value == 0.0
    assert by_name["observability.metric.gen_ai.client.operation.duration"].passed is False
    assert by_name["observability.prometheus.present.requests"].passed is False
    assert "HTTP 404" in by_name["observability.prometheus.present.requests"].message
    assert by_name["observability.fault_detection"].passed is False
    assert by_name["observability.fault_detection"].decided is True  # unseen: a fact
    assert layer.metrics["fault_detection"]["target_errors"] == 2  # the fault did happen
    clean = [r for r in store.cases(outcome.run_id) if r["variant"] == "clean"]
    assert len(clean) == 3 and all(r["error_class"] is None for r in clean)
    store.close()
