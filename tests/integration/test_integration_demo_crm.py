"""The demo's CRM fault fires: layer 3 sends the order-status cases under ``crm-500``.

Before issue 12 the bundled experiment sent the first two golden cases (refund questions)
under every toxic, so the CRM fault never fired ("crm saw 0 calls") and layer 3's CRM verdict
was never exercised. The demo stack runs for real here (model server, CRM, both app profiles,
the chaos proxy started by the runner); only the hardened profile and the bundled
experiment's CRM toxic, as written in ``demo/experiment.yaml``, on one case, to keep the
test short (the tag selection's victim and twin are in test_integration_cases.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from aichaos.demo import free_port
from aichaos.demo._run import demo_experiment
from aichaos.demo._stack import DemoStack
from aichaos.runner import EventBus, Runner

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(llm_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with DemoStack(llm_url=llm_server, profiles=["hardened"],
                   work_dir=tmp_path_factory.mktemp("stack")) as s:
        yield s


def test_every_declared_dependency_has_a_fault_in_the_bundled_experiment(
        stack: DemoStack) -> None:
    exp = demo_experiment(stack, "hardened", quick=False, otlp_listen="127.0.0.1:1")
    assert exp.layers.integration is not None
    faulted = {t.dependency for t in exp.layers.integration.toxics}
    assert faulted == set(exp.dependencies) == {"llm_provider", "crm"}


def test_the_crm_fault_fires_on_the_demo_stack(stack: DemoStack) -> None:
    profile = "hardened"
    exp = demo_experiment(stack, profile, quick=False, otlp_listen=f"127.0.0.1:{free_port()}")
    layers = exp.layers
    assert layers.integration is not None
    [crm] = [t for t in layers.integration.toxics if t.dependency == "crm"]
    assert crm.tags == ["order-status"]
    layers.integration.toxics = [crm]
    layers.integration.limit = 1
    layers.capability = layers.input_resilience = layers.safety = None
    layers.observability = layers.scale = None
    exp.steady_state_hypothesis = None
    outcome = asyncio.run(Runner(exp, EventBus()).run())
    assert outcome.journal["status"] == "completed"
    layer = outcome.scorecard.layers[3]
    row = layer.metrics["per_toxic"]["crm-500"]
    print(f"\n{profile}: crm-500 fired {row['fired']}x, crm saw {row['upstream_calls']} calls, "
          f"outcomes {row['outcomes']}, score {row['score']} "
          f"[{row.get('score_ci_low')}, {row.get('score_ci_high')}]")
    assert row["exercised"] is True and row["fired"] >= 1 and row["upstream_calls"] >= 1
    assert all(c.startswith("order-status-") for c in row["case_scores"])
    checks = {c.name: c for c in layer.checks}
    assert "integration.crm-500.exercised" not in checks
    sr = checks["integration.crm-500.success_rate"]
    # the hardened app says it cannot look the order up right now
    assert row["outcomes"]["fallback"] == 1 and sr.passed is True
    assert sr.interval is not None and sr.interval.n == 1
