"""The local asyncio load engine: one step of open-loop or closed-loop load on a Target.

Open loop: every request has a send time fixed in advance by the profile's schedule. A pacer
releases each time when it comes due, never before (:mod:`aichaos.load._pacer`: a Linux timerfd
watched by the loop, where the loop's own timers round to milliseconds); the send starts at
once when fewer than ``concurrency`` requests are in flight, else it waits for a free slot.
Latency is timed from the *scheduled* time, so a stalled target's latency includes the time
requests waited behind it. This avoids coordinated omission as Gil Tene defines it ("How NOT
to Measure Latency", 2013; wrk2's README): a load generator that waits for a slow response
before sending the next request, and times from the actual send, omits exactly the samples
that saw the stall.

Closed loop: ``users`` workers each send, wait for the answer, optionally think, and repeat.
A closed loop is coordinated by construction (the target paces the load), so its latency is
timed from the actual send and its queueing delay is zero; use it to model N concurrent users,
not to measure capacity at a given rate.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from aichaos.config import Slos
from aichaos.errors import ConfigError
from aichaos.load._pacer import LoopTimerPacer, make_pacer
from aichaos.load._profiles import arrival_times, build_profile, profiles
from aichaos.load._results import Sample, StepResult
from aichaos.targets import Target, TargetRequest, TargetResponse

TokenCounter = Callable[[str], int]
#: what a step sends: bare texts (the CLI's) or prepared requests (a suite's golden cases)
LoadInput = str | TargetRequest
#: slack of the window's edges against float error of the schedule's times, seconds
_EDGE_S = 1e-9


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
        planned: requests the step's schedule sends, warm-up included
            (:meth:`StepSpec.planned_requests`; None for a closed loop).
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
    planned: int | None = None


ProgressCallback = Callable[[LoadProgress], None]


@dataclass(frozen=True, slots=True)
class StepSpec:
    """How to run one step.

    Attributes:
        profile: ``constant``, ``poisson``, ``bursty`` (open loop) or ``closed``.
        rate_rps: offered rate for open-loop profiles, req/s.
        duration_s: measured window, seconds; constant and bursty steps round it up to whole
            arrival periods (:attr:`window_s`).
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
        round_window: round ``duration_s`` up to whole arrival periods (False for the shares
            of a step split between engines, whose ``duration_s`` is the whole step's window).
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
    round_window: bool = True

    @property
    def window_s(self) -> float:
        """The measured window, seconds.

        A constant schedule sends one request every ``1/rate`` s and a bursty one a burst
        every ``burst_size/rate`` s. A window that is not a whole number of those periods
        holds one arrival more (or fewer) than ``rate × duration_s`` depending on where the
        arrivals fall: 5 s at 0.3 req/s holds 2 arrivals, 0.4 req/s, more than offered. So for
        these two profiles the window is ``duration_s`` rounded up to whole periods (5 s at
        0.3 req/s measures 6.67 s holding 2 arrivals: 0.3 req/s), and every rate of the step
        divides by it. Poisson and closed-loop steps measure ``duration_s``: a Poisson count
        is random anyway (its realized rate is ``StepResult.scheduled_rps``).
        """
        rate = self.rate_rps
        if not self.round_window or self.profile == "closed" or not rate:
            return self.duration_s
        period = build_profile(self.profile, self.burst_size).period(rate)
        if period is None:
            return self.duration_s
        return round(math.ceil(self.duration_s / period - _EDGE_S) * period, 9)

    def planned_requests(self) -> int | None:
        """Requests the open-loop schedule sends, warm-up included: exact for constant and
        bursty, the expected ``rate × (warmup_s + window_s)`` for poisson (its count is
        random); None for a closed loop (users send as fast as answers come)."""
        rate = self.rate_rps
        if self.profile == "closed" or not rate:
            return None
        length = self.warmup_s + self.window_s
        return build_profile(self.profile, self.burst_size).planned(rate, length, _EDGE_S)

    def validate(self) -> None:
        """Raises ConfigError when the spec cannot be run (one line naming the field)."""
        if self.profile != "closed" and self.profile not in profiles():
            raise ConfigError(
                f"load profile: expected closed, {', '.join(profiles())}; got {self.profile!r}"
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
        self.origin = 0.0  # start of the measured window, clock seconds
        self.samples = result.samples

    def observe(self, t_sched: float, t_start: float, t_end: float, resp: TargetResponse,
                measured: bool, in_window: bool, input_estimate: int, woke: bool) -> None:
        """One completion: distributions if it was scheduled in the window (``measured``),
        rates if it completed inside the window (``in_window``). ``woke``: the send found a
        free slot, so its queueing delay is the scheduler's lag (recorded here, after the
        answer, to keep histogram work off the path between a due time and its send)."""
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
        self.samples.append(Sample(t_sched - self.origin, e2e, resp.status or 0,
                                   resp.error_class, resp.retry_after_s))
        self.e2e.record(e2e)
        self.queue.record(queue)
        if woke:
            self.lag.record(queue)
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


def _requests(inputs: Sequence[LoadInput]) -> list[TargetRequest]:
    """The requests a step sends, in order: texts wrapped, prepared requests as they are.

    Raises:
        ConfigError: no inputs.
    """
    if not inputs:
        raise ConfigError("load inputs: expected at least one input text or request, got none")
    return [x if isinstance(x, TargetRequest) else TargetRequest(input=x, case_id=f"load-{i}")
            for i, x in enumerate(inputs)]


def _prompt_tokens(count: TokenCounter, request: TargetRequest) -> int:
    """Tokens of what the request carries to the model: its input and its context (the
    target's template may add words, or leave the context out: usage, when a response has
    it, is the exact count)."""
    return count(request.input) + (count(request.context) if request.context else 0)


async def run_step(
    target: Target,
    inputs: Sequence[LoadInput],
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
        inputs: what to send, used cyclically (at least one): prepared
            :class:`~aichaos.targets.TargetRequest` objects are sent as they are (a golden
            case's context and id included, rendered by the target like every other layer's
            requests); a string becomes ``TargetRequest(input=text, case_id="load-<i>")``.
        spec: profile, rate, duration, warm-up, concurrency.
        index, steps: position of this step in a sweep (for progress and the result).
        slos: per-request SLOs for goodput: ``latency_p95_s`` and ``ttft_p95_s`` bound each
            request's E2E and TTFT (timed from its scheduled send); ``success_rate`` and
            ``answer_score`` do not apply per request. Without SLOs goodput = ok requests/s.
        token_counter: counts tokens from text when a response carries no usage: output
            tokens from the answer, input tokens from the request's input plus its context.
        token_counter_name: how ``token_source`` names the counter (e.g. ``chars/4``).
        progress: called at start, about every 0.5 s, and at the end of the step.
        start_at: wall-clock time (``time.time()``) to start at, so several engines start
            together; None starts now.

    Returns:
        The step's :class:`StepResult` (saturation fields are left for the sweep to set);
        its ``duration_s`` is the measured window :attr:`StepSpec.window_s`.

    Raises:
        ConfigError: invalid ``spec`` or empty ``inputs``.
    """
    spec.validate()
    requests = _requests(inputs)
    closed = spec.profile == "closed"
    window = spec.window_s
    result = StepResult(
        index=index,
        profile=spec.profile,
        offered_rps=None if closed else spec.rate_rps,
        users=spec.concurrency,
        warmup_s=spec.warmup_s,
        duration_s=window,
    )
    col = _Collector(result, slos, token_counter, token_counter_name)
    # perf_counter, not loop.time(): uvloop's loop clock only moves in whole milliseconds
    # (the pacer's clock too)
    clock = time.perf_counter
    if start_at is not None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
    planned = spec.warmup_s + window
    planned_n = spec.planned_requests()
    t0 = clock() + 0.005  # a short lead so the first send is not already late
    m_start, m_end = t0 + spec.warmup_s, t0 + planned
    col.origin = m_start
    last_end = [m_end]
    in_flight: dict[int, float] = {}  # request number -> scheduled time (-1: not measured)
    counter = itertools.count()
    send = target.send
    n_req = len(requests)
    # input tokens counted from the text when a response carries no usage (prompt only:
    # the target's prompt template and the server's chat template add a few tokens)
    in_est = [_prompt_tokens(token_counter, r) if token_counter else 0 for r in requests]

    def report(phase: str, res: StepResult | None = None) -> None:
        if progress is not None:
            progress(LoadProgress(index, steps, phase, result.offered_rps,
                                  max(0.0, clock() - t0), planned, col.sent, col.done, res,
                                  planned_n))

    async def fire(t_sched: float | None, measured: bool, woke: bool) -> None:
        t_start = clock()
        if t_sched is None:  # closed loop: sent when due, by construction
            t_sched = t_start
        n = next(counter)
        i = n % n_req
        in_flight[n] = t_sched if measured else -1.0
        col.sent += 1
        try:
            resp = await send(requests[i])
        except Exception as exc:  # a target breaking its contract is an observation too
            resp = TargetResponse(error_class="exception", error=f"{type(exc).__name__}: {exc}",
                                  e2e_s=clock() - t_start)
        t_end = clock()
        del in_flight[n]
        col.done += 1
        col.observe(t_sched, t_start, t_end, resp, measured, m_start <= t_end < m_end,
                    in_est[i], woke)
        if measured and t_end > last_end[0]:
            last_end[0] = t_end

    report("start")
    ticker = asyncio.create_task(_tick(report)) if progress is not None else None
    try:
        if closed:
            unfinished, pending = await _closed_loop(spec, clock, t0, m_end, fire)
        else:
            assert spec.rate_rps is not None
            # the window on the schedule's own scale: exact lattice arithmetic, no t0 rounding
            lo, hi = spec.warmup_s - _EDGE_S, planned - _EDGE_S
            schedule = (
                (t0 + rel, lo <= rel < hi)
                for rel in (r + spec.phase_s for r in arrival_times(
                    spec.profile, spec.rate_rps, planned, seed=spec.seed,
                    burst_size=spec.burst_size))
                if rel < planned
            )
            unfinished, pending = await _open_loop(spec, clock, m_end, schedule, fire)
    finally:
        if ticker is not None:
            ticker.cancel()
    unfinished += sum(1 for ts in in_flight.values() if ts >= 0)
    now = clock()
    result.samples.extend(Sample(ts - m_start, now - ts, 0, "unfinished", None)
                          for ts in in_flight.values() if ts >= 0)
    result.scheduled = result.completed + unfinished
    col.finish(unfinished, (last_end[0] if not pending else clock()) - m_end)
    report("end", result)
    return result


#: ``fire(t_sched, measured, woke)``: send one request scheduled at ``t_sched`` (None: now)
_Fire = Callable[[float | None, bool, bool], Coroutine[Any, Any, None]]


async def _closed_loop(spec: StepSpec, clock: Callable[[], float], t0: float, m_end: float,
                       fire: _Fire) -> tuple[int, bool]:
    """``concurrency`` users send, wait, think and repeat until the window ends. Returns
    (requests never sent that were due, whether the drain timed out): (0, timed out)."""
    m_start = t0 + spec.warmup_s

    async def user() -> None:
        await asyncio.sleep(max(0.0, t0 - clock()))
        while (now := clock()) < m_end:
            await fire(None, m_start <= now, False)
            if spec.think_time_s:
                await asyncio.sleep(spec.think_time_s)

    tasks = [asyncio.create_task(user()) for _ in range(spec.concurrency)]
    try:
        done, pending = await asyncio.wait(
            tasks, timeout=max(0.0, m_end - clock()) + spec.drain_timeout_s)
        for t in done:
            t.result()  # surface bugs in the engine itself
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return 0, bool(pending)


async def _open_loop(spec: StepSpec, clock: Callable[[], float], m_end: float,
                     schedule: Iterator[tuple[float, bool]],
                     fire: _Fire) -> tuple[int, bool]:
    """Send at every scheduled time, at most ``concurrency`` at once; later ones wait.

    Returns (measured requests never sent: still waiting for a slot or not yet due when the
    drain timeout ran out, whether the drain timed out).
    """
    backlog: deque[tuple[float, bool]] = deque()  # due sends waiting for a slot, oldest first
    running: set[asyncio.Task[None]] = set()
    free = spec.concurrency  # slots; taken and given back synchronously, never in a callback
    idle = asyncio.Event()
    failure: list[BaseException] = []
    pacer: LoopTimerPacer[bool]

    def all_sent() -> bool:
        return free == spec.concurrency and pacer.exhausted and not pacer.due

    async def serve(t_sched: float, measured: bool) -> None:
        nonlocal free
        try:
            # the first send found a free slot: its queueing delay is the scheduler's lag
            await fire(t_sched, measured, True)
            while backlog:
                await fire(*backlog.popleft(), False)
        finally:
            free += 1
            if all_sent():
                idle.set()

    def finished(task: asyncio.Task[None]) -> None:
        running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            failure.append(task.exception())  # type: ignore[arg-type]
            idle.set()

    def on_due() -> None:
        nonlocal free
        due = pacer.due
        while due:
            item = due.popleft()
            if free:
                free -= 1
                task = asyncio.create_task(serve(*item))
                running.add(task)
                task.add_done_callback(finished)
            else:
                backlog.append(item)
        if pacer.error is not None:
            failure.append(pacer.error)
            idle.set()
        elif all_sent():
            idle.set()

    pacer = make_pacer(asyncio.get_running_loop(), schedule, on_due)
    pacer.start()
    pending = False
    try:
        try:
            await asyncio.wait_for(idle.wait(),
                                   max(0.0, m_end - clock()) + spec.drain_timeout_s)
        except TimeoutError:
            pending = True
        if failure:
            raise failure[0]
    finally:
        pacer.stop()
        for t in list(running):
            t.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    # never sent: released but not taken, waiting for a slot, or never released
    never = sum(1 for _, measured in itertools.chain(backlog, pacer.unreleased()) if measured)
    return never, pending


async def _tick(report: Callable[[str], None]) -> None:
    while True:
        await asyncio.sleep(0.5)
        report("running")
