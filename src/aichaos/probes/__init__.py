"""Probe suites, one per layer of the AI Production Readiness Stack."""

from aichaos.config._safety import safety_probes
from aichaos.probes import (  # noqa: F401 - each module registers its layer's suite
    _integration,
    _observability,
    _resilience,
    _safety,
    _scale,
)
from aichaos.probes._base import (
    MIN_FIRM_SAMPLE,
    PlannedCase,
    ProbeSuite,
    RunAborted,
    SuiteContext,
    suites,
)
from aichaos.probes._capability import CapabilitySuite
from aichaos.probes._observability import ObservabilitySuite, ReceiverStarted
from aichaos.probes._resilience import InputResilienceSuite
from aichaos.probes._safety import SafetySuite
from aichaos.probes._safety_cases import Finding, SafetyItem
from aichaos.probes._safety_probes import (
    FAMILIES,
    ProbeEnv,
    ProbeMetric,
    SafetyProbe,
    safety_probe,
)
from aichaos.probes._scale import LoadProgressed, LoadStepFinished, ScaleSuite, SuiteInterrupted
from aichaos.probes._summary import failing_cases, latency_metrics, reproduce_command

__all__ = [
    "FAMILIES",
    "MIN_FIRM_SAMPLE",
    "CapabilitySuite",
    "Finding",
    "InputResilienceSuite",
    "LoadProgressed",
    "LoadStepFinished",
    "ObservabilitySuite",
    "PlannedCase",
    "ProbeEnv",
    "ProbeMetric",
    "ProbeSuite",
    "ReceiverStarted",
    "RunAborted",
    "SafetyItem",
    "SafetyProbe",
    "SafetySuite",
    "ScaleSuite",
    "SuiteContext",
    "SuiteInterrupted",
    "failing_cases",
    "latency_metrics",
    "reproduce_command",
    "safety_probe",
    "safety_probes",
    "suites",
]
