"""Experiment configuration: pydantic models and the validating loader."""

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
from aichaos.config._safety import JudgeConfig, PolicyRule, SafetyLayer
from aichaos.config._sampling import Budget, Confidence
from aichaos.config._scale import PriceSpec, ScaleLayer
from aichaos.config._values import EnvValue

__all__ = [
    "Budget",
    "CapabilityLayer",
    "Confidence",
    "Dependency",
    "EnvValue",
    "Experiment",
    "HttpTargetConfig",
    "InputResilienceLayer",
    "IntegrationLayer",
    "JudgeConfig",
    "Layers",
    "MockTargetConfig",
    "ObservabilityLayer",
    "OpenAITargetConfig",
    "PolicyRule",
    "PriceSpec",
    "PythonTargetConfig",
    "ReportConfig",
    "Runtime",
    "SafetyLayer",
    "ScaleLayer",
    "ScorerSpec",
    "Slos",
    "SteadyStateHypothesis",
    "StoreConfig",
    "Strict",
    "TargetConfig",
    "Tolerance",
    "ToxicSpec",
    "format_validation_error",
    "load_experiment",
    "parse_experiment",
]
