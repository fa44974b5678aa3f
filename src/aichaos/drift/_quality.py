"""What ``watch`` tracks per iteration, and one calibrated detector per tracked metric.

Per iteration, from the cases the iteration ran (each metric a mean over the cases that have
a value for it, with the case-level values kept for the calibration):

========================  =======================================================  ========
metric                    per case                                                 alarm on
========================  =======================================================  ========
``latency_s``             E2E seconds of an answered request                       rise
``pass_rate``             the scorer's pass (1) / fail (0)                         fall
``error_rate``            the request failed (1) or not (0)                        rise
``refusal_rate``          the answer is a refusal (``aichaos.drift.is_refusal``)   rise
``hallucination_rate``    an answered, non-refusing case whose answer makes claims  rise
                          its context does not support (``aichaos.scoring.
                          detect_hallucination``; cases with a context only)
``score``                 the scorer's 0..1 answer score                           fall
``output_length``         output tokens (usage), else words, of an answer          either
``bias_disparity``        the run's stored disparity figure, when the experiment    rise
                          measures one (a scorecard metric named ``*disparity*``)
========================  =======================================================  ========

A metric with no value in an iteration (no context, no scorer, no bias probe) is skipped
there; a metric with no value in the whole warm-up is not watched (it cannot be calibrated).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aichaos.dataset import Case
from aichaos.drift._calibrate import SIMS, calibrate_threshold
from aichaos.drift._pagehinkley import PageHinkley
from aichaos.drift._sample import is_refusal
from aichaos.runner import CaseResult

#: metric -> (directions, 0/1 case values, sigma floor in the metric's unit)
TRACKED: dict[str, tuple[tuple[str, ...], bool, float]] = {
    "latency_s": (("up",), False, 0.02),
    "pass_rate": (("down",), True, 0.05),
    "error_rate": (("up",), True, 0.05),
    "refusal_rate": (("up",), True, 0.05),
    "hallucination_rate": (("up",), True, 0.05),
    "score": (("down",), False, 0.02),
    "output_length": (("up", "down"), False, 1.0),
    "bias_disparity": (("up",), False, 0.01),
}

CaseValues = dict[str, float]


def _hallucinated(result: CaseResult, case: Case | None) -> float | None:
    if result.error_class or case is None or not case.context:
        return None
    if is_refusal(result.output):
        return 0.0
    return _detect(result.output, case.context, case.input)


@functools.lru_cache(maxsize=4096)
def _detect(answer: str, context: str, question: str) -> float:
    """The detector is deterministic and watch replays the same cases: an answer seen
    before is not embedded again."""
    from aichaos.scoring._safety import detect_hallucination

    return float(detect_hallucination(answer, context, question=question).fired)


def bias_disparity(scorecard: Any) -> float | None:
    """The run's disparity figure: the first numeric scorecard metric whose name contains
    ``disparity`` (layers in order), or None when the run measured none."""
    if isinstance(scorecard, str):
        try:
            scorecard = json.loads(scorecard or "{}")
        except ValueError:
            return None
    if not isinstance(scorecard, dict):
        return None
    for layer in scorecard.get("layers") or []:
        metrics = layer.get("metrics") if isinstance(layer, dict) else None
        for key, value in (metrics or {}).items():
            if ("disparity" in str(key) and isinstance(value, int | float)
                    and not isinstance(value, bool)):
                return float(value)
    return None


def iteration_values(results: Sequence[CaseResult], cases: Iterable[Case],
                     scorecard: Any = None, *, hallucination: bool = True
                     ) -> dict[str, CaseValues]:
    """Case-level values of every tracked metric in one iteration (module docstring).

    Returns:
        metric -> {case key -> value}; a metric absent from the dict had no value.
    """
    by_id = {c.id: c for c in cases}
    tokens = all(r.output_tokens is not None for r in results if not r.error_class)
    out: dict[str, CaseValues] = {m: {} for m in TRACKED}
    for i, r in enumerate(results):
        key = f"{r.case_id}/{r.variant}#{i}" if r.case_id == "" else f"{r.case_id}/{r.variant}"
        out["error_rate"][key] = float(bool(r.error_class))
        if r.passed is not None:
            out["pass_rate"][key] = float(r.passed)
        if r.score is not None:
            out["score"][key] = float(r.score)
        if r.error_class:
            continue
        if r.e2e_s is not None:
            out["latency_s"][key] = float(r.e2e_s)
        out["refusal_rate"][key] = float(is_refusal(r.output))
        out["output_length"][key] = float(r.output_tokens if tokens and r.output_tokens
                                          is not None else len(r.output.split()))
        if hallucination:
            hal = _hallucinated(r, by_id.get(r.case_id))
            if hal is not None:
                out["hallucination_rate"][key] = hal
    disparity = bias_disparity(scorecard)
    if disparity is not None:
        out["bias_disparity"]["run"] = disparity
    return {m: v for m, v in out.items() if v}


def mean(values: CaseValues) -> float:
    return sum(values.values()) / len(values)


@dataclass
class MetricDetector:
    """Page-Hinkley detector(s) of one metric with a threshold calibrated on its warm-up.

    ``threshold`` None calibrates at the end of each warm-up (``aichaos.drift._calibrate``)
    at false-alarm rate ``alpha`` over ``horizon`` iterations; a number fixes it (sigmas).
    """

    metric: str
    warmup: int
    alpha: float
    horizon: int
    threshold: float | None = None
    seed: int = 0
    sims: int = SIMS
    detectors: list[PageHinkley] = field(default_factory=list)
    warm: list[CaseValues] = field(default_factory=list)
    calibrated: float | None = None
    started_at: int = 1

    def __post_init__(self) -> None:
        directions, _binary, floor = TRACKED[self.metric]
        self.detectors = [PageHinkley(direction=d, warmup=self.warmup,
                                      threshold=self.threshold or 1e9, sigma_floor=floor)
                          for d in directions]
        self.calibrated = self.threshold

    @property
    def statistic(self) -> float:
        return max(d.statistic for d in self.detectors)

    def update(self, iteration: int, values: CaseValues) -> tuple[str, int] | None:
        """Feed one iteration; on an alarm returns ``(direction, change_iteration)``: the
        iteration after which the level changed (Hinkley's estimate)."""
        if self.detectors[0].n == 0:
            self.started_at, self.warm = iteration, []
            if self.threshold is None:
                self.calibrated = None
        value = mean(values)
        if len(self.warm) < self.warmup:
            self.warm.append(values)
        fired = None
        for d in self.detectors:
            if d.update(value) and fired is None:
                assert d.change_at is not None
                fired = (d.direction, self.started_at + d.change_at - 1)
        if fired is not None:
            for d in self.detectors:
                d.reset()
            return fired
        if self.detectors[0].n == self.warmup and self.threshold is None:
            directions, binary, floor = TRACKED[self.metric]
            self.calibrated = calibrate_threshold(
                self.warm, binary=binary, directions=directions,
                alpha=self.alpha, horizon=self.horizon, delta=self.detectors[0].delta,
                sigma_floor=floor, sims=self.sims, seed=self.seed + iteration)
            for d in self.detectors:
                d.threshold = self.calibrated
        return None
