"""aichaos: chaos engineering and production-readiness scoring for AI systems.

The public surface, in one place (implementation modules are private)::

    import aichaos
    run = aichaos.run_experiment("experiment.yaml")  # store, reports, console attached
    print(run.outcome.scorecard.overall_grade, run.directory)

    # or the bare runner, with your own listeners on the bus
    experiment = aichaos.load_experiment("experiment.yaml")
    outcome = asyncio.run(aichaos.Runner(experiment, aichaos.EventBus()).run())

Components live in subpackages with their own public names (docs/architecture.md shows how
they stack): ``aichaos.config``, ``aichaos.results``, ``aichaos.dataset``,
``aichaos.targets``, ``aichaos.perturb``, ``aichaos.faults``, ``aichaos.scoring``,
``aichaos.proxy``, ``aichaos.load``, ``aichaos.telemetry``, ``aichaos.probes``,
``aichaos.store``, ``aichaos.report``, ``aichaos.runner``, ``aichaos.session``,
``aichaos.drift``. ``__all__`` is built from ``_LAZY`` below (one list of the public names);
the ``TYPE_CHECKING`` imports repeat them for type checkers, and a test checks both agree.
"""

import importlib
from typing import TYPE_CHECKING, Any

from aichaos._version import __version__

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load on first use
    from aichaos._events import (
        ActivityEnded,
        ActivityStarted,
        CaseObserved,
        CaseResult,
        CaseResumed,
        CaseSent,
        Event,
        EventBus,
        LoadProgressed,
        LoadStepFinished,
        ProxiesStarted,
        ReceiverStarted,
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
    from aichaos.results import (
        Check,
        FailingCase,
        Grade,
        Interval,
        LayerResult,
        Outcome,
        ReplaySpec,
        Scorecard,
    )
    from aichaos.runner import Runner, RunOutcome
    from aichaos.scoring import build_scorer, scorers
    from aichaos.session import ExperimentRun, run_experiment
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
    "CaseResumed": "aichaos._events",
    "CaseSent": "aichaos._events",
    "ChaosProxy": "aichaos.proxy",
    "Check": "aichaos.results",
    "ConfigError": "aichaos.errors",
    "DatasetError": "aichaos.errors",
    "Event": "aichaos._events",
    "EventBus": "aichaos._events",
    "Experiment": "aichaos.config",
    "ExperimentRun": "aichaos.session",
    "FailingCase": "aichaos.results",
    "Grade": "aichaos.results",
    "HttpTarget": "aichaos.targets",
    "Interval": "aichaos.results",
    "LayerResult": "aichaos.results",
    "LoadProgressed": "aichaos._events",
    "LoadStepFinished": "aichaos._events",
    "MockTarget": "aichaos.targets",
    "OpenAITarget": "aichaos.targets",
    "Outcome": "aichaos.results",
    "PluginError": "aichaos.errors",
    "ProxyClient": "aichaos.proxy",
    "ProxyError": "aichaos.errors",
    "PythonTarget": "aichaos.targets",
    "ProxiesStarted": "aichaos._events",
    "ReceiverStarted": "aichaos._events",
    "ReplaySpec": "aichaos.results",
    "ResultStore": "aichaos.store",
    "RollbackError": "aichaos.errors",
    "RunEnded": "aichaos._events",
    "RunOutcome": "aichaos.runner",
    "RunStarted": "aichaos._events",
    "Runner": "aichaos.runner",
    "Scorecard": "aichaos.results",
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
    "run_experiment": "aichaos.session",
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


#: the public names: every lazily loaded one, and the version
__all__ = sorted([*_LAZY, "__version__"])
