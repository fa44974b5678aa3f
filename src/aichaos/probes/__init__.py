"""Probe suites, one per layer of the AI Production Readiness Stack."""

from aichaos._events import LoadProgressed, LoadStepFinished, ReceiverStarted
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
from aichaos.probes._context import UpstreamObserver, context_check, run_context_probe
from aichaos.probes._conversation import conversation_check, run_conversations
from aichaos.probes._observability import ObservabilitySuite
from aichaos.probes._resilience import InputResilienceSuite
from aichaos.probes._resources import (
    GrowthFit,
    PidSource,
    PrometheusSource,
    ResourceReport,
    measure_resources,
    resource_checks,
)
from aichaos.probes._resume import RESUMABLE_LAYERS, StoredCases
from aichaos.probes._safety import SafetySuite
from aichaos.probes._safety_cases import Finding, SafetyItem
from aichaos.probes._safety_probes import (
    FAMILIES,
    ProbeEnv,
    ProbeMetric,
    SafetyProbe,
    safety_probe,
)
from aichaos.probes._safety_replay import SafetyReplay, replay_safety_case
from aichaos.probes._scale import ScaleSuite, SuiteInterrupted
from aichaos.probes._streams import StreamTrial, run_stream_trials, stream_checks
from aichaos.probes._summary import failing_cases, latency_metrics, reproduce_command

__all__ = [
    "FAMILIES",
    "MIN_FIRM_SAMPLE",
    "RESUMABLE_LAYERS",
    "CapabilitySuite",
    "Finding",
    "GrowthFit",
    "InputResilienceSuite",
    "LoadProgressed",
    "LoadStepFinished",
    "ObservabilitySuite",
    "PidSource",
    "PlannedCase",
    "ProbeEnv",
    "ProbeMetric",
    "ProbeSuite",
    "PrometheusSource",
    "ReceiverStarted",
    "ResourceReport",
    "RunAborted",
    "SafetyItem",
    "SafetyProbe",
    "SafetyReplay",
    "SafetySuite",
    "ScaleSuite",
    "StoredCases",
    "StreamTrial",
    "SuiteContext",
    "SuiteInterrupted",
    "UpstreamObserver",
    "context_check",
    "conversation_check",
    "failing_cases",
    "latency_metrics",
    "measure_resources",
    "replay_safety_case",
    "reproduce_command",
    "resource_checks",
    "run_context_probe",
    "run_conversations",
    "run_stream_trials",
    "safety_probe",
    "safety_probes",
    "stream_checks",
    "suites",
]
