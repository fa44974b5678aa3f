"""Layer 3 configuration: integration reliability (toxics per dependency)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from aichaos.config._base import Strict


class ToxicSpec(Strict):
    """A Toxiproxy-shaped toxic bound to one dependency."""

    dependency: str
    type: str
    name: str | None = None
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(1.0, ge=0.0, le=1.0)
    attributes: dict[str, Any] = Field(default_factory=dict)


class IntegrationLayer(Strict):
    """Layer 3: faults injected by the chaos proxy into each dependency."""

    enabled: bool = True
    toxics: list[ToxicSpec] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1)
