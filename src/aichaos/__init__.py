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
