"""Arrival schedules of open-loop load profiles.

An open-loop generator sends requests at times fixed in advance, whether or not earlier
requests have returned (Schroeder, Wierman & Harchol-Balter, "Open Versus Closed: A Cautionary
Tale", NSDI 2006). Each schedule yields send times in seconds from the start of a step.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Literal

from aichaos.errors import ConfigError

ProfileName = Literal["constant", "poisson", "bursty"]
PROFILES: tuple[str, ...] = ("bursty", "constant", "poisson")


def arrival_times(
    profile: str,
    rate_rps: float,
    duration_s: float,
    *,
    seed: int = 42,
    burst_size: int = 10,
) -> Iterator[float]:
    """Scheduled send times in ``[0, duration_s)``, seconds from the step start, ascending.

    Profiles:
        constant: one request every ``1 / rate_rps`` seconds.
        poisson: a Poisson process; gaps drawn from an exponential distribution with mean
            ``1 / rate_rps`` from ``random.Random(seed)`` (same seed, same schedule).
        bursty: ``burst_size`` requests at the same instant every ``burst_size / rate_rps``
            seconds; the mean rate is ``rate_rps`` but arrivals come in bursts.

    Args:
        profile: ``constant``, ``poisson`` or ``bursty``.
        rate_rps: mean offered rate, requests per second (> 0).
        duration_s: schedule length, seconds (>= 0).
        seed: seed of the Poisson gaps.
        burst_size: requests per burst (bursty only, >= 1).

    Raises:
        ConfigError: unknown profile, non-positive rate or burst size, negative duration.
    """
    if profile not in PROFILES:
        raise ConfigError(f"load profile: expected one of {', '.join(PROFILES)}, got {profile!r}")
    if not (rate_rps > 0 and math.isfinite(rate_rps)):
        raise ConfigError(f"load rate: expected a positive number of req/s, got {rate_rps!r}")
    if duration_s < 0:
        raise ConfigError(f"load duration: expected seconds >= 0, got {duration_s!r}")
    if burst_size < 1:
        raise ConfigError(f"load burst_size: expected an integer >= 1, got {burst_size!r}")
    return _gen(profile, rate_rps, duration_s, seed, burst_size)


def _gen(profile: str, rate: float, duration: float, seed: int, burst: int) -> Iterator[float]:
    if profile == "constant":
        n = math.ceil(duration * rate - 1e-9)
        for i in range(n):
            yield i / rate
    elif profile == "poisson":
        rng = random.Random(seed)
        t = rng.expovariate(rate)
        while t < duration:
            yield t
            t += rng.expovariate(rate)
    else:
        period = burst / rate
        k = 0
        while k * period < duration:
            start = k * period
            for _ in range(burst):
                yield start
            k += 1
