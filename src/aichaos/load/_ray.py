"""The Ray engine: one step spread over Ray actors, histograms merged exactly.

Each worker is a Ray actor (a process of its own, on any node of the cluster) that runs the
local asyncio engine on its share of the load and returns its step with encoded
HdrHistograms; the driver merges them (:func:`aichaos.load.merge_steps`: counts add, buckets
add, so the merged percentiles are those of one histogram that saw every request). Shares
keep the arrival process:

* poisson: N independent Poisson processes of rate λ/N superpose to one of rate λ (the
  superposition property of Poisson processes), each with its own seed;
* constant: N schedules of rate λ/N shifted by ``i/λ`` interleave into the schedule of rate λ;
* bursty: the burst is split between workers, every worker keeps the burst period;
* closed: the users are split between workers.

Timing stays free of coordinated omission per worker: each worker paces its own share with
its own pacer and times every request from that request's scheduled send on its own
monotonic clock, so no latency ever mixes two machines' clocks. Clocks matter only for the
common start: before every step the driver pings each worker and estimates its wall-clock
offset NTP style (:mod:`aichaos.load._clock`), then tells each worker the common start time
*on its own clock* (driver start + offset), so workers with skewed clocks still start, and
measure their windows, together. The offsets, their error bounds and each worker's start lag
are kept per step (:meth:`RayEngine.describe`).

Ray is an optional dependency (``pip install 'aichaos[ray]'``); it is imported only when used.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from aichaos.config import Slos
from aichaos.errors import ConfigError, EngineError
from aichaos.load._clock import ClockOffset, estimate_offset
from aichaos.load._engine import (
    LoadInput,
    LoadProgress,
    ProgressCallback,
    StepSpec,
    TokenCounter,
    _tick,
    run_step,
)
from aichaos.load._results import StepResult, merge_steps
from aichaos.targets import Target

TargetFactory = Callable[[], Target]
#: object store of a local Ray started by the engine, bytes (Ray's minimum is 75 MiB)
LOCAL_OBJECT_STORE_BYTES = 80 * 1024 * 1024


def split_spec(spec: StepSpec, workers: int) -> list[StepSpec]:
    """Shares of ``spec`` for ``workers`` engines whose union is the original load.

    Raises:
        ConfigError: ``workers`` < 1.
    """
    if workers < 1:
        raise ConfigError(f"ray workers: expected >= 1, got {workers!r}")
    spec.validate()
    # every share measures the whole step's window: a share's own rounding to its longer
    # arrival period would give it a different window
    spec = replace(spec, duration_s=spec.window_s, round_window=False)
    if spec.profile == "closed":
        users = _split(spec.concurrency, workers)
        return [replace(spec, concurrency=u) for u in users if u]
    rate = spec.rate_rps or 0.0
    per_conc = max(1, math.ceil(spec.concurrency / workers))
    if spec.profile == "bursty":
        sizes = _split(spec.burst_size, workers)
        return [replace(spec, rate_rps=rate * b / spec.burst_size, burst_size=b,
                        concurrency=per_conc) for b in sizes if b]
    if spec.profile == "constant":
        return [replace(spec, rate_rps=rate / workers, phase_s=spec.phase_s + i / rate,
                        concurrency=per_conc) for i in range(workers)]
    return [replace(spec, rate_rps=rate / workers, seed=spec.seed + 7919 * i,
                    concurrency=per_conc) for i in range(workers)]


def _split(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


class LoadWorker:
    """The body of one Ray actor: its clock, its identity, and a step on its share.

    Runs in the actor's process; the engine wraps it with ``ray.remote``.
    """

    def clock(self) -> float:
        """This process's wall clock, ``time.time()`` seconds (the engine's ping)."""
        return time.time()

    def identity(self) -> dict[str, Any]:
        """Where the worker runs: host name, process id, Ray node id."""
        ray = importlib.import_module("ray")
        return {"host": socket.gethostname(), "pid": os.getpid(),
                "node_id": ray.get_runtime_context().get_node_id()}

    def run(self, factory: TargetFactory, inputs: list[LoadInput], spec: StepSpec,
            slos: Slos | None, counter: TokenCounter | None, counter_name: str, index: int,
            start_at: float) -> dict[str, Any]:
        """Run ``spec`` from ``start_at`` (wall clock of *this* process, seconds).

        Returns:
            ``{"step": StepResult.to_dict(include_histograms=True), "start_lag_s": s}``;
            the lag is how late the step began after ``start_at`` on this worker's clock.
        """
        async def main() -> dict[str, Any]:
            target = factory()  # built before the wait: its set-up must not delay the start
            try:
                await asyncio.sleep(max(0.0, start_at - time.time()))
                lag = time.time() - start_at
                step = await run_step(target, inputs, spec, index=index, slos=slos,
                                      token_counter=counter, token_counter_name=counter_name)
            finally:
                await target.aclose()
            return {"step": step.to_dict(include_histograms=True), "start_lag_s": lag}

        return asyncio.run(main())


@dataclass(frozen=True, slots=True)
class WorkerStep:
    """One worker's part of one step, as reported in :meth:`RayEngine.describe`.

    Attributes:
        worker: worker index; host, pid: where it ran.
        clock: its clock offset against the driver, measured just before the step.
        start_lag_s: how late its step began after the common start, on its own clock, s.
        offered_rps: its share of the offered rate, req/s (None: closed loop).
        scheduled, completed, ok: its requests (see :class:`StepResult`).
        achieved_rps: its completions per second in the window.
        p50_s, p95_s: its E2E percentiles from the scheduled send, seconds.
    """

    worker: int
    host: str
    pid: int
    clock: ClockOffset
    start_lag_s: float
    offered_rps: float | None
    scheduled: int
    completed: int
    ok: int
    achieved_rps: float
    p50_s: float | None
    p95_s: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (seconds, req/s)."""
        return {"worker": self.worker, "host": self.host, "pid": self.pid,
                "clock_offset_s": self.clock.offset_s, "clock_rtt_s": self.clock.rtt_s,
                "clock_error_s": self.clock.error_s, "start_lag_s": self.start_lag_s,
                "offered_rps": self.offered_rps, "scheduled": self.scheduled,
                "completed": self.completed, "ok": self.ok, "achieved_rps": self.achieved_rps,
                "p50_s": self.p50_s, "p95_s": self.p95_s}


