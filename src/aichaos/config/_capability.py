"""Layer 1 configuration: model capability."""

from __future__ import annotations

from pydantic import Field

from aichaos.config._base import ScorerSpec, Strict
from aichaos.config._sampling import Budget


class CapabilityLayer(Strict):
    """Layer 1: golden dataset scored for accuracy."""

    enabled: bool = True
    scorer: ScorerSpec = Field(default_factory=ScorerSpec)
    limit: int | None = Field(None, ge=1, description="use only the first N cases")
    pass_threshold: float = Field(0.5, ge=0, le=1, description="case passes at score >= this")
    budget: Budget | None = Field(None, description="sampling budget (runtime.confidence: "
                                  "decided); overrides runtime.budget")
