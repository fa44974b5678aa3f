"""The per-step overload test at the step sizes its power rule chooses (seeded simulation).

A FIFO single-server queue of capacity mu = 10 req/s (gamma service times, CV 0.3) is fed
Poisson arrivals at 1.25 mu and at 0.8 mu for the step length ``size_step`` picks; each
simulated step goes through ``judge_step`` exactly as a measured one does. The simulator is
written here, independently of aichaos.stats' calibration queue.
"""

from __future__ import annotations

import numpy as np

from aichaos.load import Sample, StepResult, judge_step, size_step

MU, TRIALS = 10.0, 40


def _service(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.gamma(1 / 0.09, 0.09 / MU, n)  # mean 1 / MU, CV 0.3


def _step(rate: float, duration: float, seed: int) -> StepResult:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(1 / rate, int(rate * duration * 2) + 20))
    t = t[t < duration]
    s = _service(rng, t.size)
    done = np.empty(t.size)
    free = 0.0
    for i in range(t.size):
        free = max(free, t[i]) + s[i]
        done[i] = free
    step = StepResult(index=0, profile="poisson", offered_rps=rate, users=256, warmup_s=0.0,
                      duration_s=duration, scheduled=int(t.size),
                      window_completed=int((done < duration).sum()),
                      window_ok=int((done < duration).sum()))
    step.samples = [Sample(float(a), float(b - a), 200, None, None) for a, b in zip(t, done, strict=True)]
    return step


def _verdicts(load: float, service: list[float]) -> tuple[list[str], float, float]:
    rate = load * MU
    sizing = size_step(rate, service, min_s=5.0, max_s=600.0)
    verdicts = [judge_step(_step(rate, sizing.duration_s, seed), service).verdict
                for seed in range(TRIALS)]
    return verdicts, sizing.duration_s, sizing.power


def test_sized_steps_flag_a_125x_overload_and_pass_08x() -> None:
    service = [float(x) for x in _service(np.random.default_rng(99), 30)]
    over, d_over, p_over = _verdicts(1.25, service)
    under, d_under, p_under = _verdicts(0.8, service)
    print(f"1.25x: {d_over:g} s steps, power {p_over:.2f}, flagged "
          f"{over.count('overloaded')}/{TRIALS}; 0.8x: {d_under:g} s steps, power "
          f"{p_under:.2f}, flagged {under.count('overloaded')}/{TRIALS}, sustained "
          f"{under.count('sustained')}/{TRIALS}")
    assert p_over >= 0.9 and p_under >= 0.9  # the rule sized both steps for 90 % power
    assert d_over <= 40  # ~300 requests at 12.5 req/s suffice: it did not run to the cap
    assert over.count("overloaded") >= 0.8 * TRIALS
    assert under.count("overloaded") <= 0.1 * TRIALS
    assert under.count("sustained") >= 0.8 * TRIALS  # decided, not merely "not flagged"


def test_an_unsized_short_step_is_open_not_sustained() -> None:
    service = [float(x) for x in _service(np.random.default_rng(99), 30)]
    verdict = judge_step(_step(8.0, 2.0, 1), service)  # 16 requests at 0.8x
    assert verdict.power < 0.9 and verdict.verdict == "open"
