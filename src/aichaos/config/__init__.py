"""Experiment configuration: pydantic models and the validating loader."""

from aichaos.config._agents import (
    AgentTask,
    AgentTasks,
    McpServerSpec,
    McpToxicSpec,
    SuccessCheck,
    ToolEffect,
)
from aichaos.config._base import ScorerSpec, Strict
from aichaos.config._capability import CapabilityLayer
from aichaos.config._integration import IntegrationLayer, ToxicSpec
from aichaos.config._loader import load_experiment, parse_experiment
from aichaos.config._messages import format_validation_error
from aichaos.config._model import (
    Dependency,
    Experiment,
    HttpTargetConfig,
    Layers,
    MockTargetConfig,
    OpenAITargetConfig,
    PythonTargetConfig,
    ReportConfig,
    Runtime,
    Slos,
    SteadyStateHypothesis,
    StoreConfig,
    TargetConfig,
    Tolerance,
)
from aichaos.config._observability import ObservabilityLayer
from aichaos.config._resilience import InputResilienceLayer
from aichaos.config._resources import (
    ConversationProbeSpec,
    ResourceProbeSpec,
    StreamBudgets,
)
from aichaos.config._safety import JudgeConfig, PolicyRule, SafetyLayer
from aichaos.config._sampling import Budget, Confidence
from aichaos.config._scale import PriceSpec, ScaleLayer
from aichaos.config._system import (
    AuthCheck,
    BudgetCheck,
    CacheCheck,
    EscalationCheck,
    FailoverCheck,
    GatewayDecl,
    SideEffect,
    SystemChecks,
    SystemUser,
)
from aichaos.config._values import EnvValue

__all__ = [
    "AgentTask",
    "AgentTasks",
    "AuthCheck",
    "Budget",
    "BudgetCheck",
    "CacheCheck",
    "CapabilityLayer",
    "Confidence",
    "ConversationProbeSpec",
    "Dependency",
    "EnvValue",
    "EscalationCheck",
    "Experiment",
    "FailoverCheck",
    "GatewayDecl",
    "HttpTargetConfig",
    "InputResilienceLayer",
    "IntegrationLayer",
    "JudgeConfig",
    "Layers",
    "McpServerSpec",
    "McpToxicSpec",
    "MockTargetConfig",
    "ObservabilityLayer",
    "OpenAITargetConfig",
    "PolicyRule",
    "PriceSpec",
    "PythonTargetConfig",
    "ReportConfig",
    "ResourceProbeSpec",
    "Runtime",
    "SafetyLayer",
    "ScaleLayer",
    "ScorerSpec",
    "SideEffect",
    "Slos",
    "SteadyStateHypothesis",
    "StoreConfig",
    "StreamBudgets",
    "Strict",
    "SuccessCheck",
    "SystemChecks",
    "SystemUser",
    "TargetConfig",
    "Tolerance",
    "ToolEffect",
    "ToxicSpec",
    "format_validation_error",
    "load_experiment",
    "parse_experiment",
]
