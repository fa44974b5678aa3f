"""Helpers for the store tests: write a run through the runner's events, run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from aichaos import CaseObserved, CaseResult, EventBus, RunEnded, RunStarted
from aichaos.store import ResultStore


def case(run_id: str, case_id: str, *, variant: str = "clean", layer: int = 1,
         suite: str = "capability", passed: bool = True, text: str = "q", output: str = "a",
         e2e_s: float = 0.1, **extra: Any) -> CaseResult:
    return CaseResult(run_id=run_id, layer=layer, suite=suite, case_id=case_id,
                      variant=variant, input=text, expected=["a"], output=output,
                      passed=passed, score=1.0 if passed else 0.0,
                      scores={"contains": 1.0 if passed else 0.0}, e2e_s=e2e_s, seed=7,
                      **extra)


def write_run(store: ResultStore, run_id: str, results: list[CaseResult], *,
              title: str = "store test", status: str | None = "completed",
              experiment: dict[str, Any] | None = None) -> None:
    """Publish RunStarted, one CaseObserved per result, then RunEnded (unless status=None)."""
    bus = EventBus()
    store.attach(bus)
    bus.publish(RunStarted(run_id=run_id, title=title, seed=7,
                           experiment=experiment or {"title": title}))
    for r in results:
        bus.publish(CaseObserved(r))
    if status is not None:
        bus.publish(RunEnded(run_id=run_id, status=status, deviated=False, journal={},
                             scorecard={"overall": {"score": 50.0, "grade": "D"}}))


def aichaos(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real ``aichaos`` command (this checkout's sources first on the path)."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "aichaos", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def concurrent_writer(url: str, run_id: str, n_cases: int, barrier: Any) -> None:
    """A process body: wait for the others, open the store (racing its creation), write
    one run of ``n_cases`` cases, one commit each."""
    barrier.wait(timeout=60)
    with ResultStore(url) as store:
        write_run(store, run_id, [case(run_id, f"c{i:03d}", e2e_s=i / 1000)
                                  for i in range(n_cases)])
