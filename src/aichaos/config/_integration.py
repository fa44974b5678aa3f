"""Layer 3 configuration: integration reliability (toxics per dependency)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from aichaos.config._agents import AgentTasks
from aichaos.config._base import ScorerSpec, Strict
from aichaos.config._resources import StreamBudgets

#: Case-insensitive regexes recognising a graceful fallback answer ("sorry, the assistant is
#: temporarily unavailable, please try again later"). Sources: the wording of the degraded-
#: mode messages of the OpenAI, Anthropic and Azure status pages and of common chat UIs.
DEFAULT_FALLBACK_PATTERNS = (
    r"\bsorry\b",
    r"try again later",
    r"please try again",
    r"temporarily unavailable",
    r"(?:currently|temporarily) (?:busy|overloaded|down)",
    r"(?:can ?not|can't|could not|couldn't|unable to) (?:answer|respond|complete|process)"
    r" (?:right now|at the moment|your request)",
)


class ToxicSpec(Strict):
    """A Toxiproxy-shaped toxic bound to one dependency.

    Attributes:
        dependency: name of an entry of the experiment's ``dependencies``.
        type: registered toxic type (``aichaos proxy toxic types``).
        name: toxic name (default ``<type>_<stream>``, as Toxiproxy); also the variant name
            of the cases sent under it.
        stream: ``downstream`` acts on responses, ``upstream`` on requests.
        toxicity: per-request probability that the toxic fires (0 never, 1 always).
        attributes: type-specific attributes (units in ``docs/proxy.md``).
        fallback: another dependency that should take the traffic while this toxic fires
            (failover, scenario S03); the suite checks it saw requests.
        tags: send under this toxic only the golden cases carrying one of these tags (the
            cases that need its dependency, e.g. ``[order-status]`` for a CRM fault), up to
            the layer's ``limit``; empty: the layer's first ``limit`` cases.
    """

    dependency: str
    type: str
    name: str | None = None
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(1.0, ge=0.0, le=1.0)
    attributes: dict[str, Any] = Field(default_factory=dict)
    fallback: str | None = Field(
        None, description="dependency expected to receive traffic while this toxic fires")
    tags: list[str] = Field(
        default_factory=list, description="only cases with one of these tags (those that "
        "need this dependency); empty: the layer's first `limit` cases")

    def proxy_spec(self, name: str) -> dict[str, Any]:
        """The Toxiproxy-shaped mapping the chaos proxy takes, named ``name``."""
        return {"name": name, "type": self.type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": dict(self.attributes)}


class IntegrationLayer(Strict):
    """Layer 3: faults injected by the chaos proxy into each dependency.

    Attributes:
        toxics: the faults, applied one at a time.
        limit: golden cases sent per phase (control, fault, recovery); all when None.
        scorer: how a correct answer is recognised (as layer 1).
        pass_threshold: a case passes at scorer value >= this.
        fallback_patterns: case-insensitive regexes; a 2xx answer matching one (and not
            passing the scorer) is a graceful fallback.
        timeout_s: a request with no answer after this many seconds is a hang (seconds).
        recovery_timeout_s: after a toxic is removed, how long to keep probing for the first
            correct answer before declaring the target not recovered (seconds).
        recovery_interval_s: pause between recovery probes once the first pass failed (s).
        control: send the cases once without any toxic first (the control group).
        min_success_rate: per-toxic success rate (correct + fallback) the checks require.
        max_retry_amplification: upstream calls per request under fault, relative to the
            control group, above which the amplification check fails (retry storm).
        agents: agent tasks under MCP toxics vs a control group (:mod:`aichaos.agents`).
    """

    enabled: bool = True
    toxics: list[ToxicSpec] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1)
    scorer: ScorerSpec = Field(default_factory=ScorerSpec)
    pass_threshold: float = Field(0.5, ge=0, le=1, description="case passes at score >= this")
    fallback_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FALLBACK_PATTERNS),
        description="regexes (case-insensitive) recognising a graceful fallback answer")
    timeout_s: float = Field(30.0, gt=0, description="no answer after this long is a hang, s")
    recovery_timeout_s: float = Field(
        10.0, ge=0, description="how long to wait for the first success after removal, s")
    recovery_interval_s: float = Field(0.25, gt=0, description="pause between recovery probes")
    control: bool = Field(True, description="send the cases without any toxic first")
    min_success_rate: float = Field(0.9, ge=0, le=1)
    max_retry_amplification: float = Field(4.0, ge=1)
    agents: AgentTasks | None = Field(None, description="agent tasks under MCP toxics")
    stream_budgets: StreamBudgets | None = Field(
        None, description="declared TTFT / idle / total budgets the stream probe checks")

    @field_validator("fallback_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for i, pattern in enumerate(value):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"fallback_patterns[{i}]: invalid regex {pattern!r}: {exc}"
                                 ) from exc
        return value
