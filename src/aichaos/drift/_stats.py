"""Two-sample tests, effect sizes and the Holm correction used to compare runs.

Test choice, by metric type and sample size (``n`` = the smaller of the two samples):

- continuous metrics (latency, TTFT, score, output length):
  ``n < 25``: Mann-Whitney U, two-sided (Mann & Whitney 1947; scipy's exact null
  distribution when both samples are < 8 and untied). With few values the two-sample
  Kolmogorov-Smirnov statistic takes only a handful of values and has little power against
  a shift, where the rank-sum test keeps an asymptotic relative efficiency of 0.955 to the
  t test under normality (Hodges & Lehmann 1956).
  ``25 <= n``, both samples <= 1000: two-sample Kolmogorov-Smirnov (Smirnov 1948), which also
  sees changes of shape (a growing latency tail), as Evidently does for numerical columns of
  at most 1000 objects.
  either sample > 1000: no p-value (every difference is "significant" at that size); drift
  when the Wasserstein distance normalised by the baseline's standard deviation reaches 0.1
  (Evidently's default threshold for large numerical samples).
  Effect size: Cliff's delta (Cliff 1993), P(B > A) - P(B < A), from the U statistic; a
  change counts only when |delta| >= 0.147, the "negligible" bound of Romano et al. (2006).
- rates (pass, error, refusal): Fisher's exact test when an expected cell count is below 5
  (Cochran 1954), else the pooled two-proportion z test. Effect size: Cohen's h
  (Cohen 1988); a change counts only when |h| >= 0.2 ("small").
- output embeddings: cosine distance between the two runs' mean embeddings, with a
  permutation test of the run labels (p = (1 + #{perm >= observed}) / (1 + permutations),
  Phipson & Smyth 2010).

Across metrics, p-values are adjusted with Holm's step-down method (Holm 1979), which controls
the family-wise error rate at ``alpha`` under any dependence between the metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

SMALL_N = 25
LARGE_N = 1000
CLIFF_NEGLIGIBLE = 0.147
COHEN_H_SMALL = 0.2
WASSERSTEIN_DRIFT = 0.1
MIN_N = 3


@dataclass(frozen=True, slots=True)
class SampleTest:
    """One two-sample test.

    Attributes:
        test: ``mann_whitney_u``, ``kolmogorov_smirnov``, ``wasserstein``, ``fisher_exact``,
            ``two_proportion_z``, ``permutation`` or ``none`` (too few values).
        p_value: two-sided p-value, or None (large-sample threshold tests, too few values).
        effect: the effect size (signed: positive when B is larger), or None.
        effect_name: ``cliffs_delta``, ``cohens_h``, ``wasserstein_normed`` or
            ``cosine_distance``.
        material: the effect is beyond the negligible bound for its measure.
        min_p: the smallest p-value the test could give on these margins (a lower bound;
            Tarone 1990): 0 when not bounded usefully, 1 when nothing can be significant.
    """

    test: str
    p_value: float | None
    effect: float | None
    effect_name: str
    material: bool
    min_p: float = 0.0


def cliffs_delta(a: Sequence[float], b: Sequence[float]) -> float:
    """Cliff's delta, P(B > A) - P(B < A), in [-1, 1] (Cliff 1993), via the U statistic."""
    u = stats.mannwhitneyu(b, a, alternative="two-sided", method="asymptotic").statistic
    return float(2.0 * u / (len(a) * len(b)) - 1.0)


def cohens_h(p_a: float, p_b: float) -> float:
    """Cohen's h = 2 asin(sqrt(p_b)) - 2 asin(sqrt(p_a)) (Cohen 1988, section 6.2)."""
    return 2.0 * math.asin(math.sqrt(p_b)) - 2.0 * math.asin(math.sqrt(p_a))


def compare_continuous(a: Sequence[float], b: Sequence[float]) -> SampleTest:
    """Compare two samples of a continuous metric (test chosen by size; module docstring)."""
    n = min(len(a), len(b))
    if n < MIN_N:
        return SampleTest("none", None, None, "cliffs_delta", False, 1.0)
    if max(len(a), len(b)) > LARGE_N:
        spread = float(np.std(a)) or 1e-12
        dist = float(stats.wasserstein_distance(a, b)) / spread
        shift = float(np.median(b) - np.median(a)) or float(np.mean(b) - np.mean(a))
        sign = 1.0 if shift > 0 else -1.0 if shift < 0 else 0.0  # tied medians: the means
        return SampleTest("wasserstein", None, sign * dist, "wasserstein_normed",
                          dist >= WASSERSTEIN_DRIFT)
    delta = cliffs_delta(a, b)
    if len(set(a) | set(b)) == 1:
        return SampleTest("mann_whitney_u", 1.0, 0.0, "cliffs_delta", False, 1.0)
    floor = rank_sum_min_p(len(a), len(b))
    if n < SMALL_N:
        p = float(stats.mannwhitneyu(a, b, alternative="two-sided", method="auto").pvalue)
        test = "mann_whitney_u"
    else:
        p = float(stats.ks_2samp(a, b).pvalue)
        test = "kolmogorov_smirnov"
    return SampleTest(test, p, delta, "cliffs_delta", abs(delta) >= CLIFF_NEGLIGIBLE,
                      min(1.0, floor))


