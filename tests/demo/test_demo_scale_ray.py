"""End to end: layer 6 of the bundled demo experiment with ``engine: ray`` against the real
demo app (hardened profile, started by :class:`DemoStack`, behind the chaos proxy the runner
starts), its model replaced by a sleep-bound OpenAI-compatible server so that on 2 cores
the load measures the app and the engine, not a CPU-bound local model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from aichaos.demo import free_port
from aichaos.demo._run import demo_experiment
from aichaos.demo._stack import DemoStack
from aichaos.runner import EventBus, Runner
from sleep_upstream import sleep_upstream

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def model() -> Iterator[str]:
    with sleep_upstream(base_s=0.05, exp_mean_s=0.0, capacity=8) as url:
        yield url


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def test_demo_scale_layer_runs_on_two_ray_workers(model: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Layer 6 of the demo app on two Ray workers, and the same step on the local engine:
    their figures agree within their 95 % intervals."""
    import ray

    with DemoStack(llm_url=model + "/v1", profiles=("hardened",), work_dir=tmp_path) as stack:
        exp = demo_experiment(stack, "hardened", quick=True,
                              otlp_listen=f"127.0.0.1:{free_port()}")
        exp.steady_state_hypothesis = None
        layers = exp.layers
        assert layers.capability is not None and layers.scale is not None
        layers.capability.enabled = False
        layers.input_resilience = layers.integration = layers.safety = None
        layers.observability = None
        scale = layers.scale
        scale.engine, scale.workers = "ray", 2
        scale.rates_rps, scale.duration_s, scale.arrival = [2.0], 4.0, "constant"
        local_exp = exp.model_copy(deep=True)
        assert local_exp.layers.scale is not None
        local_exp.layers.scale.engine, local_exp.layers.scale.workers = "local", 1
        local = asyncio.run(Runner(local_exp, EventBus()).run()).scorecard.layers[6]
        before = httpx.get(model + "/stats").json()["served"]
        outcome = asyncio.run(Runner(exp, EventBus()).run())
        served = httpx.get(model + "/stats").json()["served"] - before

    assert not ray.is_initialized()  # the local Ray started for the run is shut down
    assert outcome.journal["status"] == "completed"
    layer = outcome.scorecard.layers[6]
    assert layer.measured, layer.note
    engine = layer.details["engine"]
    assert engine["name"] == "ray" and engine["workers"] == 2 and engine["started_local"]
    (step,) = engine["steps"]
    workers = step["workers"]
    assert [w["offered_rps"] for w in workers] == [1.0, 1.0]
    merged = layer.details["load"]["steps"][0]
    assert merged["scheduled"] == 8 == sum(w["scheduled"] for w in workers)
    assert merged["ok"] == 8 and merged["errors"] == 0
    for w in workers:
        assert abs(w["clock_offset_s"]) <= w["clock_error_s"] + 1e-6
    # every load request went through the app to its model (the app does not cache
    # no-cache requests): exercised, not answered from a cache
    assert served >= merged["scheduled"]
    assert layer.metrics["load_engine"] == "ray (2 workers, a local Ray)"
    assert "worker clocks vs the driver" in layer.note
    # the same step from the local engine against the same app agrees within the intervals
    assert local.measured and local.metrics["load_engine"] == "local", local.note
    lm, rm = local.metrics, layer.metrics
    assert _overlap(lm["achieved_rps_ci"], rm["achieved_rps_ci"]), (lm, rm)
    assert _overlap(lm["latency_p50_ci_s"], rm["latency_p50_ci_s"]), (lm, rm)
