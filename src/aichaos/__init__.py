"""aichaos: chaos engineering and production-readiness scoring for AI systems.

The public surface, in one place (implementation modules are private)::

    import aichaos
    experiment = aichaos.load_experiment("experiment.yaml")
    outcome = asyncio.run(aichaos.Runner(experiment, aichaos.EventBus()).run())
    print(outcome.scorecard.overall_grade)

Components live in subpackages with their own public names: ``aichaos.config``,
``aichaos.targets``, ``aichaos.perturb``, ``aichaos.faults``, ``aichaos.proxy``,
``aichaos.probes``, ``aichaos.scoring``, ``aichaos.load``, ``aichaos.telemetry``,
``aichaos.drift``, ``aichaos.store``, ``aichaos.report``, ``aichaos.runner``.
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load on first use
    from aichaos._events import (
        ActivityEnded,
        ActivityStarted,
        CaseObserved,
        CaseResult,
        CaseSent,
        Event,
        EventBus,
        RunEnded,
        RunStarted,
        ToxicApplied,
        ToxicRemoved,
    )
    from aichaos.config import Experiment, load_experiment, parse_experiment
    from aichaos.dataset import Case, load_dataset
    from aichaos.errors import (
        AIChaosError,
        ConfigError,
        DatasetError,
        PluginError,
        ProxyError,
        RollbackError,
        StoreError,
        TargetError,
        TargetUnreachable,
    )
    from aichaos.faults import TOXICS, build_toxic
    from aichaos.perturb import build_perturbations, perturbations
    from aichaos.probes import suites
    from aichaos.proxy import ChaosProxy, ProxyClient
    from aichaos.report import Check, FailingCase, LayerResult, Scorecard
    from aichaos.runner import Runner, RunOutcome
    from aichaos.scoring import build_scorer, scorers
    from aichaos.store import ResultStore
    from aichaos.targets import (
        HttpTarget,
        MockTarget,
        OpenAITarget,
        PythonTarget,
        Target,
        TargetRequest,
        TargetResponse,
        build_target,
    )

#: public name -> module that defines it; importing ``aichaos`` stays cheap (the chaos proxy
#: process, for one, should not pay for numpy and SQLAlchemy it never uses)
_LAZY: dict[str, str] = {
    "AIChaosError": "aichaos.errors",
    "ActivityEnded": "aichaos._events",
    "ActivityStarted": "aichaos._events",
    "Case": "aichaos.dataset",
    "CaseObserved": "aichaos._events",
    "CaseResult": "aichaos._events",
    "CaseSent": "aichaos._events",
    "ChaosProxy": "aichaos.proxy",
    "Check": "aichaos.report",
    "ConfigError": "aichaos.errors",
    "DatasetError": "aichaos.errors",
    "Event": "aichaos._events",
    "EventBus": "aichaos._events",
    "Experiment": "aichaos.config",
    "FailingCase": "aichaos.report",
    "HttpTarget": "aichaos.targets",
    "LayerResult": "aichaos.report",
    "MockTarget": "aichaos.targets",
    "OpenAITarget": "aichaos.targets",
    "PluginError": "aichaos.errors",
    "ProxyClient": "aichaos.proxy",
    "ProxyError": "aichaos.errors",
    "PythonTarget": "aichaos.targets",
    "ResultStore": "aichaos.store",
    "RollbackError": "aichaos.errors",
    "RunEnded": "aichaos._events",
    "RunOutcome": "aichaos.runner",
    "RunStarted": "aichaos._events",
    "Runner": "aichaos.runner",
    "Scorecard": "aichaos.report",
    "StoreError": "aichaos.errors",
    "TOXICS": "aichaos.faults",
    "Target": "aichaos.targets",
    "TargetError": "aichaos.errors",
    "TargetRequest": "aichaos.targets",
    "TargetResponse": "aichaos.targets",
    "TargetUnreachable": "aichaos.errors",
    "ToxicApplied": "aichaos._events",
    "ToxicRemoved": "aichaos._events",
    "build_perturbations": "aichaos.perturb",
    "build_scorer": "aichaos.scoring",
    "build_target": "aichaos.targets",
    "build_toxic": "aichaos.faults",
    "load_dataset": "aichaos.dataset",
    "load_experiment": "aichaos.config",
    "parse_experiment": "aichaos.config",
    "perturbations": "aichaos.perturb",
    "scorers": "aichaos.scoring",
    "suites": "aichaos.probes",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its component on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aichaos' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "TOXICS",
    "AIChaosError",
    "ActivityEnded",
    "ActivityStarted",
    "Case",
    "CaseObserved",
    "CaseResult",
    "CaseSent",
    "ChaosProxy",
    "Check",
    "ConfigError",
    "DatasetError",
    "Event",
    "EventBus",
    "Experiment",
    "FailingCase",
    "HttpTarget",
    "LayerResult",
    "MockTarget",
    "OpenAITarget",
    "PluginError",
    "ProxyClient",
    "ProxyError",
    "PythonTarget",
    "ResultStore",
    "RollbackError",
    "RunEnded",
    "RunOutcome",
    "RunStarted",
    "Runner",
    "Scorecard",
    "StoreError",
    "Target",
    "TargetError",
    "TargetRequest",
    "TargetResponse",
    "TargetUnreachable",
    "ToxicApplied",
    "ToxicRemoved",
    "__version__",
    "build_perturbations",
    "build_scorer",
    "build_target",
    "build_toxic",
    "load_dataset",
    "load_experiment",
    "parse_experiment",
    "perturbations",
    "scorers",
    "suites",
]
