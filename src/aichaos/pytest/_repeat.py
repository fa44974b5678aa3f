"""Repeated stochastic checks: run a test body N times and decide on its pass rate.

The pass rate ``k/n`` gets a 95 % Wilson score interval (Wilson 1927; computed by scipy, see
:func:`aichaos.scoring.proportion_ci`). The decision against the minimum rate ``m``:

* ``pass`` when the interval's low end is >= m (the true rate is very likely at least m),
* ``fail`` when its high end is < m (very likely below m),
* ``inconclusive`` otherwise: more runs are needed (see :func:`runs_needed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class RateVerdict:
    """The outcome of a repeated check.

    Attributes:
        passed: runs that passed.
        runs: runs made.
        min_pass_rate: the rate asked for, 0..1.
        low: low end of the 95 % Wilson interval of the pass rate.
        high: high end of it.
        decision: ``pass``, ``fail`` or ``inconclusive``.
    """

    passed: int
    runs: int
    min_pass_rate: float
    low: float
    high: float
    decision: str

    @property
    def rate(self) -> float:
        return self.passed / self.runs

    def __str__(self) -> str:
        return (f"{self.passed}/{self.runs} runs passed, pass rate {self.rate:.2f} "
                f"[95% CI {self.low:.2f}, {self.high:.2f}] vs min_pass_rate "
                f"{self.min_pass_rate:g}: {self.decision}")


def decide(passed: int, runs: int, min_pass_rate: float) -> RateVerdict:
    """Decide a repeated check from ``passed`` out of ``runs``.

    Raises:
        ValueError: runs < 1, passed outside 0..runs, or min_pass_rate outside [0, 1].
    """
    if not 0.0 <= min_pass_rate <= 1.0:
        raise ValueError(f"min_pass_rate: expected 0..1, got {min_pass_rate}")
    from aichaos.scoring import proportion_ci

    est = proportion_ci(passed, runs)
    decision = (PASS if est.low >= min_pass_rate else FAIL if est.high < min_pass_rate
                else INCONCLUSIVE)
    return RateVerdict(passed, runs, min_pass_rate, est.low, est.high, decision)


_Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def _wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score interval, closed form (the same figures as scipy's ``method="wilson"``)."""
    p, z2 = k / n, _Z95 * _Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def _decided(k: int, n: int, m: float, above: bool) -> bool:
    low, high = _wilson(k, n)
    return low >= m if above else high < m


def runs_needed(true_rate: float, min_pass_rate: float, *, power: float | None = None,
                max_runs: int = 10_000) -> int | None:
    """Fewest runs that decide a test whose runs each pass with probability ``true_rate``.

    Args:
        true_rate: the test's real per-run pass probability, 0..1.
        min_pass_rate: the marker's ``min_pass_rate``.
        power: None for the typical count (exactly the expected share of runs passes,
            ``round(true_rate * n)``); else the count at which the right decision (pass when
            ``true_rate > min_pass_rate``, fail when below) comes with at least this
            probability, from the binomial distribution.
        max_runs: give up above this many runs.

    Returns:
        the run count, or None when none up to ``max_runs`` decides (``true_rate`` equal or
        too close to ``min_pass_rate``).
    """
    if true_rate == min_pass_rate:
        return None
    above = true_rate > min_pass_rate
    if power is not None:
        from scipy import stats
    for n in range(1, max_runs + 1):
        if power is None:
            if _decided(round(true_rate * n), n, min_pass_rate, above):
                return n
            continue
        # the decision region is k >= k0 (pass) or k <= k0 (fail); Wilson bounds grow with k
        ks = [k for k in range(n + 1) if _decided(k, n, min_pass_rate, above)]
        if not ks:
            continue
        prob = (stats.binom.sf(ks[0] - 1, n, true_rate) if above
                else stats.binom.cdf(ks[-1], n, true_rate))
        if prob >= power:
            return n
    return None
