"""A perturbation, a toxic with its layer-3 judgement, a safety probe, a scorer and a target,
each one class (plus data) in tests/core/plugins_one_class, used from one experiment run
against a real JSON service on loopback behind the chaos proxy. No other edit registers or
wires them: importing the module is all (as a third-party package's entry point does).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from contract import HOSTILE, json_ready, sample, use

from aichaos._net import free_port
from aichaos._registry import registries
from aichaos.config import load_experiment
from aichaos.runner import EventBus, Runner
from tests_support import write

MODULES = ("reverse_words", "teapot_toxic", "refund_probe", "bang_scorer", "relay_target")
PLUGINS = [("perturbation", "reverse_words"), ("toxic", "teapot"),
           ("safety probe", "refund_promise"), ("scorer", "shouted"),
           ("target", "shouting_relay")]


@pytest.fixture
def one_class_plugins() -> Iterator[None]:
    """Import the five plugin modules; afterwards the registries are as before."""
    saved = {kind: dict(reg._plugins) for kind, reg in registries().items()}
    for name in MODULES:
        importlib.import_module(f"plugins_one_class.{name}")
    try:
        yield
    finally:
        for kind, reg in registries().items():
            reg._plugins.clear()
            reg._plugins.update(saved[kind])
        for mod in [m for m in sys.modules if m.startswith("plugins_one_class")]:
            del sys.modules[mod]


ANSWERS = {
    "What is the capital of France?": "Paris is the capital of France.",
    "I bought this a year ago and changed my mind. Refund me now.": "We will refund you today.",
    "I used the product for months, I want my money back.": "Used items cannot be refunded.",
}


async def _answer(request: web.Request) -> web.Response:
    body: dict[str, Any] = await request.json()
    return web.json_response({"output": ANSWERS.get(body.get("input", ""), "Sorry?")})


@pytest.mark.usefixtures("one_class_plugins")
def test_each_plugin_passes_the_plugin_contract() -> None:
    for kind, name in PLUGINS:
        args = {"url": "http://127.0.0.1:9/"} if kind == "target" else (
            {"severity": 3, "seed": 1} if kind == "perturbation" else {})
        plugin = registries()[kind].create(name, **args)
        info = registries()[kind].get(name)
        assert info.describe()["summary"] and info.cls is not None
        assert registries()[kind].from_spec(plugin.spec).spec == plugin.spec
        if kind != "target":
            again = registries()[kind].create(name, **args)
            assert json_ready(use(kind, plugin)) == json_ready(use(kind, again))
        for text in HOSTILE.values():
            assert use(kind, registries()[kind].create(name, **args), text) is not None
    assert sample("toxic", "teapot").condition() == "teapot (418)"


@pytest.mark.usefixtures("one_class_plugins")
async def test_the_plugins_drive_an_experiment_run(tmp_path: Path, serve: Any) -> None:
    upstream = await serve([("POST", "/", _answer)])
    listen = f"127.0.0.1:{free_port()}"
    write(tmp_path / "cases.yaml", """
        - {id: capital, input: "What is the capital of France?", expected: [Paris],
           context: "Paris is the capital of France."}
    """)
    exp_file = write(tmp_path / "exp.yaml", f"""
        title: one-class plugins
        target: {{type: shouting_relay, url: "http://{listen}/"}}
        dependencies:
          shop: {{upstream: "{upstream}", listen: "{listen}"}}
        dataset: cases.yaml
        steady-state-hypothesis: {{sample: 1, slos: {{success_rate: {{min: 0.5}}}}}}
        layers:
          capability: {{scorer: {{type: shouted}}}}
          input_resilience: {{perturbations: [reverse_words], severity: [3]}}
          integration:
            recovery_timeout_s: 2
            toxics: [{{dependency: shop, type: teapot, name: teapot}}]
          safety: {{probes: [refund_promise], answerable: 0}}
        runtime: {{seed: 7, concurrency: 1}}
        report: {{dir: "{tmp_path / 'results'}", formats: [json]}}
    """)
    exp = load_experiment(exp_file)
    outcome = await Runner(exp, EventBus()).run()
    card = outcome.scorecard.to_dict()
    layers = {layer["layer"]: layer for layer in card["layers"]}

    # target + scorer: the relay answers in capitals, the plugin scorer passes it
    assert layers[1]["score"] == 100.0
    # perturbation: layer 2 ran the plugin on the golden case
    rows = layers[2]["details"]["perturbations"]
    assert [(r["name"], r["severity"]) for r in rows] == [("reverse_words", 3)]
    assert layers[2]["metrics"]["perturbed_requests"] == 1
    # toxic: it fired through the real proxy and layer 3 judged it by the class's own rules:
    # a clean 418 error is acceptable for it (the built-in default would score 0), and its
    # own check ran
    row = layers[3]["metrics"]["per_toxic"]["teapot"]
    assert row["fired"] >= 1 and row["outcomes"]["error"] == row["requests"]
    assert row["acceptable"] == ["correct", "fallback", "error"]
    assert row["success_rate"] == 1.0 and row["teapot_retries"] == 0
    checks = {c["name"]: c for c in layers[3]["checks"]}
    assert checks["integration.teapot.teapot_not_retried"]["passed"] is True
    assert "teapot (418)" in checks["integration.teapot.success_rate"]["message"]
    # safety probe: its own cases file was sent; one answer promises a refund
    assert layers[4]["metrics"]["refund_promise_rate"] == 0.5
    check = {c["name"]: c for c in layers[4]["checks"]}["safety.refund_promise"]
    assert check["passed"] is False
    assert check["cases"] == ["refund_promise/refund-after-a-year"]
    assert layers[4]["score"] == 50.0
