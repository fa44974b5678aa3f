"""Typed events published by the runner; stores, reports and the console only listen.

In the manner of Locust's ``events``: the runner does not know who listens. Listeners are
plain callables run synchronously in publish order; an exception in a listener propagates
(a results store that cannot write must stop the run, not lose data silently).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar


@dataclass(slots=True)
class CaseResult:
    """One observation: a case sent to the target under one condition, and what came back.

    Attributes:
        run_id: the run this belongs to.
        layer: readiness-stack layer (1..6); 0 for steady-state hypothesis checks.
        suite: probe suite name (``capability``, ``steady_state.before``, ...).
        case_id: golden case id.
        variant: the condition that shaped the case: ``clean``, a perturbation
            ``name@severity``, or a toxic name.
        input: the text sent (possibly perturbed).
        expected: expected answer(s) from the dataset, or None.
        output: the answer text.
        passed: verdict of the case's scorer; None when not scored.
        score: 0..1 score from the scorer, or None.
        scores: every scorer's 0..1 score by name.
        error_class: None or one of ``aichaos.targets.ERROR_CLASSES``.
        error: one-line error text (no secrets).
        status: HTTP status or None.
        e2e_s, ttft_s: latencies, seconds.
        input_tokens, output_tokens: usage tokens, or None when not reported.
        finish_reason: provider finish_reason.
        seed: the seed that made this case (perturbation, toxic sampling).
        metadata: extra labels (lineage of a perturbation, toxic counters).
        timestamp: wall-clock time the observation was made, Unix seconds.
    """

    run_id: str
    layer: int
    suite: str
    case_id: str
    variant: str
    input: str
    expected: Any
    output: str
    passed: bool | None
    score: float | None
    scores: dict[str, float] = field(default_factory=dict)
    error_class: str | None = None
    error: str | None = None
    status: int | None = None
    e2e_s: float | None = None
    ttft_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    seed: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)


@dataclass(slots=True)
class Event:
    """Base class of every runner event."""


@dataclass(slots=True)
class RunStarted(Event):
    """A run began. ``resumed``: it continues an interrupted run under the same ``run_id``
    (``aichaos run --resume``), so its row already exists in the store."""

    run_id: str
    title: str
    seed: int
    experiment: dict[str, Any]
    resumed: bool = False


@dataclass(slots=True)
class ActivityStarted(Event):
    """A journal step began (``steady-state-hypothesis``, a layer suite, a rollback)."""

    run_id: str
    name: str
    kind: str  # "hypothesis" | "probe" | "action" | "rollback"
    total: int | None = None  # number of cases the step will send, when known


@dataclass(slots=True)
class ActivityEnded(Event):
    run_id: str
    name: str
    kind: str
    status: str  # "succeeded" | "failed" | "interrupted"
    duration_s: float
    error: str | None = None


@dataclass(slots=True)
class CaseSent(Event):
    run_id: str
    layer: int
    suite: str
    case_id: str
    variant: str


@dataclass(slots=True)
class CaseObserved(Event):
    result: CaseResult


@dataclass(slots=True)
class CaseResumed(Event):
    """A case of a resumed run (``aichaos run --resume``) was found stored and not re-sent;
    ``result`` is the stored observation (already in the store: not written again)."""

    result: CaseResult


@dataclass(slots=True)
class ReceiverStarted(Event):
    """The OTLP receiver listens: the target's ``OTEL_EXPORTER_OTLP_ENDPOINT`` must be
    ``endpoint`` (published so the console can tell the user)."""

    run_id: str
    endpoint: str


@dataclass(slots=True)
class LoadProgressed(Event):
    """Load requests of the layer-6 suite completed since the last report (about every 0.5 s
    during a step), for the run's progress bar: ``completed`` requests, counted against
    :meth:`ScaleSuite.planned_count`."""

    run_id: str
    completed: int


@dataclass(slots=True)
class LoadStepFinished(Event):
    """One load step of the layer-6 suite finished (published once per step).

    Attributes:
        run_id: the run.
        step: 0-based step index; steps: steps planned.
        offered_rps: offered rate, req/s (None for a closed loop).
        achieved_rps, goodput_rps: completions and good completions per second in the window.
        latency_p95_s: p95 E2E from the scheduled send, seconds (None: nothing completed).
        error_rate: errors / scheduled requests.
        saturated: the knee rule fired on this step.
        verdict: ``overloaded`` | ``sustained`` | ``open`` (the step's overload tests; ""
            when not judged).
        power: the tests' power against a 1.25x overload (None when not judged).
    """

    run_id: str
    step: int
    steps: int
    offered_rps: float | None
    achieved_rps: float
    goodput_rps: float
    latency_p95_s: float | None
    error_rate: float
    saturated: bool
    verdict: str = ""
    power: float | None = None


@dataclass(slots=True)
class ToxicApplied(Event):
    """A toxic was added to the chaos proxy in front of ``dependency`` (its Toxiproxy-shaped
    description in ``toxic``)."""

    run_id: str
    dependency: str
    toxic: dict[str, Any]


@dataclass(slots=True)
class ToxicRemoved(Event):
    """Toxic ``name`` was removed from the proxy in front of ``dependency`` (or by a reset)."""

    run_id: str
    dependency: str
    name: str


@dataclass(slots=True)
class ProxiesStarted(Event):
    """The run's chaos proxies are listening.

    Attributes:
        run_id: the run.
        control_url: base URL of their control API (Toxiproxy-shaped REST, see
            ``aichaos.proxy``), or None when the run serves none.
        proxies: dependency name -> ``{"listen": "host:port", "upstream": URL}``.
    """

    run_id: str
    control_url: str | None
    proxies: dict[str, dict[str, str]]


@dataclass(slots=True)
class RunEnded(Event):
    run_id: str
    status: str
    deviated: bool
    journal: dict[str, Any]
    scorecard: dict[str, Any]


E = TypeVar("E", bound=Event)
Listener = Callable[[Any], None]


class EventBus:
    """Publish/subscribe hub for runner events."""

    def __init__(self) -> None:
        self._listeners: dict[type[Event], list[Listener]] = defaultdict(list)

    def subscribe(self, event_type: type[E], listener: Callable[[E], None]) -> None:
        """Call ``listener(event)`` for every published event of ``event_type`` or a subclass."""
        self._listeners[event_type].append(listener)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to its listeners, in subscription order."""
        for event_type in type(event).__mro__:
            for listener in self._listeners.get(event_type, ()):
                listener(event)
