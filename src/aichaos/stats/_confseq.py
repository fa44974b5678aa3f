"""Anytime-valid confidence sequences for the mean of bounded scores (betting).

The method is the hedged capital process of Waudby-Smith & Ramdas (2023), "Estimating means
of bounded random variables by betting", JRSS-B 86(1), Theorem 3 and Section 5.1: for scores
``x_1, x_2, ...`` in [0, 1] with common mean ``mu`` and each candidate mean ``m`` on a grid,
two bettors wager on ``x_i > m`` and ``x_i < m``

    K+_t(m) = prod_i (1 + l+_i(m) (x_i - m)),    K-_t(m) = prod_i (1 - l-_i(m) (x_i - m)),

with predictable bets (chosen from ``x_1..x_{i-1}`` only). ``K_t(m) = max(K+_t(m), K-_t(m)) / 2``
is a non-negative supermartingale when ``m = mu``, so by Ville's inequality the set
``{m : K_t(m) < 1/alpha}`` contains ``mu`` at every ``t`` simultaneously with probability at
least ``1 - alpha``: a sampler may look after every case and stop when it likes.

Bets follow the paper's predictable plug-in with the variance estimate of its eq. (26):

    l_i = sqrt(2 log(2/alpha) / (n* var_{i-1}))
    l+_i(m) = min(l_i, c/m),  l-_i(m) = min(l_i, c/(1-m))

where ``n*`` is the planned number of cases: the sequence is then tightest around ``t = n*``
(the paper's "hedged" interval, its Section 3, Remark 3), and it stays valid at every other
``t`` because ``n*`` is fixed before the first score. ``c = 3/4``, one of the two values the
paper suggests (the faster one to tighten when every case passes).
With ``planned=None`` the bet uses ``t log(1 + t)`` in place of ``n*`` (eq. 27), which spreads
the width evenly over time. The reported interval is the running intersection, also valid.

Units: scores are dimensionless in [0, 1]; one score per *independent unit* (a case), never one
per request, so repeats of a case are averaged before they reach this module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

GRID_POINTS = 2001
BET_CAP = 0.75  # c in the paper's truncation min(l, c/m); it suggests 1/2 or 3/4


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean with an anytime-valid interval: ``low <= mean <= high`` over ``n`` units.

    Attributes:
        mean: sample mean of the scores, in [0, 1].
        low, high: the confidence sequence's bounds after ``n`` scores.
        n: number of independent units (cases) seen.
        confidence: 1 - alpha.
        method: the method's name, for reports.
    """

    mean: float
    low: float
    high: float
    n: int
    confidence: float = 0.95
    method: str = "betting-cs"

    @property
    def width(self) -> float:
        return self.high - self.low

    def decides(self, threshold: float) -> bool | None:
        """True when the whole interval is at or above ``threshold``, False when wholly below,
        None (open) when the interval straddles it."""
        if self.low >= threshold:
            return True
        if self.high < threshold:
            return False
        return None

    def as_dict(self) -> dict[str, float | int | str]:
        return {"mean": self.mean, "ci_low": self.low, "ci_high": self.high, "n": self.n,
                "confidence": self.confidence, "method": self.method}


class BettingCS:
    """Incremental betting confidence sequence for a mean in [0, 1].

    Feed scores with :meth:`update`; read :attr:`interval` at any time.

    Args:
        confidence: 1 - alpha, in (0, 1).
        planned: the planned number of units ``n*`` the bets are tuned for (see the module
            docstring), or None for the time-uniform bet.
        grid: number of candidate means on [0, 1].

    Raises:
        ValueError: confidence outside (0, 1), planned < 1, or a score outside [0, 1].
    """

    def __init__(self, confidence: float = 0.95, *, planned: int | None = None,
                 grid: int = GRID_POINTS) -> None:
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {confidence}")
        if planned is not None and planned < 1:
            raise ValueError(f"planned must be >= 1, got {planned}")
        self.confidence = confidence
        self.planned = planned
        self._alpha = 1 - confidence
        self._m = np.linspace(0.0, 1.0, grid)
        with np.errstate(divide="ignore"):  # c/0 = inf: no cap at the ends of [0, 1]
            self._cap_up = BET_CAP / self._m
            self._cap_down = BET_CAP / (1 - self._m)
        self._log_up = np.zeros(grid)
        self._log_down = np.zeros(grid)
        self._alive = np.ones(grid, dtype=bool)
        self._n = 0
        self._sum = 0.0
        self._sq_dev = 0.0
        self._mu_hat = 0.5
        self._var_hat = 0.25

    @property
    def n(self) -> int:
        return self._n

    def _bet(self) -> float:
        t = self._n + 1
        scale = self.planned if self.planned is not None else t * math.log1p(t)
        return math.sqrt(2 * math.log(2 / self._alpha) / (scale * self._var_hat))

    def update(self, score: float) -> Interval:
        """Add one unit's score and return the interval after it.

        Raises:
            ValueError: ``score`` is not a finite number in [0, 1].
        """
        x = float(score)
        if not (0.0 <= x <= 1.0):
            raise ValueError(f"scores must lie in [0, 1], got {score!r}")
        lam = self._bet()
        m = self._m
        up = np.minimum(lam, self._cap_up)
        down = np.minimum(lam, self._cap_down)
        self._log_up += np.log1p(up * (x - m))
        self._log_down += np.log1p(-down * (x - m))
        log_k = np.maximum(self._log_up, self._log_down) - math.log(2)
        self._alive &= log_k < math.log(1 / self._alpha)
        # predictable estimates for the next bet (paper, eq. 26)
        self._n += 1
        self._sum += x
        self._sq_dev += (x - self._mu_hat) ** 2
        self._mu_hat = (0.5 + self._sum) / (self._n + 1)
        self._var_hat = (0.25 + self._sq_dev) / (self._n + 1)
        return self.interval

    @property
    def interval(self) -> Interval:
        """The running-intersection interval so far ([0, 1] before any score)."""
        mean = self._sum / self._n if self._n else float("nan")
        alive = np.flatnonzero(self._alive)
        if alive.size == 0:  # cannot happen with probability > alpha; keep the mean
            low = high = mean
        else:
            step = 1.0 / (len(self._m) - 1)
            low = max(0.0, float(self._m[alive[0]]) - step)
            high = min(1.0, float(self._m[alive[-1]]) + step)
        return Interval(mean, low, high, self._n, self.confidence)


def betting_interval(scores: Iterable[float], confidence: float = 0.95, *,
                     planned: int | None = None) -> Interval:
    """Interval for the mean of ``scores`` (each in [0, 1]) after seeing all of them.

    ``planned`` defaults to the number of scores (the fixed-n use of the same sequence).

    Raises:
        ValueError: no scores, or a score outside [0, 1].
    """
    values: Sequence[float] = list(scores)
    if not values:
        raise ValueError("interval of no scores")
    cs = BettingCS(confidence, planned=planned if planned is not None else len(values))
    for x in values:
        cs.update(x)
    return cs.interval
