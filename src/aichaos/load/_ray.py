"""The Ray engine: one step spread over Ray workers, histograms merged exactly.

Each worker runs the local asyncio engine on its share of the load, all starting at the same
wall-clock time, and returns its step with encoded HdrHistograms; the driver merges them
(:func:`aichaos.load.merge_steps`). Shares keep the arrival process:

* poisson: N independent Poisson processes of rate λ/N superpose to one of rate λ (the
  superposition property of Poisson processes), each with its own seed;
* constant: N schedules of rate λ/N shifted by ``i/λ`` interleave into the schedule of rate λ;
* bursty: the burst is split between workers, every worker keeps the burst period;
* closed: the users are split between workers.

Ray is an optional dependency (``pip install ray``); it is imported only when used.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from aichaos.config import Slos
from aichaos.errors import ConfigError
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


def _worker(factory: TargetFactory, inputs: list[LoadInput], spec: StepSpec, slos: Slos | None,
            counter: TokenCounter | None, counter_name: str, index: int,
            start_at: float) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        target = factory()
        try:
            step = await run_step(target, inputs, spec, index=index, slos=slos,
                                  token_counter=counter, token_counter_name=counter_name,
                                  start_at=start_at)
        finally:
            await target.aclose()
        return step.to_dict(include_histograms=True)

    return asyncio.run(main())


class RayEngine:
    """Runs steps on Ray workers; pass it as ``engine=`` to :func:`aichaos.load.run_sweep`.

    Args:
        target_factory: builds the target inside each worker (must pickle, e.g.
            ``functools.partial(RawHttpTarget, url)``).
        workers: Ray tasks per step (one CPU each).
        address: Ray cluster address; None starts or joins a local instance.
        start_delay_s: how far ahead the common start time is set, so every worker is up.

    Raises:
        ConfigError: Ray is not installed.
    """

    def __init__(self, target_factory: TargetFactory, *, workers: int = 2,
                 address: str | None = None, start_delay_s: float = 2.0) -> None:
        try:
            self._ray: Any = importlib.import_module("ray")
        except ImportError as exc:
            raise ConfigError("engine ray: Ray is not installed (pip install ray)") from exc
        self.factory, self.workers = target_factory, workers
        self.address, self.start_delay_s = address, start_delay_s
        self._remote: Any = None

    def _ensure(self) -> Any:
        ray = self._ray
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        if self._remote is None:
            self._remote = ray.remote(num_cpus=1)(_worker)
        return self._remote

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
        merged result at the end."""
        if not inputs:
            raise ConfigError("load inputs: expected at least one input text, got none")
        shares = split_spec(spec, self.workers)
        remote = self._ensure()
        start_at = time.time() + self.start_delay_s
        offered = None if spec.profile == "closed" else spec.rate_rps
        planned_s = spec.warmup_s + spec.window_s

        def report(phase: str, res: StepResult | None = None) -> None:
            if progress is not None:
                n = 0 if res is None else res.completed
                progress(LoadProgress(index, steps, phase, offered,
                                      max(0.0, time.time() - start_at), planned_s, n, n, res))

        refs = [remote.remote(self.factory, list(inputs), s, slos, token_counter,
                              token_counter_name, index, start_at) for s in shares]
        report("start")
        ticker = asyncio.create_task(_tick(report)) if progress is not None else None
        try:
            dicts = await asyncio.gather(*refs)
        except asyncio.CancelledError:
            for ref in refs:
                self._ray.cancel(ref, force=True)
            raise
        finally:
            if ticker is not None:
                ticker.cancel()
        merged = merge_steps([StepResult.from_dict(d) for d in dicts], offered_rps=offered)
        merged.users = spec.concurrency
        report("end", merged)
        return merged
