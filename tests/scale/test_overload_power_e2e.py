"""End to end on a real server: 0.8x capacity is sustained and 1.25x is flagged, with the step
lengths the power rule picks (layers.scale.max_duration_s), through the layer-6 suite.

The server (tests/sleep_upstream.py) serves two requests at a time, each a deterministic 40 ms
sleep (long next to the ~1 ms of CPU a request costs, so its capacity, ~45-50 req/s, barely
moves with the machine's load); the capacity is measured first with a closed loop. A 5 req/s
pilot step comes first: its latencies are the service times the trend test's power (and so the
step sizing of the two judged steps) is simulated from.
"""

from __future__ import annotations

import asyncio

from scale_support import CASES

from aichaos.config import OpenAITargetConfig, parse_experiment
from aichaos.load import StepSpec, run_step
from aichaos.runner import EventBus, Runner
from aichaos.targets import build_target
from sleep_upstream import sleep_upstream


async def _capacity(url: str) -> float:
    target = build_target(OpenAITargetConfig(type="openai", base_url=url + "/v1", model="sleepy",
                                             stream=False))
    try:
        step = await run_step(target, ["x"], StepSpec(profile="closed", concurrency=8,
                                                      duration_s=3.0, warmup_s=0.5))
    finally:
        await target.aclose()
    return step.ok_rps


def test_08x_sustained_and_125x_overloaded_with_power_sized_steps() -> None:
    with sleep_upstream(base_s=0.04, exp_mean_s=0.0, capacity=2) as url:
        mu = asyncio.run(_capacity(url))
        rates = [5.0, round(0.8 * mu, 1), round(1.25 * mu, 1)]
        exp = parse_experiment({
            "title": "power", "runtime": {"seed": 5},
            "target": {"type": "openai", "base_url": url + "/v1", "model": "sleepy",
                       "stream": False, "timeout_s": 30},
            "layers": {"capability": {"enabled": False},
                       "scale": {"arrival": "poisson", "rates_rps": rates, "duration_s": 2.0,
                                 "max_duration_s": 16.0, "stop_at_saturation": False,
                                 # the 3x-p95 latency limit is set aside: at 0.8x a queue's
                                 # p95 rightly exceeds 3x the 5 req/s pilot's; this test is
                                 # about the two overload tests
                                 "latency_factor": 100,
                                 "peak_rps": rates[1]}}})
        outcome = asyncio.run(Runner(exp, EventBus(), cases=CASES).run())
    layer = outcome.scorecard.layers[6]
    _pilot, low, high = layer.details["sweep"]
    steps = [(r["offered_rps"], r["duration_s"], r["verdict"], round(r["power"], 3))
             for r in (low, high)]
    print(f"capacity {mu:.1f} req/s; steps (rate, s, verdict, power): {steps}")
    assert 36 < mu < 52
    for row in (low, high):  # sized from 2 s up, for 0.9 power, within the 16 s budget
        assert row["sizing"]["duration_s"] > 2.0 and row["sizing"]["power"] >= 0.9
        assert row["power"] >= 0.9
    assert low["verdict"] == "sustained" and not low["saturated"]
    assert high["verdict"] == "overloaded" and high["saturated"]
    sat = {c.name: c for c in layer.checks}["scale.saturation"]
    assert sat.passed and sat.decided  # capacity >= 0.8 mu for sure
    # capacity between the sustained and the overloaded step, from the overloaded step's
    # throughput (which may sit below the closed-loop figure: a server holding ~100 waiting
    # connections spends more per request than one holding 4)
    lo, hi = layer.metrics["sustained_capacity_ci_rps"]
    assert rates[1] <= lo <= layer.metrics["sustained_capacity_rps"] <= hi <= rates[2]
    assert layer.metrics["sustained_capacity_rps"] <= 1.15 * mu
