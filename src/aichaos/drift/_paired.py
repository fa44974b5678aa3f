"""Paired tests for two replays of the same cases, smallest attainable p-values and the
minimum detectable effect.

When run A and run B sent the same cases, case *i*'s two observations are a pair, and the
tests condition on the case (the unit that varies most between observations):

- pass/fail, error and refusal, one observation per case and side: McNemar's test
  (McNemar 1947), exact form: under H0 the ``b`` cases that passed only in A and the ``c``
  that passed only in B split as Binomial(b + c, 1/2), p = two-sided binomial test
  (``scipy.stats.binomtest``). Concordant cases carry no information about the change.
- continuous metrics (latency, TTFT, score, output length), and rates of cases repeated
  more than once (each case's own rate): Wilcoxon's signed-rank test (Wilcoxon 1945) on
  the differences B - A, zero differences dropped (Wilcoxon's convention), p from the exact
  sign-flip distribution while 2^n <= 65,536 (ties included), else the normal
  approximation with tie correction. Effect size: the matched-pairs rank-biserial
  correlation r = (T+ - T-) / (T+ + T-) (Kerby 2014), on Cliff's delta's scale, so the same
  negligible bound 0.147 (Romano et al. 2006) applies.

Every test also reports the smallest p-value it could reach on the data's margins
(``min_p``): 2 / 2^(b + c) for McNemar, 2 / 2^n for Wilcoxon on n non-zero differences.
The comparison's multiplicity step does not spend alpha on a metric whose ``min_p`` is above
its level (Tarone 1990; see ``aichaos.drift._family``).

Minimum detectable effect (:func:`mde`), in the metric's unit, at the level the metric was
tested at: the shift with 80 % power by the normal approximation, for rank tests with their
asymptotic efficiency 3/pi relative to the t test (Hodges & Lehmann 1956), never below the
smallest change that can reach significance at all (for McNemar: ``d_min / n`` cases
flipping the same way, d_min = ceil(log2(2 / level))); ``inf`` when no change can reach
the level at this n.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from aichaos.drift._stats import CLIFF_NEGLIGIBLE, COHEN_H_SMALL, MIN_N, SampleTest, cohens_h

#: sign flips enumerated exactly up to this many (2^16 pairs' worth)
EXACT_FLIPS = 2**16
POWER = 0.8


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact McNemar p-value (McNemar 1947): two-sided binomial test of ``only_b`` successes
    in ``only_a + only_b`` discordant pairs at 1/2; 1.0 when there is no discordant pair."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    return float(stats.binomtest(only_b, n, 0.5).pvalue)


def compare_paired_rates(a: Sequence[bool], b: Sequence[bool]) -> SampleTest:
    """McNemar's exact test of paired 0/1 outcomes (``a[i]``, ``b[i]`` = case i in runs A, B).

    The effect is Cohen's h between the two marginal rates (signed, positive when B's rate is
    higher), material from 0.2.
    """
    n = len(a)
    if n < MIN_N:
        return SampleTest("none", None, None, "cohens_h", False, 1.0)
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    h = cohens_h(sum(a) / n, sum(b) / n)
    return SampleTest("mcnemar_exact", mcnemar_exact(only_a, only_b), h, "cohens_h",
                      abs(h) >= COHEN_H_SMALL, min(1.0, 2.0 * 0.5 ** (only_a + only_b)))


def rank_biserial(diffs: Sequence[float]) -> float:
    """Matched-pairs rank-biserial correlation of the differences (Kerby 2014), in [-1, 1];
    zero differences dropped."""
    d = np.asarray([x for x in diffs if x != 0], dtype=float)
    if len(d) == 0:
        return 0.0
    ranks = stats.rankdata(np.abs(d))
    plus, minus = float(ranks[d > 0].sum()), float(ranks[d < 0].sum())
    return (plus - minus) / (plus + minus)


def _exact_signed_rank_p(nonzero: Sequence[float]) -> float:
    """Two-sided exact p of Wilcoxon's signed-rank statistic by enumerating all ``2**n`` sign
    flips of the midranks (valid with ties, conditional on the ranks; the same null as
    ``scipy.stats.wilcoxon(method=PermutationMethod())`` but computed as one matrix product,
    milliseconds instead of seconds at n = 16)."""
    d = np.asarray(nonzero, dtype=float)
    ranks = stats.rankdata(np.abs(d))
    n = len(d)
    signs = (np.arange(2**n)[:, None] >> np.arange(n)) & 1  # every subset of positive signs
    t_null = signs @ ranks
    t_obs = float(ranks[d > 0].sum())
    centre = float(ranks.sum()) / 2.0
    tol = 1e-9 * max(1.0, centre)
    return float(np.mean(np.abs(t_null - centre) >= abs(t_obs - centre) - tol))


def compare_paired_continuous(a: Sequence[float], b: Sequence[float]) -> SampleTest:
    """Wilcoxon's signed-rank test of the paired differences ``b[i] - a[i]`` (module
    docstring), with the rank-biserial correlation as the effect (positive: B larger)."""
    if len(a) < MIN_N:
        return SampleTest("none", None, None, "rank_biserial", False, 1.0)
    d = [float(y) - float(x) for x, y in zip(a, b, strict=True)]
    nonzero = [x for x in d if x != 0]
    n = len(nonzero)
    if n == 0:
        return SampleTest("wilcoxon_signed_rank", 1.0, 0.0, "rank_biserial", False, 1.0)
    if 2**n <= EXACT_FLIPS:
        p = _exact_signed_rank_p(nonzero)
    else:
        p = float(stats.wilcoxon(nonzero, zero_method="wilcox", method="approx").pvalue)
    r = rank_biserial(d)
    return SampleTest("wilcoxon_signed_rank", min(1.0, p), r, "rank_biserial",
                      abs(r) >= CLIFF_NEGLIGIBLE, min(1.0, 2.0 * 0.5 ** n))


def _z(level: float) -> float:
    return float(stats.norm.ppf(1.0 - level / 2.0) + stats.norm.ppf(POWER))


def mde(kind: str, *, paired: bool, level: float, n_a: int, n_b: int,
        spread: float | None = None, rate: float | None = None) -> float | None:
    """Minimum detectable effect at ``level`` (module docstring), in the metric's unit.

    Args:
        kind: ``rate`` or ``continuous``; anything else gives None.
        paired: the runs were compared pair by pair (``n_a`` = ``n_b`` = pairs).
        level: the two-sided level the metric was tested at (its share of alpha).
        n_a, n_b: values on each side (pairs when paired).
        spread: standard deviation of the paired differences (paired) or the pooled
            standard deviation (unpaired), continuous metrics.
        rate: run A's rate (unpaired rates: the change is measured from it).

    Returns:
        the smallest |B - A| detectable with 80 % power, ``inf`` when nothing can reach
        ``level`` at this n, None when it cannot be computed (no spread, no rate).
    """
    if level <= 0 or min(n_a, n_b) < MIN_N:
        return math.inf
    if kind == "rate" and paired:
        d_min = math.ceil(math.log2(2.0 / level) - 1e-12)
        return d_min / n_a if d_min <= n_a else math.inf
    if kind == "rate":
        if rate is None:
            return None
        h = _z(level) * math.sqrt(1.0 / n_a + 1.0 / n_b)
        phi = 2.0 * math.asin(math.sqrt(rate))
        lower = math.sin(max(0.0, phi - h) / 2.0) ** 2
        upper = math.sin(min(math.pi, phi + h) / 2.0) ** 2
        return rate - lower if rate > 0 else upper - rate
    if kind != "continuous" or spread is None:
        return None
    if paired:
        if 2.0 * 0.5**n_a > level:
            return math.inf
        return _z(level) * spread / math.sqrt(n_a * 3.0 / math.pi)
    if 2.0 / math.comb(n_a + n_b, n_a) > level:
        return math.inf
    return _z(level) * spread * math.sqrt(1.0 / n_a + 1.0 / n_b) / math.sqrt(3.0 / math.pi)
