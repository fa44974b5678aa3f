"""How layer 3 judges a run under a toxic, declared by the toxic itself.

A toxic class says what its fault exercises, which layer-3 outcomes count as surviving it,
whether it fires per request, what a wrong 2xx answer under it means, and any extra checks of
its own (Retry-After honoured, an exhausted quota not retried) through
:meth:`aichaos.faults.Toxic.judge`. Layer 3 (``aichaos.probes``) reads those and judges every
toxic the same way, so a new toxic brings its judgement with it.

The types here are plain data so the fault layer never imports the probes or the proxy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: layer-3 degradation classes (``aichaos.probes._integration.OUTCOMES``)
OUTCOMES = ("correct", "fallback", "error", "hang", "crash")
#: outcomes that count as surviving a dependency fault unless the toxic says otherwise
SURVIVED = ("correct", "fallback")


class CallRecord(Protocol):
    """One upstream call a proxy saw (``aichaos.proxy.TrafficRecord`` has this shape).

    Attributes:
        started: epoch seconds the call arrived at the proxy.
        ttfb_s: seconds until response headers went out, or None.
        duration_s: seconds until the response ended (or was cut).
        status: status sent to the client, or None when the connection was cut first.
        toxics: names of the toxics that fired on it.
    """

    @property
    def started(self) -> float: ...
    @property
    def ttfb_s(self) -> float | None: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def status(self) -> int | None: ...
    @property
    def toxics(self) -> list[str]: ...


#: the upstream calls made while each user request under the fault was in flight
Attempts = Sequence[Sequence[CallRecord]]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One extra layer-3 check a toxic asks for (becomes ``integration.<toxic>.<check>``).

    Attributes:
        check: check name suffix, e.g. ``retry_after_honoured``.
        passed: whether the system passed it.
        value: the measured value (a count, seconds...), or None.
        bound: the bound as text, e.g. ``== 0``.
        unit: unit of ``value`` (``attempts``, ``s``...).
        message: one line saying what was seen.
        penalty: when failed, a penalty name that caps the toxic's layer-3 score at 50.
        metrics: extra figures for the toxic's row in the report.
    """

    check: str
    passed: bool
    value: float | int | None
    bound: str
    unit: str
    message: str
    penalty: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def ordered(calls: Sequence[CallRecord]) -> list[CallRecord]:
    """``calls`` sorted by arrival time."""
    return sorted(calls, key=lambda c: c.started)