def rank_sum_min_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value of an exact rank-sum test, 2 / C(n_a + n_b, n_a)
    (complete separation), computed in logs so large samples do not overflow."""
    log_comb = math.lgamma(n_a + n_b + 1) - math.lgamma(n_a + 1) - math.lgamma(n_b + 1)
    return min(1.0, math.exp(math.log(2.0) - log_comb))


def compare_rates(k_a: int, n_a: int, k_b: int, n_b: int) -> SampleTest:
    """Compare two proportions ``k_a/n_a`` and ``k_b/n_b`` (Fisher or z; module docstring)."""
    if min(n_a, n_b) < MIN_N:
        return SampleTest("none", None, None, "cohens_h", False, 1.0)
    p_a, p_b = k_a / n_a, k_b / n_b
    h = cohens_h(p_a, p_b)
    pooled = (k_a + k_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):
        return SampleTest("fisher_exact", 1.0, 0.0, "cohens_h", False, 1.0)
    expected = [n * q for n in (n_a, n_b) for q in (pooled, 1.0 - pooled)]
    if min(expected) < 5:
        table = [[k_a, n_a - k_a], [k_b, n_b - k_b]]
        p = float(stats.fisher_exact(table, alternative="two-sided").pvalue)
        test = "fisher_exact"
        floor = fisher_min_p(k_a + k_b, n_a, n_b)
    else:
        se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b))
        z = (p_b - p_a) / se
        p = float(2.0 * stats.norm.sf(abs(z)))
        test = "two_proportion_z"
        floor = 0.0
    return SampleTest(test, p, h, "cohens_h", abs(h) >= COHEN_H_SMALL, floor)


def fisher_min_p(successes: int, n_a: int, n_b: int) -> float:
    """The smallest two-sided Fisher p-value attainable with these margins: the summed
    probability of the tables no more likely than the least likely one (Tarone 1990)."""
    dist = stats.hypergeom(n_a + n_b, successes, n_a)
    support = np.arange(max(0, successes - n_b), min(successes, n_a) + 1)
    pmf = dist.pmf(support)
    return float(min(1.0, pmf[pmf <= pmf.min() * (1 + 1e-7)].sum()))


def centroid_distance(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    """Cosine distance between the mean vectors of two embedding matrices (rows = texts)."""
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    denom = float(np.linalg.norm(ma) * np.linalg.norm(mb))
    return 0.0 if denom == 0.0 else float(1.0 - float(ma @ mb) / denom)


def compare_embeddings(a: NDArray[np.floating], b: NDArray[np.floating], *,
                       permutations: int = 999, seed: int = 0) -> SampleTest:
    """Permutation test of the centroid cosine distance between two embedding sets.

    Args:
        a, b: embeddings, shape (n_a, d) and (n_b, d).
        permutations: label shuffles (p-values are multiples of 1 / (permutations + 1)).
        seed: RNG seed (the p-value is reproducible).
    """
    if min(len(a), len(b)) < MIN_N:
        return SampleTest("none", None, None, "cosine_distance", False, 1.0)
    observed = centroid_distance(a, b)
    pooled = np.concatenate([a, b]).astype(np.float64)
    n, n_a = len(pooled), len(a)
    rng = np.random.default_rng(seed)
    in_a = np.argsort(rng.random((permutations, n)), axis=1)[:, :n_a]
    weights_a = np.zeros((permutations, n))
    np.put_along_axis(weights_a, in_a, 1.0 / n_a, axis=1)
    weights_b = (weights_a == 0) / (n - n_a)
    mean_a, mean_b = weights_a @ pooled, weights_b @ pooled
    norms = np.linalg.norm(mean_a, axis=1) * np.linalg.norm(mean_b, axis=1)
    cos = np.einsum("ij,ij->i", mean_a, mean_b) / np.where(norms == 0, 1.0, norms)
    hits = int(np.sum(1.0 - cos >= observed - 1e-9))
    p = (1 + hits) / (1 + permutations)
    return SampleTest("permutation", p, observed, "cosine_distance", True,
                      1.0 / (1 + permutations))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (Holm 1979), same order; None entries stay None.

    adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)) over the m non-None values
    sorted ascending.
    """
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
