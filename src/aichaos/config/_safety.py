"""Layer 4 configuration: safety and governance."""

from __future__ import annotations

from pydantic import Field

from aichaos.config._base import Strict


class SafetyLayer(Strict):
    """Layer 4: hallucination, prompt injection and leakage probes."""

    enabled: bool = True
    probes: list[str] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1)
