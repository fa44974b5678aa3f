"""The overload test: calibrated false alarms at capacity, power at 1.25x, open when thin."""

from __future__ import annotations

import numpy as np
import pytest

from aichaos.stats import calibrate, duration_for_power, step_trend


def queue(rng: np.random.Generator, rate: float, load: float, duration: float,
          servers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Open-loop Poisson arrivals into `servers` FIFO servers at `load` (independent of the
    module's own simulator: event by event, gamma service times, CV 0.3)."""
    n = rng.poisson(rate * duration)
    t = np.sort(rng.uniform(0, duration, n))
    mean = load * servers / rate
    s = rng.gamma(1 / 0.09, mean * 0.09, n)
    free = np.zeros(servers)
    lat = np.empty(n)
    for i in range(n):
        j = int(np.argmin(free))
        free[j] = max(t[i], free[j]) + s[i]
        lat[i] = free[j] - t[i]
    return t, lat


BASE = np.random.default_rng(3).gamma(1 / 0.09, 0.09, 30)  # measured service times, ~1 s


def test_calibrated_verdicts_on_simulated_queues() -> None:
    rng = np.random.default_rng(11)
    rate, duration = 4.0, 80.0
    q95, q05, power = calibrate(rate, duration, BASE, sims=150, seed=2)
    assert q05 < q95 + 0.2 and power > 0.85
    verdicts = {load: [] for load in (0.7, 1.5)}
    for load, out in verdicts.items():
        for _ in range(20):  # an independent simulator, judged by the calibrated test
            t, lat = queue(rng, rate, load, duration, servers=2)
            out.append(step_trend(t, lat, rate, duration, BASE,
                                  calibration=(q95, q05, power)).verdict)
    assert verdicts[0.7].count("overloaded") <= 2
    assert verdicts[0.7].count("sustained") >= 15
    assert verdicts[1.5].count("overloaded") >= 18


def test_a_thin_step_is_open_and_says_its_power() -> None:
    rng = np.random.default_rng(5)
    t, lat = queue(rng, 1.0, 0.9, 8.0)
    trend = step_trend(t, lat, 1.0, 8.0, BASE, sims=100)
    assert trend.power < 0.5
    assert trend.verdict == "open"


def test_duration_for_power_grows_until_the_target_or_the_cap() -> None:
    d, power = duration_for_power(4.0, BASE, max_s=160, min_s=10, sims=100)
    assert power >= 0.9 and 20 <= d <= 160
    capped, p_cap = duration_for_power(0.5, BASE, max_s=10, min_s=5, sims=60)
    assert capped == 10 and p_cap < 0.9


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="latencies"):
        step_trend([0.0, 1.0], [1.0], 1.0, 2.0, BASE)
    with pytest.raises(ValueError, match="service time"):
        calibrate(1.0, 10.0, [0.0, -1.0])
