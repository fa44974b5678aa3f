"""Drive load at one raw HTTP target: a rate sweep, or one closed-loop step (``aichaos load``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from aichaos.config import Slos
from aichaos.load._context import ContextProbeResult, probe_context_window
from aichaos.load._engine import LoadProgress, StepSpec, TokenCounter, run_step
from aichaos.load._http import RawHttpTarget
from aichaos.load._ray import RayEngine
from aichaos.load._results import SweepResult
from aichaos.load._sweep import run_sweep


async def drive_load(target: RawHttpTarget, inputs: Sequence[str], spec: StepSpec,
                     rates: Sequence[float], *, slos: Slos | None = None,
                     token_counter: TokenCounter | None = None,
                     token_counter_name: str = "chars/4", engine: RayEngine | None = None,
                     progress: Callable[[LoadProgress], None] | None = None) -> SweepResult:
    """Check ``target`` answers, then run a sweep over ``rates`` (or one closed-loop step
    when ``spec.profile == "closed"``), and close the target (and ``engine``: its actors and
    a local Ray it started).

    A cancelled closed-loop step (Ctrl-C) returns what it measured with
    ``SweepResult.interrupted`` set; a sweep keeps its finished steps the same way.

    Raises:
        TargetUnreachable: nothing answers at the target.
        ConfigError: bad step specification.
    """
    await target.check()
    try:
        if spec.profile == "closed":
            sweep = SweepResult()
            try:
                sweep.steps.append(await (engine or run_step)(
                    target, list(inputs), spec, slos=slos, progress=progress,
                    token_counter=token_counter, token_counter_name=token_counter_name))
            except asyncio.CancelledError:
                sweep.interrupted = True
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
            return sweep
        return await run_sweep(target, list(inputs), list(rates), spec, slos=slos,
                               progress=progress, token_counter=token_counter,
                               token_counter_name=token_counter_name, engine=engine)
    finally:
        await target.aclose()
        if engine is not None:  # its actors, and the local Ray it started
            await asyncio.shield(engine.aclose())


async def probe_target_context(target: RawHttpTarget, window: int) -> ContextProbeResult:
    """Check ``target`` answers, probe its context window of ``window`` tokens, close it."""
    try:
        await target.check()
        return await probe_context_window(target, window)
    finally:
        await target.aclose()
