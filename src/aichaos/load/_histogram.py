"""Latency histograms: HdrHistogram in microseconds, mergeable exactly.

HdrHistogram (Gil Tene, https://hdrhistogram.org) records values into log-linear buckets with a
fixed number of significant decimal digits, so percentiles carry a bounded relative error and
two histograms with the same layout merge by adding bucket counts: merging is exact, the
merged histogram equals the one that would have recorded every value itself. That is what lets
several workers (a Ray engine, several processes) report one set of percentiles.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

#: lowest recordable value, microseconds
LOWEST_US = 1
#: highest recordable value, microseconds (one hour); larger values are clamped to it
HIGHEST_US = 3_600_000_000
#: significant decimal digits kept (relative error <= 0.1%)
SIGNIFICANT_FIGURES = 3


class LatencyHistogram:
    """A latency histogram recording seconds, stored as integer microseconds.

    Values below 1 µs are recorded as 1 µs and values above one hour as one hour, so every
    observation is counted (HdrHistogram itself would drop out-of-range values).
    """

    __slots__ = ("_h",)

    def __init__(self, _hist: Any = None) -> None:
        self._h: Any = (
            _hist
            if _hist is not None
            else HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
        )

    def record(self, seconds: float) -> None:
        """Record one latency in seconds (clamped to [1 µs, 1 h])."""
        us = int(seconds * 1e6 + 0.5)
        self._h.record_value(LOWEST_US if us < LOWEST_US else min(us, HIGHEST_US))

    @property
    def count(self) -> int:
        """Number of recorded values."""
        return int(self._h.get_total_count())

    def percentile(self, p: float) -> float | None:
        """The ``p``-th percentile (0..100) in seconds, or None when empty."""
        if self.count == 0:
            return None
        return float(self._h.get_value_at_percentile(p)) / 1e6

    def mean(self) -> float | None:
        """Mean in seconds, or None when empty."""
        return float(self._h.get_mean_value()) / 1e6 if self.count else None

    def max(self) -> float | None:
        """Largest recorded value in seconds (bucket-equivalent), or None when empty."""
        return float(self._h.get_max_value()) / 1e6 if self.count else None

    def merge(self, other: LatencyHistogram) -> None:
        """Add every count of ``other`` into this histogram (exact)."""
        self._h.add(other._h)

    def encode(self) -> str:
        """The histogram in HdrHistogram's standard compressed base64 form."""
        encoded = self._h.encode()
        return encoded.decode("ascii") if isinstance(encoded, bytes) else str(encoded)

    @classmethod
    def decode(cls, encoded: str) -> LatencyHistogram:
        """Rebuild a histogram from :meth:`encode` output.

        Raises:
            ValueError: ``encoded`` is not an encoded HdrHistogram.
        """
        try:
            return cls(HdrHistogram.decode(encoded))
        except Exception as exc:  # hdrh raises assorted errors on garbage input
            raise ValueError(f"not an encoded HdrHistogram: {exc}") from exc

    def summary(self) -> dict[str, float | int | None]:
        """``{count, mean, p50, p90, p95, p99, max}`` in seconds."""
        return {
            "count": self.count,
            "mean": self.mean(),
            "p50": self.percentile(50),
            "p90": self.percentile(90),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
            "max": self.max(),
        }

    def equals(self, other: LatencyHistogram) -> bool:
        """True when both hold the same counts in the same buckets."""
        return bool(self._h.equals(other._h))
