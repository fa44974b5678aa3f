"""Plain-data results of a load step and of a rate sweep, with ``to_dict()`` for JSON reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from aichaos.load._histogram import LatencyHistogram

#: histogram names kept per step (all seconds)
HISTOGRAMS: tuple[str, ...] = (
    "e2e", "itl", "queue_delay", "scheduler_lag", "service", "tpot", "ttft",
)

#: TargetResponse.error_class -> the error group reported per step
ERROR_GROUPS: dict[str, str] = {
    "http_429": "429",
    "http_5xx": "5xx",
    "timeout": "timeout",
    "connection": "connection",
    "http_4xx": "4xx",
    "unfinished": "unfinished",
}


class Sample(NamedTuple):
    """One measured request of a step, for the within-step overload tests.

    Attributes:
        send_s: scheduled send time, seconds from the start of the measured window.
        latency_s: E2E latency from the scheduled send, seconds (an unfinished request: until
            the drain gave up).
        status: HTTP status, or 0 when there was none.
        error_class: ``TargetResponse.error_class`` (``unfinished`` for a request the drain
            abandoned), None on success.
        retry_after_s: the response's ``Retry-After``, seconds, or None.
    """

    send_s: float
    latency_s: float
    status: int
    error_class: str | None
    retry_after_s: float | None


def error_group(error_class: str) -> str:
    """Group of an error class: ``429``, ``5xx``, ``timeout``, ``connection``, ``4xx``,
    ``unfinished`` or ``other`` (invalid_response, stream, exception)."""
    return ERROR_GROUPS.get(error_class, "other")


@dataclass(slots=True)
class StepResult:
    """What one load step measured.

    Two populations, as the operational laws separate them (Denning & Buzen, "The Operational
    Analysis of Queueing Network Models", Computing Surveys 1978): *rates* count completions
    during the measured window ``[warm-up end, warm-up end + duration_s)`` divided by
    ``duration_s`` (throughput X = C / T), whichever request they belong to, so the drain of
    the last requests after the window neither inflates nor dilutes them; *distributions*
    (latencies, error counts, tokens per request) cover the requests scheduled inside the
    window, followed until they finish.

    Latencies are seconds. E2E and TTFT are timed from each request's *scheduled* send time,
    so time spent waiting for a free slot counts (no coordinated omission). ``queue_delay`` is
    scheduled → actual send; ``scheduler_lag`` is how late the event loop woke a free worker
    for its scheduled send; ``service`` is the target's own send → last byte time. ITL is every
    gap between consecutive content chunks; TPOT is per request ``(e2e − ttft) / (tokens − 1)``.
    Both exclude the first token, as vLLM's benchmark_serving defines them.

    Attributes:
        index: position in the sweep (0 for a single step).
        profile: ``constant``, ``poisson``, ``bursty`` or ``closed``.
        offered_rps: scheduled rate, req/s (None for closed loop).
        users: closed-loop users, or the open-loop cap on requests in flight.
        warmup_s, duration_s: warm-up (not measured) and measured window, seconds (the
            window is the spec's ``duration_s`` rounded up to whole arrival periods for
            constant and bursty steps: :attr:`aichaos.load.StepSpec.window_s`).
        drain_s: time from the window's end until its last request finished, seconds (long
            drains mean a backlog).
        scheduled: requests scheduled in the measured window.
        completed: requests that returned (success or error).
        ok: requests without an error class.
        errors_by_class: count per ``TargetResponse.error_class`` (``unfinished`` = still in
            flight or never sent when the drain timeout ran out).
        window_completed, window_ok, window_good, window_output_tokens: completions (all,
            successful, successful within every per-request SLO given) and their output
            tokens during the window: the numerators of the rates.
        achieved_rps, ok_rps, goodput_rps, output_tokens_per_s: those / duration_s.
        output_tokens, input_tokens: totals over the step.
        token_source: ``usage`` (the response's usage), the token counter's name
            (``tokenizer``, ``chars/4``: counted from the output text), ``mixed`` or ``none``.
        tokens_per_s_per_request: mean over requests of output tokens / E2E service time.
        token_requests: requests that had output tokens (that mean's denominator).
        saturated, saturation_reasons: set by the sweep's knee rule.
        histograms: the name → :class:`LatencyHistogram` of :data:`HISTOGRAMS`.
        samples: one :class:`Sample` per measured request, in completion order (kept out of
            the plain ``to_dict``; serialised with the histograms).
        overload: the step's overload tests (:func:`aichaos.load.judge_step`), or None.
        signals: server-side saturation signals scraped during the step, name -> summary.
    """

    index: int
    profile: str
    offered_rps: float | None
    users: int
    warmup_s: float
    duration_s: float
    drain_s: float = 0.0
    window_completed: int = 0
    window_ok: int = 0
    window_good: int = 0
    window_output_tokens: int = 0
    scheduled: int = 0
    completed: int = 0
    ok: int = 0
    good: int = 0
    errors_by_class: dict[str, int] = field(default_factory=dict)
    output_tokens: int = 0
    input_tokens: int = 0
    token_source: str = "none"
    tokens_per_s_per_request: float | None = None
    token_requests: int = 0
    saturated: bool = False
    saturation_reasons: list[str] = field(default_factory=list)
    histograms: dict[str, LatencyHistogram] = field(
        default_factory=lambda: {name: LatencyHistogram() for name in HISTOGRAMS}
    )
    samples: list[Sample] = field(default_factory=list)
    overload: dict[str, Any] | None = None
    signals: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """Requests that failed or never finished."""
        return sum(self.errors_by_class.values())

    @property
    def error_rate(self) -> float:
        """errors / scheduled (0.0 when nothing was scheduled)."""
        return self.errors / self.scheduled if self.scheduled else 0.0

    @property
    def errors_by_group(self) -> dict[str, int]:
        """Errors grouped as 429, 5xx, timeout, connection, 4xx, unfinished, other."""
        out: dict[str, int] = {}
        for cls, n in self.errors_by_class.items():
            g = error_group(cls)
            out[g] = out.get(g, 0) + n
        return dict(sorted(out.items()))

    def _rate(self, n: int) -> float:
        return n / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def achieved_rps(self) -> float:
        """Completions per second during the window (throughput)."""
        return self._rate(self.window_completed)

    @property
    def scheduled_rps(self) -> float:
        """Rate actually scheduled in the window: scheduled / duration_s (a Poisson step's
        realized rate differs from its nominal ``offered_rps``)."""
        return self.scheduled / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def ok_rps(self) -> float:
        """Successful completions per second during the window."""
        return self._rate(self.window_ok)

    @property
    def goodput_rps(self) -> float:
        """Requests per second that succeeded and met every per-request SLO given."""
        return self._rate(self.window_good)

    @property
    def output_tokens_per_s(self) -> float:
        """Aggregate output tokens per second during the window."""
        return self._rate(self.window_output_tokens)

    def p(self, name: str, percentile: float) -> float | None:
        """Percentile of histogram ``name`` in seconds, or None when it is empty."""
        return self.histograms[name].percentile(percentile)

    def to_dict(self, *, include_histograms: bool = False) -> dict[str, Any]:
        """JSON-ready dict; ``include_histograms`` adds each encoded HdrHistogram."""
        d: dict[str, Any] = {
            "index": self.index,
            "profile": self.profile,
            "offered_rps": self.offered_rps,
            "users": self.users,
            "warmup_s": self.warmup_s,
            "duration_s": self.duration_s,
            "drain_s": self.drain_s,
            "window_completed": self.window_completed,
            "window_ok": self.window_ok,
            "window_good": self.window_good,
            "window_output_tokens": self.window_output_tokens,
            "scheduled": self.scheduled,
            "completed": self.completed,
            "ok": self.ok,
            "good": self.good,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "errors_by_class": dict(sorted(self.errors_by_class.items())),
            "errors_by_group": self.errors_by_group,
            "scheduled_rps": self.scheduled_rps,
            "achieved_rps": self.achieved_rps,
            "ok_rps": self.ok_rps,
            "goodput_rps": self.goodput_rps,
            "output_tokens": self.output_tokens,
            "input_tokens": self.input_tokens,
            "token_source": self.token_source,
            "output_tokens_per_s": self.output_tokens_per_s,
            "tokens_per_s_per_request": self.tokens_per_s_per_request,
            "token_requests": self.token_requests,
            "saturated": self.saturated,
            "saturation_reasons": list(self.saturation_reasons),
            "latency_s": {name: h.summary() for name, h in sorted(self.histograms.items())},
        }
        if self.overload is not None:
            d["overload"] = self.overload
        if self.signals:
            d["signals"] = self.signals
        if include_histograms:
            d["histograms"] = {n: h.encode() for n, h in sorted(self.histograms.items())}
            d["samples"] = [list(x) for x in self.samples]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepResult:
        """Rebuild a step from ``to_dict(include_histograms=True)`` output.

        Raises:
            ValueError: the dict lacks a field or its encoded histograms.
        """
        try:
            step = cls(
                index=d["index"], profile=d["profile"], offered_rps=d["offered_rps"],
                users=d["users"], warmup_s=d["warmup_s"], duration_s=d["duration_s"],
                drain_s=d["drain_s"], window_completed=d["window_completed"],
                window_ok=d["window_ok"], window_good=d["window_good"],
                window_output_tokens=d["window_output_tokens"], scheduled=d["scheduled"],
                completed=d["completed"],
                ok=d["ok"], good=d["good"], errors_by_class=dict(d["errors_by_class"]),
                output_tokens=d["output_tokens"], input_tokens=d["input_tokens"],
                token_source=d["token_source"],
                tokens_per_s_per_request=d["tokens_per_s_per_request"],
                token_requests=d["token_requests"], saturated=d["saturated"],
                saturation_reasons=list(d["saturation_reasons"]),
                histograms={n: LatencyHistogram.decode(e) for n, e in d["histograms"].items()},
                samples=[Sample(*x) for x in d.get("samples", [])],
            )
        except KeyError as exc:
            raise ValueError(f"step result: missing field {exc}") from None
        return step


def merge_steps(parts: list[StepResult], *, offered_rps: float | None = None) -> StepResult:
    """One step from steps run side by side (several engines, same window).

    Counts and token totals add (the parts share one window: they start together), histograms
    merge exactly (HdrHistogram), the drain is the longest part's, the per-request token rate
    is the mean weighted by each part's ``token_requests``.

    Raises:
        ValueError: no parts.
    """
    if not parts:
        raise ValueError("merge_steps: no step results to merge")
    first = parts[0]
    out = StepResult(index=first.index, profile=first.profile, offered_rps=offered_rps,
                     users=sum(p.users for p in parts), warmup_s=first.warmup_s,
                     duration_s=first.duration_s)
    out.drain_s = max(p.drain_s for p in parts)
    rate_sum = 0.0
    sources: set[str] = set()
    for p in parts:
        out.scheduled += p.scheduled
        out.completed += p.completed
        out.ok += p.ok
        out.good += p.good
        out.window_completed += p.window_completed
        out.window_ok += p.window_ok
        out.window_good += p.window_good
        out.window_output_tokens += p.window_output_tokens
        for cls, n in p.errors_by_class.items():
            out.errors_by_class[cls] = out.errors_by_class.get(cls, 0) + n
        out.output_tokens += p.output_tokens
        out.input_tokens += p.input_tokens
        out.token_requests += p.token_requests
        rate_sum += (p.tokens_per_s_per_request or 0.0) * p.token_requests
        if p.token_source != "none":
            sources.add(p.token_source)
        for name, h in p.histograms.items():
            out.histograms[name].merge(h)
        out.samples.extend(p.samples)
    out.samples.sort()
    out.token_source = "mixed" if len(sources) > 1 else next(iter(sources), "none")
    if out.token_requests:
        out.tokens_per_s_per_request = rate_sum / out.token_requests
    return out


@dataclass(slots=True)
class SweepResult:
    """A rate sweep: its steps in order and the saturation point found.

    Attributes:
        steps: finished steps (an interrupted sweep keeps the ones that finished).
        knee_rps: offered rate of the first saturated step, or None when none saturated.
        max_sustainable_rps: highest offered rate of a step before the first saturated one
            (None when the first step already saturated or no step ran).
        rule: the saturation rule as text, for the report.
        stopped_early: the sweep skipped rates after saturation.
        interrupted: the sweep was cancelled (Ctrl-C) before it finished.
    """

    steps: list[StepResult] = field(default_factory=list)
    knee_rps: float | None = None
    max_sustainable_rps: float | None = None
    rule: str = ""
    stopped_early: bool = False
    interrupted: bool = False

    def to_dict(self, *, include_histograms: bool = False) -> dict[str, Any]:
        """JSON-ready dict of the sweep and every step."""
        return {
            "knee_rps": self.knee_rps,
            "max_sustainable_rps": self.max_sustainable_rps,
            "rule": self.rule,
            "stopped_early": self.stopped_early,
            "interrupted": self.interrupted,
            "steps": [s.to_dict(include_histograms=include_histograms) for s in self.steps],
        }
