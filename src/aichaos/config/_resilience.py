"""Layer 2 configuration: input resilience."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from aichaos._thresholds import threshold
from aichaos.config._base import ScorerSpec, Strict

EQUIVALENCE_THRESHOLD = threshold("equivalence_cosine")
"""Default cosine similarity (all-MiniLM-L6-v2) at which two answers count as equivalent,
after the number/decision/abstention gates of :func:`aichaos.scoring.answers_equivalent`.

Fitted by ``benchmarks/fit_detectors.py`` on the calibration set
``tests/data/detectors/calibration/equivalence.yaml`` (best F1, then Youden's J) and read from
``aichaos/scoring/thresholds.json``; held-out figures in docs/safety.md.
"""


class InputResilienceLayer(Strict):
    """Layer 2: perturbations of the first ``limit`` golden prompts at each severity.

    Each selected case costs ``1 + len(perturbations) * len(severity)`` requests, plus one
    more when ``health_after`` is on; the default ``limit`` of 4 keeps a run of every
    perturbation at two severities near 280 requests.
    """

    enabled: bool = True
    perturbations: Literal["all"] | list[str] = "all"
    severity: list[Annotated[int, Field(ge=1, le=3)]] = Field(
        default_factory=lambda: [1, 3], min_length=1, description="severity levels, each 1..3"
    )
    limit: int | None = Field(4, ge=1, description="perturb only the first N golden cases")
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="constructor arguments per perturbation, e.g. {long_input: "
        "{context_tokens: 2048}}",
    )
    scorer: ScorerSpec = Field(
        default_factory=ScorerSpec, description="correctness scorer (a case's own scorer wins)"
    )
    pass_threshold: float = Field(0.5, ge=0, le=1, description="case passes at score >= this")
    equivalence_threshold: float = Field(
        EQUIVALENCE_THRESHOLD, ge=0, le=1,
        description="cosine similarity at which a perturbed answer equals the clean one",
    )
    transport: Literal["replace", "escape"] = Field(
        "replace", description="lone surrogates: U+FFFD (replace) or kept for JSON \\u escapes"
    )
    health_after: bool = Field(
        True, description="re-send the clean cases after the perturbations (did one kill it?)"
    )
    min_invariance: float = Field(0.8, ge=0, le=1, description="input_resilience.invariance")
    min_clarification: float = Field(
        0.8, ge=0, le=1, description="input_resilience.clarification"
    )
