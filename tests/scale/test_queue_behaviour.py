"""Victim and twins on real loopback servers: an unbounded queue vs load shedding with 429.

Each server (tests/scale/overload_app.py) serves one request at a time in 25 ms: capacity
40 req/s. The sweep offers 10 req/s, then 80 req/s (2x capacity) for 2 s each. The queueing
victim lets the queue grow (admitted latency rises for the whole step); the shedding twin
answers 429 with Retry-After past 4 admitted requests; a bare shedder omits Retry-After.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from overload_app import overload_app
from scale_support import CASES

from aichaos.config import parse_experiment
from aichaos.results import LayerResult
from aichaos.runner import EventBus, Runner


def _layer(url: str) -> LayerResult:
    exp = parse_experiment({
        "title": "overload", "runtime": {"seed": 11},
        "target": {"type": "openai", "base_url": url + "/v1", "model": "m", "timeout_s": 20,
                   "stream": False},
        "layers": {"capability": {"enabled": False},
                   "scale": {"arrival": "poisson", "rates_rps": [10, 80], "duration_s": 2.0,
                             "peak_rps": 10, "metrics_url": url + "/metrics"}}})
    outcome = asyncio.run(Runner(exp, EventBus(), cases=CASES).run())
    return outcome.scorecard.layers[6]


def _checks(layer: LayerResult) -> dict[str, Any]:
    return {c.name: c for c in layer.checks}


@pytest.fixture(scope="module")
def queueing() -> LayerResult:
    with overload_app("queue") as url:
        return _layer(url)


@pytest.fixture(scope="module")
def shedding() -> LayerResult:
    with overload_app("shed") as url:
        return _layer(url)


def test_unbounded_queue_is_flagged_for_that_reason(queueing: LayerResult) -> None:
    m, c = queueing.metrics, _checks(queueing)
    assert m["saturation_point_rps"] == 80
    assert m["overload_behaviour"] == "unbounded_queue"
    shed = c["scale.shedding"]
    assert not shed.passed and shed.decided and shed.cases == ["load-step-2"]
    assert shed.message.startswith("unbounded queue: ")
    assert m["rejection_rate"] == 0.0 and shed.value == 0.0
    # admitted latency grows about (80 / 40 - 1) = 1 s per s of the step
    assert m["admitted_latency_trend"] > 0.5
    assert c["scale.retry_after"].not_measured is not None  # nothing was rejected
    # the server's own queue, scraped beside the knee (vLLM's name for it)
    assert m["signal_queue_max"] > 10
    assert "vllm:num_requests_waiting" in m["saturation_signals"]
    assert m["saturation_signals"].startswith("at the knee (80 req/s)")


def test_shedding_twin_passes_with_retry_after(shedding: LayerResult) -> None:
    m, c = shedding.metrics, _checks(shedding)
    assert m["saturation_point_rps"] == 80  # still overloaded: successes fall short
    assert m["overload_behaviour"] == "sheds"
    shed = c["scale.shedding"]
    assert shed.passed and shed.message.startswith("sheds load: ")
    assert 0.2 < m["rejection_rate"] < 0.8  # about half of 80 req/s is refused
    assert m["admitted_latency_p95_s"] < 0.3  # at most 4 admitted: <= ~100 ms plus overhead
    ra = c["scale.retry_after"]
    assert ra.passed and ra.value == 1.0 and "median 1 s" in ra.message
    assert m["signal_queue_max"] <= 4  # the limit keeps the server's queue short


def test_shedding_without_retry_after_fails_that_check() -> None:
    with overload_app("shed-bare") as url:
        layer = _layer(url)
    c = _checks(layer)
    assert c["scale.shedding"].passed
    ra = c["scale.retry_after"]
    assert not ra.passed and ra.value == 0.0 and ra.message.startswith("0% of ")
