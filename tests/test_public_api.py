"""The curated public surface: a change to it is deliberate, and every exported name works."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import aichaos

PUBLIC = [
    "TOXICS", "AIChaosError", "ActivityEnded", "ActivityStarted", "Case", "CaseObserved",
    "CaseResult", "CaseSent", "ChaosProxy", "Check", "ConfigError", "DatasetError", "Event",
    "EventBus", "Experiment", "FailingCase", "HttpTarget", "LayerResult", "MockTarget",
    "OpenAITarget", "PluginError", "ProxyClient", "ProxyError", "PythonTarget", "ResultStore",
    "RollbackError", "RunEnded", "RunOutcome", "RunStarted", "Runner", "Scorecard",
    "StoreError", "Target", "TargetError", "TargetRequest", "TargetResponse",
    "TargetUnreachable", "ToxicApplied", "ToxicRemoved", "__version__", "build_perturbations",
    "build_scorer", "build_target", "build_toxic", "load_dataset", "load_experiment",
    "parse_experiment", "perturbations", "scorers", "suites",
]

PACKAGES = sorted(m.name for m in pkgutil.iter_modules(aichaos.__path__, "aichaos.")
                  if m.ispkg and not m.name.rsplit(".", 1)[1].startswith("_"))


def test_top_level_surface_is_exactly_the_curated_list() -> None:
    assert aichaos.__all__ == PUBLIC


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_and_is_listed_once(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    assert exported, f"{package} has no __all__"
    assert len(exported) == len(set(exported))
    for name in exported:
        assert hasattr(module, name), f"{package}.{name} is exported but missing"


def test_the_packages_are_the_documented_components() -> None:
    assert {p.removeprefix("aichaos.") for p in PACKAGES} >= {
        "cli", "config", "dataset", "demo", "drift", "faults", "load", "perturb", "probes",
        "proxy", "report", "runner", "scoring", "store", "targets", "telemetry"}


def test_every_layer_has_a_registered_suite() -> None:
    assert set(aichaos.suites.names()) == {"capability", "input_resilience", "integration",
                                           "safety", "observability", "scale"}
