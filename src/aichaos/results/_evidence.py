"""What one verdict rests on: a request's outcome, an interval, and how to replay a case.

These types are designed for the verdict work (outcome semantics, intervals on every score);
a field that a layer does not compute yet stays None ("not computed"), never a made-up value.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What one request observably did (one shared vocabulary across layers).

    * ``correct``: the layer's scorer passed (or the answer is equivalent to the control one).
    * ``degraded``: a declared or detected fallback or abstention: useful, not the answer.
    * ``clean_error``: an explicit, well-formed error; nothing partial presented as complete.
    * ``silent_failure``: 2xx with empty, partial, wrong or error text presented as complete.
    * ``hang``: no answer within the timeout.
    * ``crash``: 5xx with no useful message, a reset connection, a traceback.
    """

    CORRECT = "correct"
    DEGRADED = "degraded"
    CLEAN_ERROR = "clean_error"
    SILENT_FAILURE = "silent_failure"
    HANG = "hang"
    CRASH = "crash"


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval on a measured value (same unit as the value).

    Attributes:
        low, high: the interval's ends.
        method: how it was computed, e.g. ``wilson`` (Wilson 1927) or ``exact`` for a
            deterministic check that has no sampling error.
        level: confidence level, e.g. 0.95 (1.0 for ``exact``).
        n: independent units (cases) the interval rests on; None when not applicable.
    """

    low: float
    high: float
    method: str
    level: float = 0.95
    n: int | None = None

    def excludes(self, threshold: float) -> bool:
        """True when ``threshold`` lies outside the interval (the check is decided)."""
        return threshold < self.low or threshold > self.high


@dataclass(frozen=True, slots=True)
class ReplaySpec:
    """Everything needed to re-send one stored case under the condition that shaped it.

    Attributes:
        run_id: the stored run.
        case_id: the golden or generated case id.
        variant: ``clean``, a perturbation ``name@severity``, a toxic name, a probe name.
        layer: 1..6 (0 for steady-state checks).
        spec: the plugin's recorded ``(name, arguments)`` as a dict, when one shaped the case.
        results_dir: the results directory when it is not the default one.
    """

    run_id: str
    case_id: str
    variant: str = "clean"
    layer: int = 0
    spec: dict[str, Any] = field(default_factory=dict)
    results_dir: str | None = None

    def command(self) -> str:
        """The ``aichaos replay`` command line that re-sends this case."""
        parts = ["aichaos", "replay", self.run_id, "--case", self.case_id,
                 "--variant", self.variant]
        if self.results_dir:
            parts += ["--results", self.results_dir]
        return shlex.join(parts)
