"""The verdict on a client's behaviour under faults, from what the chaos proxy saw.

:func:`judge` reads the proxy's traffic (one :class:`~aichaos.proxy.TrafficRecord` per request,
with the toxics that fired on it) plus the result the client handed back, and lists every
rule the client broke. Each rule has a stable ``reason`` code:

``not_exercised``
    nothing reached the proxy, or a scripted toxic never fired: the test measured nothing.
``retry_after_ignored``
    a request arrived inside the window of a 429's ``Retry-After`` (RFC 9110 section 10.2.3).
``retried_non_retryable``
    a request followed an error that retrying cannot fix (``insufficient_quota``,
    context length).
``unbounded_retries``
    more requests than ``max_attempts`` for one call.
``truncated_accepted``
    the client returned an answer although the stream that produced it was cut, ended
    without ``finish_reason``/``[DONE]`` or carried an error event.
``hang``
    the call took longer than its ``deadline_s`` (e.g. no read timeout on a stalled stream).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aichaos.proxy import TrafficRecord

#: toxic types after which an answer is incomplete
TRUNCATING = frozenset({"stream_cut", "no_finish_reason", "sse_error"})
#: toxic types whose error retrying cannot fix
NON_RETRYABLE = frozenset({"quota", "context_length"})
#: toxic types that hold a request (the client must give up by its deadline)
HOLDING = frozenset({"stream_stall", "hang"})
#: slack allowed on a Retry-After wait, seconds (timer and scheduling jitter on loopback)
RETRY_AFTER_SLACK_S = 0.05


@dataclass
class Outcome:
    """What one client call gave back: its value or the exception it raised, and how long
    it took (seconds, monotonic clock)."""

    value: Any = None
    error: BaseException | None = None
    elapsed_s: float | None = None

    @property
    def ok(self) -> bool:
        """True when the call returned a value (it presented an answer)."""
        return self.error is None and self.value is not None


@dataclass(frozen=True)
class Violation:
    """One broken rule: its ``reason`` code (see the module docstring) and a sentence."""

    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass
class Verdict:
    """The client's verdict: resilient when no rule was broken.

    Attributes:
        violations: every broken rule, in check order.
        attempts: requests the proxy received for the call.
        elapsed_s: the call's duration, seconds, as judged.
    """

    violations: list[Violation] = field(default_factory=list)
    attempts: int = 0
    elapsed_s: float | None = None

    @property
    def resilient(self) -> bool:
        return not self.violations

    @property
    def reasons(self) -> list[str]:
        return [v.reason for v in self.violations]

    def __str__(self) -> str:
        if self.resilient:
            return f"resilient ({self.attempts} attempt(s))"
        return "client is not resilient:\n" + "\n".join(f"  - {v}" for v in self.violations)


@dataclass(frozen=True)
class ToxicInfo:
    """What the verdict needs to know about a toxic scripted in the test."""

    name: str
    type: str
    attributes: dict[str, Any]
    fired_on: tuple[str, ...]
    toxicity: float = 1.0


def _num(request_id: str) -> int:
    return int(request_id.rsplit("-", 1)[1])


def as_outcome(result: Any) -> Outcome:
    """``result`` as an :class:`Outcome`: an exception means the client gave up, anything
    else (not None) is an answer it presented."""
    if isinstance(result, Outcome):
        return result
    if isinstance(result, BaseException):
        return Outcome(error=result)
    return Outcome(value=result)


def judge(result: Any, records: list[TrafficRecord], toxics: list[ToxicInfo], *,
          max_attempts: int, deadline_s: float | None, full_reply: str | None = None) -> Verdict:
    """Judge a client call from the proxy's records and the result it handed back.

    Args:
        result: the client's return value, the exception it raised, or an :class:`Outcome`.
        records: finished requests the proxy saw for this call, any order.
        toxics: the toxics scripted for this call.
        max_attempts: most requests allowed for one call (first try plus retries).
        deadline_s: most seconds the call may take, or None for no limit.
        full_reply: the complete answer the upstream sends (the scripted LLM's), if known.
    """
    outcome = as_outcome(result)
    recs = sorted(records, key=lambda r: _num(r.id))
    by_id = {r.id: r for r in recs}
    fired: dict[str, list[ToxicInfo]] = {}
    for t in toxics:
        for rid in t.fired_on:
            fired.setdefault(rid, []).append(t)
    ids = sorted(set(by_id) | set(fired), key=_num)
    verdict = Verdict(attempts=len(ids))
    bad = verdict.violations.append

    if not ids:
        bad(Violation("not_exercised", "no request reached the chaos proxy; point the client "
                      "at chaos.url / chaos.base_url"))
        return verdict
    for t in toxics:
        if not t.fired_on and t.toxicity >= 1.0:  # a probabilistic toxic may rightly miss
            bad(Violation("not_exercised", f"toxic {t.name!r} ({t.type}) never fired: "
                          "its fault was not tested"))

    # Retry-After and non-retryable errors: look at the request after each faulted one
    for prev_id, next_id in itertools.pairwise(ids):
        prev, nxt = by_id.get(prev_id), by_id.get(next_id)
        for t in fired.get(prev_id, []):
            if t.type == "rate_limit" and prev is not None and nxt is not None:
                window = float(t.attributes.get("retry_after_s", 0))
                gap = nxt.started - (prev.started + prev.duration_s)
                if gap < window - RETRY_AFTER_SLACK_S:
                    bad(Violation("retry_after_ignored",
                                  f"request {next_id} came {max(gap, 0.0):.2f} s after a 429 "
                                  f"with Retry-After: {window:g} s (request {prev_id})"))
            if t.type in NON_RETRYABLE:
                bad(Violation("retried_non_retryable",
                              f"request {next_id} retried after {t.type} on request "
                              f"{prev_id}, an error retrying cannot fix"))

    if len(ids) > max_attempts:
        bad(Violation("unbounded_retries", f"{len(ids)} requests reached the proxy for one "
                      f"call; at most {max_attempts} allowed (max_attempts)"))

    if outcome.ok:
        last = ids[-1]
        cut = [t for t in fired.get(last, []) if t.type in TRUNCATING]
        text = outcome.value if isinstance(outcome.value, str) else None
        partial = (full_reply is not None and text is not None
                   and text.strip() != full_reply.strip()
                   and full_reply.strip().startswith(text.strip()))
        if cut and (full_reply is None or text is None or partial):
            shown = repr(text[:60]) if text is not None else type(outcome.value).__name__
            bad(Violation("truncated_accepted",
                          f"the client returned {shown} as a complete answer, but request "
                          f"{last} was faulted by {cut[0].type} ({cut[0].name})"))

    elapsed = outcome.elapsed_s
    verdict.elapsed_s = elapsed
    if deadline_s is not None and elapsed is not None and elapsed > deadline_s:
        held = [t for rid in ids for t in fired.get(rid, []) if t.type in HOLDING]
        why = (f" while the proxy held the request ({held[0].type} {held[0].name}): no read "
               "timeout?" if held else "")
        bad(Violation("hang", f"the call took {elapsed:.2f} s, over its deadline of "
                      f"{deadline_s:g} s{why}"))
    return verdict
