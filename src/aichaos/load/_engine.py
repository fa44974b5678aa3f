"""The local asyncio load engine: one step of open-loop or closed-loop load on a Target.

Open loop: every request has a send time fixed in advance by the profile's schedule. A pool of
at most ``concurrency`` workers takes scheduled times in order; a free worker sleeps until its
time, a busy pool leaves the request waiting. Latency is timed from the *scheduled* time, so a
stalled target's latency includes the time requests waited behind it. This avoids coordinated
omission as Gil Tene defines it ("How NOT to Measure Latency", 2013; wrk2's README): a load
generator that waits for a slow response before sending the next request, and times from the
actual send, omits exactly the samples that saw the stall.

Closed loop: ``users`` workers each send, wait for the answer, optionally think, and repeat.
A closed loop is coordinated by construction (the target paces the load), so its latency is
timed from the actual send and its queueing delay is zero; use it to model N concurrent users,
not to measure capacity at a given rate.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from aichaos.config import Slos
from aichaos.errors import ConfigError
from aichaos.load._profiles import PROFILES, arrival_times
from aichaos.load._results import StepResult
from aichaos.targets import Target, TargetRequest, TargetResponse

TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """A progress report, sent at step start, about every 0.5 s while running, and at end.

    Attributes:
        step: step index; steps: total steps planned.
        phase: ``start``, ``running`` or ``end``.
        offered_rps: the step's offered rate (None for closed loop).
        elapsed_s, planned_s: time since the step began and its planned length (warm-up +
            duration), seconds.
        sent, completed: requests started and finished so far (warm-up included).
        result: the finished step (phase ``end`` only).
    """

    step: int
    steps: int
    phase: str
    offered_rps: float | None
    elapsed_s: float
    planned_s: float
    sent: int
    completed: int
    result: StepResult | None = None


ProgressCallback = Callable[[LoadProgress], None]


@dataclass(frozen=True, slots=True)
class StepSpec:
    """How to run one step.

    Attributes:
        profile: ``constant``, ``poisson``, ``bursty`` (open loop) or ``closed``.
        rate_rps: offered rate for open-loop profiles, req/s.
        duration_s: measured window, seconds.
        warmup_s: load sent before the window and not measured, seconds.
        concurrency: open loop: most requests in flight at once (beyond it requests queue and
            their queueing delay counts in their latency); closed loop: the number of users.
        think_time_s: closed loop: pause between a user's answer and next request, seconds.
        drain_timeout_s: how long to wait for in-flight requests after the schedule ends;
            those still running are cancelled and counted as ``unfinished``.
        seed: Poisson seed.
        burst_size: requests per burst (bursty).
        phase_s: shift of the open-loop schedule, seconds (lets several engines interleave
            one constant schedule; arrivals shifted past the end are dropped).
    """

    profile: str = "constant"
    rate_rps: float | None = None
    duration_s: float = 10.0
    warmup_s: float = 0.0
    concurrency: int = 256
    think_time_s: float = 0.0
    drain_timeout_s: float = 30.0
    seed: int = 42
    burst_size: int = 10
    phase_s: float = 0.0

    def validate(self) -> None:
        """Raises ConfigError when the spec cannot be run (one line naming the field)."""
        if self.profile != "closed" and self.profile not in PROFILES:
            raise ConfigError(
                f"load profile: expected closed, {', '.join(PROFILES)}; got {self.profile!r}"
            )
        if self.profile != "closed" and (self.rate_rps is None or self.rate_rps <= 0):
            raise ConfigError(f"load rate_rps: expected > 0 req/s, got {self.rate_rps!r}")
        if self.duration_s <= 0:
            raise ConfigError(f"load duration_s: expected > 0 s, got {self.duration_s!r}")
        if min(self.warmup_s, self.think_time_s, self.drain_timeout_s) < 0:
            raise ConfigError(
                "load warmup_s, think_time_s, drain_timeout_s: expected >= 0 s"
            )
        if self.concurrency < 1:
            raise ConfigError(f"load concurrency: expected >= 1, got {self.concurrency!r}")


class _Collector:
    """Accumulates one step's observations (hot path: keep it lean)."""

    def __init__(self, result: StepResult, slos: Slos | None, counter: TokenCounter | None,
                 counter_name: str = "tokenizer"):
        self.r = result
        h = result.histograms
        self.e2e, self.ttft, self.itl = h["e2e"], h["ttft"], h["itl"]
        self.queue, self.lag, self.service, self.tpot = (
            h["queue_delay"], h["scheduler_lag"], h["service"], h["tpot"],
        )
        self.lat_slo = slos.latency_p95_s if slos else None
        self.ttft_slo = slos.ttft_p95_s if slos else None
        self.counter = counter
        self.counter_name = counter_name
        self.sources: set[str] = set()
        self.tok_rate_sum = 0.0
        self.tok_rate_n = 0
        self.sent = 0
        self.done = 0

    def observe(self, t_sched: float, t_start: float, t_end: float, resp: TargetResponse,
                measured: bool, in_window: bool, input_estimate: int) -> None:
        """One completion: distributions if it was scheduled in the window (``measured``),
        rates if it completed inside the window (``in_window``)."""
        r = self.r
        e2e = t_end - t_sched
        queue = t_start - t_sched
        ttft = None if resp.ttft_s is None else queue + resp.ttft_s
        out = resp.output_tokens
        if out is not None:
            self.sources.add("usage")
        elif self.counter is not None and resp.output:
            out = self.counter(resp.output)
            self.sources.add(self.counter_name)
        ok = resp.error_class is None
        good = ok and (self.lat_slo is None or self.lat_slo.holds(e2e)) and (
            self.ttft_slo is None or self.ttft_slo.holds(ttft)
        )
        if in_window:
            r.window_completed += 1
            r.window_ok += ok
            r.window_good += good
            r.window_output_tokens += out or 0
        if not measured:
            return
        r.completed += 1
        r.ok += ok
        r.good += good
        self.e2e.record(e2e)
        self.queue.record(queue)
        self.service.record(resp.e2e_s)
        if ttft is not None:
            self.ttft.record(ttft)
        for gap in resp.itl_s:
            self.itl.record(gap)
        if resp.input_tokens is not None:
            r.input_tokens += resp.input_tokens
        elif self.counter is not None:
            r.input_tokens += input_estimate
        if out:
            r.output_tokens += out
            if resp.e2e_s > 0:
                self.tok_rate_sum += out / resp.e2e_s
                self.tok_rate_n += 1
            if out > 1 and resp.ttft_s is not None:
                self.tpot.record((resp.e2e_s - resp.ttft_s) / (out - 1))
        if not ok:
            ec = r.errors_by_class
            cls = resp.error_class or "exception"
            ec[cls] = ec.get(cls, 0) + 1

    def finish(self, unfinished: int, drain_s: float) -> StepResult:
        r = self.r
        if unfinished:
            r.errors_by_class["unfinished"] = r.errors_by_class.get("unfinished", 0) + unfinished
        r.drain_s = drain_s
        r.token_source = (
            "mixed" if len(self.sources) > 1 else next(iter(self.sources), "none")
        )
        r.token_requests = self.tok_rate_n
        if self.tok_rate_n:
            r.tokens_per_s_per_request = self.tok_rate_sum / self.tok_rate_n
        return r


