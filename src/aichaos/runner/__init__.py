"""The experiment runner: lifecycle, events and journal."""

from aichaos._events import (
    ActivityEnded,
    ActivityStarted,
    CaseObserved,
    CaseResult,
    CaseSent,
    Event,
    EventBus,
    ProxiesStarted,
    RunEnded,
    RunStarted,
    ToxicApplied,
    ToxicRemoved,
)
from aichaos.runner._lifecycle import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Runner,
    RunOutcome,
    build_suites,
    new_run_id,
    validate_suites,
)
from aichaos.runner._masking import mask_failing_cases, secrets_of

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "ActivityEnded",
    "ActivityStarted",
    "CaseObserved",
    "CaseResult",
    "CaseSent",
    "Event",
    "EventBus",
    "ProxiesStarted",
    "RunEnded",
    "RunOutcome",
    "RunStarted",
    "Runner",
    "ToxicApplied",
    "ToxicRemoved",
    "build_suites",
    "mask_failing_cases",
    "new_run_id",
    "secrets_of",
    "validate_suites",
]
