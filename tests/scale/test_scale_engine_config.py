"""``layers.scale.engine`` / ``workers`` / ``ray_address``: validation, the local engine's
report, and the engine options in a failing step's reproduction line (no Ray started)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scale_support import CASES, CapacityTarget, experiment

from aichaos.config import ScaleLayer
from aichaos.errors import ConfigError
from aichaos.probes import SuiteContext
from aichaos.probes import _scale_engine as scale_engine
from aichaos.probes._scale import ScaleSuite
from aichaos.runner import EventBus, Runner


def test_ray_options_without_engine_ray_are_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"layers\.scale.*ray_address only apply with "
                                          r"engine: ray \(engine is 'local'\)"):
        experiment({"ray_address": "head:6379"})
    with pytest.raises(ConfigError, match=r"layers\.scale\.engine.*'local' or 'ray'"):
        experiment({"engine": "spark"})
    with pytest.raises(ConfigError, match=r"layers\.scale\.workers.*greater than or equal to 1"):
        experiment({"engine": "ray", "workers": 0})
    layer = experiment({"engine": "ray", "workers": 3, "ray_address": "ray://head:10001"})
    assert layer.layers.scale.workers == 3


def test_engine_ray_without_ray_installed_fails_validation(monkeypatch: Any) -> None:
    monkeypatch.setattr(scale_engine.importlib.util, "find_spec",
                        lambda name: None if name == "ray" else object())
    exp = experiment({"engine": "ray"})
    with pytest.raises(ConfigError, match=r"layers\.scale\.engine: ray needs Ray installed"):
        ScaleSuite(exp.layers.scale).validate(exp, CASES)
    ScaleSuite(experiment({}).layers.scale).validate(exp, CASES)  # local needs nothing


def test_the_local_engine_is_named_in_details_and_metrics() -> None:
    exp = experiment({"rates_rps": [20], "duration_s": 0.5})
    outcome = asyncio.run(Runner(exp, EventBus(), target=CapacityTarget(0.01, 4),
                                 cases=CASES).run())
    layer = outcome.scorecard.layers[6]
    assert layer.details["engine"] == {"name": "local", "workers": 1}
    assert layer.metrics["load_engine"] == "local"
    lo, hi = layer.metrics["achieved_rps_ci"]
    assert lo < layer.metrics["achieved_rps"] < hi


class _OpenAILike(CapacityTarget):
    def describe(self) -> dict[str, Any]:
        return {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m",
                "max_tokens": 8}


def test_a_saturated_steps_reproduction_carries_the_engine_options(monkeypatch: Any) -> None:
    assert scale_engine.engine_flags(ScaleLayer()) == ""
    ray = ScaleLayer(engine="ray", workers=3, ray_address="head:6379")
    assert scale_engine.engine_flags(ray) == " --engine ray --workers 3 --ray-address head:6379"
    # the steps run locally here (no Ray): only the reproduction line is under test
    monkeypatch.setattr("aichaos.probes._scale.scale_engine", lambda layer, target: None)
    exp = experiment({"rates_rps": [40], "duration_s": 0.5, "engine": "ray", "workers": 3,
                      "ray_address": "head:6379"})
    ctx = SuiteContext("run", exp, _OpenAILike(0.1, 1), CASES, EventBus(), seed=7)
    layer = asyncio.run(ScaleSuite(exp.layers.scale).run(ctx))
    (case,) = [f for f in layer.failing if f.case_id == "load-step-1"]
    assert case.reason.startswith("saturated: throughput")
    assert case.reproduce.startswith("aichaos load run http://127.0.0.1:9/v1 --mode openai")
    assert case.reproduce.endswith(" --rate 40 --duration 0.5 --warmup 0 --seed 7 --engine ray "
                                   "--workers 3 --ray-address head:6379")