async def run_step(
    target: Target,
    inputs: Sequence[str],
    spec: StepSpec,
    *,
    index: int = 0,
    steps: int = 1,
    slos: Slos | None = None,
    token_counter: TokenCounter | None = None,
    token_counter_name: str = "tokenizer",
    progress: ProgressCallback | None = None,
    start_at: float | None = None,
) -> StepResult:
    """Run one step of load against ``target`` and measure it.

    Args:
        target: the system under test; its ``send`` never raises for target failures.
        inputs: request texts, used cyclically (at least one).
        spec: profile, rate, duration, warm-up, concurrency.
        index, steps: position of this step in a sweep (for progress and the result).
        slos: per-request SLOs for goodput: ``latency_p95_s`` and ``ttft_p95_s`` bound each
            request's E2E and TTFT (timed from its scheduled send); ``success_rate`` and
            ``answer_score`` do not apply per request. Without SLOs goodput = ok requests/s.
        token_counter: counts output tokens from the answer text when the response carries
            no usage (else tokens come only from usage).
        token_counter_name: how ``token_source`` names the counter (e.g. ``chars/4``).
        progress: called at start, about every 0.5 s, and at the end of the step.
        start_at: wall-clock time (``time.time()``) to start at, so several engines start
            together; None starts now.

    Returns:
        The step's :class:`StepResult` (saturation fields are left for the sweep to set).

    Raises:
        ConfigError: invalid ``spec`` or empty ``inputs``.
    """
    spec.validate()
    if not inputs:
        raise ConfigError("load inputs: expected at least one input text, got none")
    requests = [TargetRequest(input=text, case_id=f"load-{i}") for i, text in enumerate(inputs)]
    closed = spec.profile == "closed"
    result = StepResult(
        index=index,
        profile=spec.profile,
        offered_rps=None if closed else spec.rate_rps,
        users=spec.concurrency,
        warmup_s=spec.warmup_s,
        duration_s=spec.duration_s,
    )
    col = _Collector(result, slos, token_counter, token_counter_name)
    # perf_counter, not loop.time(): uvloop's loop clock only moves in whole milliseconds
    clock = time.perf_counter
    if start_at is not None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
    planned = spec.warmup_s + spec.duration_s
    t0 = clock() + 0.005  # a short lead so the first send is not already late
    m_start, m_end = t0 + spec.warmup_s, t0 + planned
    last_end = [m_end]
    in_flight: dict[int, float] = {}  # worker id -> scheduled time of its current request
    counter = itertools.count()
    send = target.send
    n_req = len(requests)
    # input tokens counted from the text when a response carries no usage (prompt only:
    # the server's chat template adds a few tokens the counter cannot see)
    in_est = [token_counter(r.input) if token_counter else 0 for r in requests]

    def report(phase: str, res: StepResult | None = None) -> None:
        if progress is not None:
            progress(LoadProgress(index, steps, phase, result.offered_rps,
                                  max(0.0, clock() - t0), planned, col.sent, col.done, res))

    async def fire(wid: int, t_sched: float, t_start: float) -> None:
        i = next(counter) % n_req
        measured = m_start <= t_sched < m_end
        in_flight[wid] = t_sched if measured else -1.0
        col.sent += 1
        try:
            resp = await send(requests[i])
        except Exception as exc:  # a target breaking its contract is an observation too
            resp = TargetResponse(error_class="exception", error=f"{type(exc).__name__}: {exc}",
                                  e2e_s=clock() - t_start)
        t_end = clock()
        del in_flight[wid]
        col.done += 1
        col.observe(t_sched, t_start, t_end, resp, measured, m_start <= t_end < m_end,
                    in_est[i])
        if measured and t_end > last_end[0]:
            last_end[0] = t_end

    schedule: Iterator[float] = iter(())
    if not closed:
        assert spec.rate_rps is not None
        schedule = (rel + spec.phase_s for rel in arrival_times(
            spec.profile, spec.rate_rps, planned, seed=spec.seed, burst_size=spec.burst_size)
            if rel + spec.phase_s < planned)

    lag = col.lag

    async def open_worker(wid: int) -> None:
        for rel in schedule:
            t_sched = t0 + rel
            now = clock()
            if t_sched > now:
                # event-loop timers wake up to ~1 ms late (epoll's millisecond timeout,
                # libuv's millisecond clock); that lateness is the scheduler lag recorded
                await asyncio.sleep(t_sched - now)
                now = clock()
                if t_sched >= m_start:
                    lag.record(now - t_sched)
            await fire(wid, t_sched, now)

    async def closed_worker(wid: int) -> None:
        await asyncio.sleep(max(0.0, t0 - clock()))
        while (now := clock()) < m_end:
            await fire(wid, now, now)
            if spec.think_time_s:
                await asyncio.sleep(spec.think_time_s)

    worker = closed_worker if closed else open_worker
    tasks = [asyncio.create_task(worker(w)) for w in range(spec.concurrency)]
    report("start")
    ticker = asyncio.create_task(_tick(report)) if progress is not None else None
    try:
        done, pending = await asyncio.wait(
            tasks, timeout=max(0.0, m_end - clock()) + spec.drain_timeout_s
        )
        for t in done:
            t.result()  # surface bugs in the engine itself
    finally:
        for t in tasks:
            t.cancel()
        if ticker is not None:
            ticker.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    unfinished = sum(1 for ts in in_flight.values() if ts >= 0)
    # open loop: requests the schedule still held when the drain ran out were never sent
    unfinished += sum(1 for rel in schedule if m_start <= t0 + rel < m_end)
    result.scheduled = result.completed + unfinished
    col.finish(unfinished, (last_end[0] if not pending else clock()) - m_end)
    report("end", result)
    return result


async def _tick(report: Callable[[str], None]) -> None:
    while True:
        await asyncio.sleep(0.5)
        report("running")
