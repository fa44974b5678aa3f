"""Arrival schedules of open-loop load profiles, each a registered class.

An open-loop generator sends requests at times fixed in advance, whether or not earlier
requests have returned (Schroeder, Wierman & Harchol-Balter, "Open Versus Closed: A Cautionary
Tale", NSDI 2006). Each profile yields send times in seconds from the start of a step. The
profiles register in :data:`aichaos.config._scale.load_profiles` (the configuration checks
``layers.scale.profile`` / ``arrival`` against it); a new one is one class with
:func:`load_profile`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any, ClassVar, Literal, TypeVar

from aichaos.config._scale import load_profiles
from aichaos.errors import ConfigError

ProfileName = Literal["constant", "poisson", "bursty"]


class ArrivalProfile:
    """An open-loop arrival process. Subclasses set ``name``/``summary`` and implement
    :meth:`arrivals`; a lattice profile (fixed period) also sets :meth:`period`.

    Args:
        burst_size: requests per burst, for profiles that send in bursts (>= 1).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    layer: ClassVar[int] = 6
    judged: ClassVar[str] = ("layer 6: each step's achieved throughput, latency percentiles "
                             "and errors against the offered rate")
    replays: ClassVar[str] = "the same schedule from the same (rate, duration, seed)"
    spec: tuple[str, dict[str, Any]] = ("", {})

    def __init__(self, burst_size: int = 10) -> None:
        if isinstance(burst_size, bool) or not isinstance(burst_size, int) or burst_size < 1:
            raise ConfigError(f"load burst_size: expected an integer >= 1, got {burst_size!r}")
        self.burst_size = burst_size

    def arrivals(self, rate: float, duration: float, seed: int) -> Iterator[float]:
        """Send times in ``[0, duration)``, ascending."""
        raise NotImplementedError

    def period(self, rate: float) -> float | None:
        """Seconds between schedule points of a lattice profile (None: random arrivals)."""
        return None

    def planned(self, rate: float, length: float, edge: float = 1e-9) -> int:
        """Requests sent in ``length`` seconds: exact for a lattice, else the expectation."""
        step = self.period(rate)
        if step is None:
            return round(rate * length)
        per = max(1, round(step * rate))
        return per * math.ceil(length / step - edge)


A = TypeVar("A", bound=type[ArrivalProfile])


def load_profile(cls: A) -> A:
    """Class decorator registering an :class:`ArrivalProfile` under its ``name``.

    Raises:
        PluginError: the name is taken.
    """
    if not (cls.name and cls.summary):
        raise TypeError(f"load profile class {cls.__name__} needs name and summary")
    load_profiles.register(cls.name, summary=cls.summary, layer=6, judged=cls.judged,
                           replays=cls.replays)(cls)
    return cls


@load_profile
class Constant(ArrivalProfile):
    """One request every ``1 / rate`` seconds."""

    name = "constant"
    summary = "one request every 1/rate seconds"

    def arrivals(self, rate: float, duration: float, seed: int) -> Iterator[float]:
        n = math.ceil(duration * rate - 1e-9)
        for i in range(n):
            yield i / rate

    def period(self, rate: float) -> float | None:
        return 1.0 / rate


@load_profile
class Poisson(ArrivalProfile):
    """A Poisson process: gaps drawn from an exponential distribution with mean ``1 / rate``
    from ``random.Random(seed)`` (same seed, same schedule)."""

    name = "poisson"
    summary = "a Poisson process (exponential gaps, seeded)"

    def arrivals(self, rate: float, duration: float, seed: int) -> Iterator[float]:
        rng = random.Random(seed)
        t = rng.expovariate(rate)
        while t < duration:
            yield t
            t += rng.expovariate(rate)


@load_profile
class Bursty(ArrivalProfile):
    """``burst_size`` requests at the same instant every ``burst_size / rate`` seconds: the
    mean rate is ``rate`` but arrivals come in bursts."""

    name = "bursty"
    summary = "burst_size requests at once every burst_size/rate seconds"

    def arrivals(self, rate: float, duration: float, seed: int) -> Iterator[float]:
        period = self.burst_size / rate
        k = 0
        while k * period < duration:
            start = k * period
            for _ in range(self.burst_size):
                yield start
            k += 1

    def period(self, rate: float) -> float | None:
        return self.burst_size / rate


def profiles() -> tuple[str, ...]:
    """Registered open-loop profile names, sorted."""
    return tuple(load_profiles.names())


#: the built-in open-loop profiles (plugins may add more; see :func:`profiles`)
PROFILES: tuple[str, ...] = ("bursty", "constant", "poisson")


def build_profile(name: str, burst_size: int = 10) -> ArrivalProfile:
    """The registered profile ``name``.

    Raises:
        ConfigError: unknown profile or a bad burst size.
    """
    if name not in load_profiles:
        raise ConfigError(f"load profile: expected one of {', '.join(profiles())}, got {name!r}")
    built: ArrivalProfile = load_profiles.create(name, burst_size=burst_size)
    return built


def arrival_times(
    profile: str,
    rate_rps: float,
    duration_s: float,
    *,
    seed: int = 42,
    burst_size: int = 10,
) -> Iterator[float]:
    """Scheduled send times in ``[0, duration_s)``, seconds from the step start, ascending.

    Profiles (built-in; plugins add theirs): constant, poisson, bursty (see the classes).

    Args:
        profile: a registered profile name.
        rate_rps: mean offered rate, requests per second (> 0).
        duration_s: schedule length, seconds (>= 0).
        seed: seed of random profiles.
        burst_size: requests per burst (bursty only, >= 1).

    Raises:
        ConfigError: unknown profile, non-positive rate or burst size, negative duration.
    """
    if profile not in load_profiles:
        raise ConfigError(f"load profile: expected one of {', '.join(profiles())}, got "
                          f"{profile!r}")
    if not (rate_rps > 0 and math.isfinite(rate_rps)):
        raise ConfigError(f"load rate: expected a positive number of req/s, got {rate_rps!r}")
    if duration_s < 0:
        raise ConfigError(f"load duration: expected seconds >= 0, got {duration_s!r}")
    return build_profile(profile, burst_size).arrivals(rate_rps, duration_s, seed)
