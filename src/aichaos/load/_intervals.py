"""95 % intervals of a load step's headline figures: throughput and median latency.

* Throughput: completions in a fixed window are a Poisson count (open-loop arrivals, a
  stable system), so the rate's interval is the exact (Garwood) Poisson interval on the count
  divided by the window: ``[χ²(α/2; 2n) / 2, χ²(1 − α/2; 2n + 2) / 2] / T`` (F. Garwood,
  "Fiducial limits for the Poisson distribution", Biometrika 1936).
* Median: the distribution-free order-statistic interval ``[X(l), X(n − l + 1)]``, where
  ``l`` is the largest rank with ``P(B ≤ l − 1) ≤ α/2`` for ``B ~ Binomial(n, 1/2)``; its
  coverage is at least ``1 − α`` whatever the latency distribution (W. J. Conover,
  *Practical Nonparametric Statistics*, 3rd ed. 1999, §3.2). The order statistics are read
  from the step's HdrHistogram (relative error ≤ 0.1 %), so merged Ray histograms give the
  interval of every request of the step.
"""

from __future__ import annotations

from aichaos.load._histogram import LatencyHistogram


def poisson_rate_interval(count: int, seconds: float,
                          level: float = 0.95) -> tuple[float, float] | None:
    """Exact interval of a Poisson rate from ``count`` events in ``seconds`` (events/s).

    Returns None when ``seconds`` is not positive.

    Raises:
        ValueError: a negative count or a level outside (0, 1).
    """
    if count < 0 or not 0 < level < 1:
        raise ValueError(f"poisson interval: expected count >= 0 and 0 < level < 1, got "
                         f"{count!r}, {level!r}")
    if seconds <= 0:
        return None
    from scipy.stats import chi2  # imported when used: Ray workers import aichaos.load

    alpha = 1 - level
    lo = 0.0 if count == 0 else float(chi2.ppf(alpha / 2, 2 * count)) / 2
    hi = float(chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return lo / seconds, hi / seconds


def median_interval(hist: LatencyHistogram,
                    level: float = 0.95) -> tuple[float, float] | None:
    """Order-statistic interval of the median of the values in ``hist``, seconds.

    Returns None when the sample is too small for the level (``2 · 0.5ⁿ > 1 − level``: n < 6
    at 95 %).
    """
    n = hist.count
    alpha = 1 - level
    if n == 0 or 2 * 0.5 ** n > alpha:
        return None
    from scipy.stats import binom

    low_rank = max(1, int(binom.ppf(alpha / 2, n, 0.5)))  # P(B <= low_rank - 1) < alpha/2
    high_rank = n - low_rank + 1
    lo = hist.percentile(100 * low_rank / n)
    hi = hist.percentile(100 * high_rank / n)
    assert lo is not None and hi is not None
    return lo, hi
