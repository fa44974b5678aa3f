"""The experiment runner: lifecycle, events and journal."""

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
    "RunEnded",
    "RunOutcome",
    "RunStarted",
    "Runner",
    "ToxicApplied",
    "ToxicRemoved",
    "build_suites",
    "new_run_id",
    "validate_suites",
]