class RayEngine:
    """Runs steps on Ray actors; pass it as ``engine=`` to :func:`aichaos.load.run_sweep`.

    Use it as an async context manager (or call :meth:`aclose`): the actors live from the
    first step to the close, and a local Ray the engine started is shut down then.

    Args:
        target_factory: builds the target inside each worker (must pickle, e.g.
            ``functools.partial(RawHttpTarget, url)``).
        workers: actors per step (one CPU each).
        address: Ray cluster address (``host:6379``, ``ray://host:10001``, ``auto``); None
            uses the Ray already initialised in this process, else starts a local one with
            ``workers`` CPUs, a small object store and no dashboard.
        start_delay_s: how far ahead the common start time is set, so every worker is ready.
        pings: clock pings per worker before each step.
        start_timeout_s: how long the actors may take to start, seconds.

    Raises:
        ConfigError: Ray is not installed; ``workers`` < 1.
    """

    def __init__(self, target_factory: TargetFactory, *, workers: int = 2,
                 address: str | None = None, start_delay_s: float = 1.0, pings: int = 5,
                 start_timeout_s: float = 120.0) -> None:
        try:
            self._ray: Any = importlib.import_module("ray")
        except ImportError as exc:
            raise ConfigError("engine ray: Ray is not installed "
                              "(pip install 'aichaos[ray]')") from exc
        if workers < 1:
            raise ConfigError(f"ray workers: expected >= 1, got {workers!r}")
        self.factory, self.workers = target_factory, workers
        self.address, self.start_delay_s = address, start_delay_s
        self.pings, self.start_timeout_s = max(1, pings), start_timeout_s
        self._actors: list[Any] = []
        self._identities: list[dict[str, Any]] = []
        self._started_ray = False  # this engine started a local Ray (and shuts it down)
        self.started_local = False  # ... at some point of its life (for the report)
        self._release = threading.Event()  # ends the thread that ran ray.init
        self.steps: list[dict[str, Any]] = []  # per step: {"step": i, "workers": [...]}

    # ------------------------------------------------------------- lifecycle

    def _init_ray(self) -> None:
        ray = self._ray
        if ray.is_initialized():
            return
        # ray.init runs off the main thread (see start), so Ray leaves the process's SIGTERM
        # handler alone (aichaos's own stops what it started); its warning saying so is noise
        quiet = _DropMessage("SIGTERM handler is not set")
        worker_log = logging.getLogger("ray._private.worker")
        worker_log.addFilter(quiet)
        try:
            if self.address is None:
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home
                ray.init(address="local", num_cpus=self.workers, include_dashboard=False,
                         object_store_memory=LOCAL_OBJECT_STORE_BYTES, log_to_driver=False,
                         configure_logging=False)
                self._started_ray = self.started_local = True
            else:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        except Exception as exc:
            where = "a local Ray" if self.address is None else f"Ray at {self.address!r}"
            raise ConfigError(f"engine ray: cannot start or reach {where}: "
                              f"{type(exc).__name__}: {_first_line(exc)}") from exc
        finally:
            worker_log.removeFilter(quiet)

    async def _reachable(self) -> None:
        """A ``host:port`` address must accept TCP connections (``ray.init`` would retry a dead
        one for minutes)."""
        addr = self.address
        if addr is None:
            return
        hostport = addr.split("://", 1)[-1].rstrip("/")
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            return  # "auto" and the like: Ray resolves them itself
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 5.0)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"engine ray: nothing accepts connections at the Ray address "
                              f"{addr!r} ({type(exc).__name__}: {_first_line(exc)})") from None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def start(self) -> None:
        """Start (or join) Ray and the actors; wait until every actor answers.

        Raises:
            ConfigError: Ray cannot be started or reached within ``start_timeout_s``, or the
                actors did not start within it (the cluster lacks free CPUs).
        """
        if self._actors:
            return
        await self._reachable()
        try:
            await _in_daemon_thread(self._init_ray, self.start_timeout_s, self._release)
        except TimeoutError:
            raise ConfigError(f"engine ray: Ray did not start or answer within "
                              f"{self.start_timeout_s:g} s (address "
                              f"{self.address or 'local'!r})") from None
        ray = self._ray
        cls = ray.remote(num_cpus=1, max_restarts=0)(LoadWorker)
        actors = [cls.options(scheduling_strategy="SPREAD").remote()
                  for _ in range(self.workers)]
        try:
            self._identities = await asyncio.wait_for(
                asyncio.gather(*(a.identity.remote() for a in actors)), self.start_timeout_s)
        except TimeoutError:
            self._kill(actors)
            cpus = ray.cluster_resources().get("CPU", 0)
            raise ConfigError(
                f"engine ray: {self.workers} workers did not start within "
                f"{self.start_timeout_s:g} s (each needs 1 CPU; the cluster has {cpus:g})"
            ) from None
        except BaseException:
            self._kill(actors)
            raise
        self._actors = actors

    def _kill(self, actors: Sequence[Any]) -> None:
        for a in actors:
            # an actor already gone with its node leaves nothing to stop
            with contextlib.suppress(Exception):
                self._ray.kill(a, no_restart=True)

    async def aclose(self) -> None:
        """Stop the actors, and the local Ray if this engine started it. Idempotent."""
        self._kill(self._actors)
        self._actors = []
        if self._started_ray and self._ray.is_initialized():
            await asyncio.to_thread(self._ray.shutdown)
        self._started_ray = False
        self._release.set()  # the thread that started Ray may end now
        self._release = threading.Event()

    async def __aenter__(self) -> RayEngine:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.shield(self.aclose())

    # ----------------------------------------------------------------- clocks

    async def measure_clocks(self) -> list[ClockOffset]:
        """Each worker's clock offset against the driver (``pings`` pings each, the workers in
        parallel; :func:`aichaos.load.estimate_offset`).

        Raises:
            ConfigError: as :meth:`start`. EngineError: a worker did not answer.
        """
        await self.start()

        async def one(actor: Any) -> ClockOffset:
            pings = []
            for _ in range(self.pings):
                t0 = time.time()
                tw = await actor.clock.remote()
                pings.append((t0, float(tw), time.time()))
            return estimate_offset(pings)

        try:
            return list(await asyncio.gather(*(one(a) for a in self._actors)))
        except self._ray.exceptions.RayError as exc:
            await self.aclose()
            raise EngineError(f"engine ray: a worker did not answer its clock ping: "
                              f"{_first_line(exc)}") from exc

    # ------------------------------------------------------------------- steps

    async def __call__(
        self,
        target: Target | None,
        inputs: Sequence[LoadInput],
        spec: StepSpec,
        *,
        index: int = 0,
        steps: int = 1,
        slos: Slos | None = None,
        token_counter: TokenCounter | None = None,
        token_counter_name: str = "tokenizer",
        progress: ProgressCallback | None = None,
    ) -> StepResult:
        """Run one step on the workers and merge it (``target`` is unused: each worker
        builds its own from the factory). ``progress`` gets the step's elapsed time about
        every 0.5 s (``planned`` None: workers report requests only with their result) and the
        merged result at the end.

        Raises:
            ConfigError: invalid ``spec``, empty ``inputs``, Ray unavailable.
            EngineError: a worker died during the step.
        """
        if not inputs:
            raise ConfigError("load inputs: expected at least one input text, got none")
        shares = split_spec(spec, self.workers)
        clocks = await self.measure_clocks()
        start_at = time.time() + self.start_delay_s
        offered = None if spec.profile == "closed" else spec.rate_rps
        planned_s = spec.warmup_s + spec.window_s

        def report(phase: str, res: StepResult | None = None) -> None:
            if progress is not None:
                n = 0 if res is None else res.completed
                progress(LoadProgress(index, steps, phase, offered,
                                      max(0.0, time.time() - start_at), planned_s, n, n, res))

        refs = [actor.run.remote(self.factory, list(inputs), share, slos, token_counter,
                                 token_counter_name, index, start_at + clock.offset_s)
                for actor, share, clock in zip(self._actors, shares, clocks, strict=False)]
        report("start")
        ticker = asyncio.create_task(_tick(report)) if progress is not None else None
        try:
            outs = await asyncio.gather(*refs)
        except asyncio.CancelledError:
            await asyncio.shield(self.aclose())  # actor tasks cannot be force-cancelled
            raise
        except self._ray.exceptions.RayActorError as exc:
            await self.aclose()
            raise EngineError(f"engine ray: a worker died during step {index + 1}: "
                              f"{_first_line(exc)}") from exc
        except self._ray.exceptions.RayTaskError as exc:  # raised inside a worker
            await self.aclose()
            cause = getattr(exc, "cause", None) or exc
            if isinstance(cause, ConfigError):  # e.g. a target its factory cannot build
                raise ConfigError(f"engine ray: in a worker: {_first_line(cause)}") from exc
            raise EngineError(f"engine ray: a worker failed during step {index + 1}: "
                              f"{type(cause).__name__}: {_first_line(cause)}") from exc
        finally:
            if ticker is not None:
                ticker.cancel()
        parts = [StepResult.from_dict(o["step"]) for o in outs]
        self.steps.append({"step": index, "workers": [
            self._worker_step(i, clocks[i], o["start_lag_s"], p).to_dict()
            for i, (o, p) in enumerate(zip(outs, parts, strict=True))]})
        merged = merge_steps(parts, offered_rps=offered)
        merged.users = spec.concurrency
        report("end", merged)
        return merged

    def _worker_step(self, i: int, clock: ClockOffset, lag: float,
                     part: StepResult) -> WorkerStep:
        who = self._identities[i] if i < len(self._identities) else {}
        return WorkerStep(i, str(who.get("host", "?")), int(who.get("pid", 0)), clock,
                          float(lag), part.offered_rps, part.scheduled, part.completed,
                          part.ok, part.achieved_rps, part.p("e2e", 50), part.p("e2e", 95))

    # ---------------------------------------------------------------- reports

    def max_abs_offset(self) -> tuple[float, float] | None:
        """The largest ``|clock offset|`` over every worker and step and its error bound,
        seconds (None before the first step)."""
        rows = [w for s in self.steps for w in s["workers"]]
        if not rows:
            return None
        worst = max(rows, key=lambda w: abs(w["clock_offset_s"]))
        return abs(worst["clock_offset_s"]), worst["clock_error_s"]

    def describe(self) -> dict[str, Any]:
        """What ran where: ``{"name": "ray", "workers", "address", "started_local",
        "max_abs_clock_offset_s", "max_clock_error_s", "steps": [{"step", "workers":
        [WorkerStep.to_dict()]}]}`` (seconds)."""
        worst = self.max_abs_offset()
        return {"name": "ray", "workers": self.workers,
                "address": self.address or "local",
                "started_local": self.started_local,
                "max_abs_clock_offset_s": None if worst is None else worst[0],
                "max_clock_error_s": None if worst is None else worst[1],
                "steps": list(self.steps)}


async def _in_daemon_thread(fn: Callable[[], None], timeout_s: float,
                            release: threading.Event) -> None:
    """Run ``fn`` in a daemon thread and wait at most ``timeout_s`` for it: a ``ray.init``
    stuck on an unresponsive cluster must not hold the process at exit, as a thread of the
    loop's default executor would. The thread then waits for ``release``: Ray starts its
    local processes with ``PR_SET_PDEATHSIG``, which kills them when the *thread* that
    started them exits."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(exc: BaseException | None) -> None:
        if not done.done():
            if exc is None:
                done.set_result(None)
            else:
                done.set_exception(exc)

    def work() -> None:
        try:
            fn()
            err: BaseException | None = None
        except BaseException as exc:  # handed to the waiting coroutine
            err = exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, err)
        release.wait()

    threading.Thread(target=work, name="aichaos-ray-init", daemon=True).start()
    await asyncio.wait_for(asyncio.shield(done), timeout_s)


class _DropMessage(logging.Filter):
    """Drops log records whose message starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
