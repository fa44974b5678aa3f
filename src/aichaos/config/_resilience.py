"""Layer 2 configuration: input resilience."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aichaos.config._base import Strict


class InputResilienceLayer(Strict):
    """Layer 2: perturbations of every golden prompt."""

    enabled: bool = True
    perturbations: Literal["all"] | list[str] = "all"
    severity: list[int] = Field(default_factory=lambda: [1, 3])
    limit: int | None = Field(None, ge=1)
