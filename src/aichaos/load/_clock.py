"""Clock offset of a remote worker against the driver, from round-trip pings (NTP style).

The driver notes its wall clock ``t0``, asks the worker for its wall clock ``tw`` and notes
``t3`` when the answer arrives. With the worker's receive and transmit times taken as one
reading (it answers at once), NTP's on-wire estimate (RFC 5905, §8) reduces to

* offset ``θ = tw − (t0 + t3) / 2`` (worker clock minus driver clock, seconds),
* round-trip delay ``δ = t3 − t0``,

and the true offset lies within ``θ ± δ/2`` whatever the split of the delay between the two
directions. Of several pings the one with the least delay is kept: its bound is the tightest
(NTP's clock filter, RFC 5905 §10, picks the minimum-delay sample for the same reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """One worker's clock against the driver's.

    Attributes:
        offset_s: worker wall clock minus driver wall clock, seconds (positive: the worker's
            clock is ahead).
        rtt_s: round-trip delay of the ping the estimate comes from, seconds.
        error_s: bound on the estimate's error, ``rtt_s / 2`` seconds.
        samples: pings taken.
    """

    offset_s: float
    rtt_s: float
    error_s: float
    samples: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (seconds)."""
        return {"offset_s": self.offset_s, "rtt_s": self.rtt_s, "error_s": self.error_s,
                "samples": self.samples}


def estimate_offset(pings: Sequence[tuple[float, float, float]]) -> ClockOffset:
    """The NTP-style offset estimate from pings ``(t0, tw, t3)`` (module doc).

    Args:
        pings: per ping, the driver's send time ``t0``, the worker's clock ``tw`` and the
            driver's receive time ``t3``; wall-clock seconds (``time.time()``).

    Returns:
        The estimate of the minimum-delay ping.

    Raises:
        ValueError: no pings, or a ping whose receive time precedes its send time.
    """
    if not pings:
        raise ValueError("clock offset: no pings to estimate from")
    best: tuple[float, float] | None = None  # (delay, offset)
    for t0, tw, t3 in pings:
        delay = t3 - t0
        if delay < 0:
            raise ValueError(f"clock offset: ping received before it was sent ({t0} > {t3})")
        if best is None or delay < best[0]:
            best = (delay, tw - (t0 + t3) / 2)
    assert best is not None
    return ClockOffset(offset_s=best[1], rtt_s=best[0], error_s=best[0] / 2,
                       samples=len(pings))
