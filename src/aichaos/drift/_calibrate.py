"""Page-Hinkley thresholds calibrated by simulation on each metric's own null distribution.

A threshold calibrated on N(0, 1) noise does not hold for what ``watch`` feeds its detectors:
a pass rate of 4 cases takes five values, a latency mean is skewed, and each metric had its
own detector at 5 %, so a watch of three metrics false-alarmed in 7-18 % of 50-iteration
windows per metric. Here each metric's threshold is the quantile of the largest Page-Hinkley
statistic over ``horizon`` iterations simulated from that metric's null distribution:

- the null is a bootstrap of the warm-up iterations, case by case (watch replays the same
  cases every iteration, so a case's values vary only with the system's own randomness): a
  0/1 metric's case ``j`` with ``k_j`` successes in ``w`` warm-up iterations fails and passes
  at its Jeffreys estimate (k_j + 1/2) / (w + 1), so a case that never failed in warm-up may
  still fail now and then; a continuous metric's case values are resampled from that case's
  warm-up values with Gaussian noise of Silverman's bandwidth (the smoothed bootstrap,
  Silverman 1986, "Density Estimation", section 6.4: 10 values per case do not show the
  tails); a metric with one value per iteration (a bias disparity from the
  scorecard) is resampled from its iteration values;
- the whole procedure is simulated, warm-up included, so the error of a reference estimated
  from a short warm-up is part of the null (the bootstrap calibration of a control chart,
  Gandy & Kvaløy 2013, "Guaranteed conditional performance of control charts via bootstrap
  methods", Scandinavian Journal of Statistics 40: 647-668): each simulated watch draws
  ``w`` warm-up iterations, takes their mean and standard deviation (floored) as its
  reference, and runs the detector exactly as :class:`aichaos.drift.PageHinkley` does (the
  same delta and running mean), vectorised;
- the family-wise false-alarm rate ``alpha`` over ``horizon`` iterations is split across the
  M watched metrics with Šidák's correction, 1 - (1 - alpha)^(1/M) each (Šidák 1967), and a
  two-sided metric (output length) splits its share between its two detectors.

The resulting family-wise false-alarm rate and the power are measured in
benchmarks/verdict_calibration.py (section "drift").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

#: simulated watches per calibration
SIMS = 2000
#: the smallest threshold used (sigmas of the floored reference): a metric that never varied
#: in warm-up alarms on a step of many floors at once, or a smaller one sustained for a few
#: iterations, not on one transient value 2-3 floors off (a latency spike on a busy machine)
MIN_THRESHOLD = 4.0


def sidak(alpha: float, metrics: int) -> float:
    """Per-metric false-alarm rate that keeps the family's at ``alpha`` (Šidák 1967)."""
    return float(1.0 - (1.0 - alpha) ** (1.0 / max(1, metrics)))


def ph_max_statistic(values: NDArray[np.floating], mu0: NDArray[np.floating] | float,
                     sigma0: NDArray[np.floating] | float, warmup: int, delta: float,
                     direction: str) -> NDArray[np.floating]:
    """The largest Page-Hinkley statistic of each row of ``values`` (shape (sims, horizon),
    the values after warm-up; ``mu0``, ``sigma0`` scalars or shape (sims, 1): each row's
    reference), computed as :meth:`PageHinkley.update` does."""
    z = (values - mu0) / sigma0
    steps = np.arange(1, z.shape[1] + 1)
    mean = np.cumsum(z, axis=1) / (warmup + steps)
    if direction == "up":
        cum = np.cumsum(z - mean - delta, axis=1)
        extreme = np.minimum(np.minimum.accumulate(cum, axis=1), 0.0)
        stat = cum - extreme
    else:
        cum = np.cumsum(z - mean + delta, axis=1)
        extreme = np.maximum(np.maximum.accumulate(cum, axis=1), 0.0)
        stat = extreme - cum
    return np.asarray(stat.max(axis=1), dtype=float)


def _bandwidth(x: NDArray[np.floating]) -> float:
    """Silverman's rule of thumb, 0.9 min(sd, IQR / 1.34) n^(-1/5) (Silverman 1986, eq.
    3.31); 0 for a constant sample (a deterministic case stays deterministic)."""
    if len(x) < 2:
        return 0.0
    sd = float(np.std(x, ddof=1))
    q75, q25 = np.percentile(x, [75, 25])
    spread = min(sd, float(q75 - q25) / 1.34) or sd
    return float(0.9 * spread * len(x) ** -0.2)


def simulate_null(warm: Sequence[dict[str, float]], *, binary: bool, length: int,
                  sims: int, rng: np.random.Generator) -> NDArray[np.floating]:
    """Simulated iteration values (shape (sims, length)) from the warm-up iterations'
    case-level values (``warm[i]``: case key -> value in iteration i; module docstring)."""
    keys = sorted({k for it in warm for k in it})
    if not keys:
        return np.zeros((sims, length))
    total = np.zeros((sims, length))
    counted = np.zeros((sims, length))
    for key in keys:
        seen = np.asarray([it[key] for it in warm if key in it], dtype=float)
        share = len(seen) / len(warm)  # how often the case has a value (answered cases)
        present = rng.random((sims, length)) < share
        if binary:  # the Jeffreys estimate: a case never failed in warm-up may fail now
            p = (float(seen.sum()) + 0.5) / (len(seen) + 1.0)
            draw = (rng.random((sims, length)) < p).astype(float)
        else:  # smoothed bootstrap: Silverman's bandwidth, so tails reach past the sample
            draw = seen[rng.integers(0, len(seen), (sims, length))]
            h = _bandwidth(seen)
            if h > 0:
                draw = draw + rng.normal(0.0, h, (sims, length))
        total += np.where(present, draw, 0.0)
        counted += present
    out = np.divide(total, counted, out=np.full((sims, length), np.nan), where=counted > 0)
    # an iteration where no case had a value: the detector skips it; reuse the previous value
    for j in range(1, length):
        gap = np.isnan(out[:, j])
        out[gap, j] = out[gap, j - 1]
    fill = float(np.nanmean([v for it in warm for v in it.values()]))
    return np.asarray(np.nan_to_num(out, nan=fill), dtype=float)


def calibrate_threshold(warm: Sequence[dict[str, float]], *, binary: bool,
                        directions: Sequence[str], alpha: float, horizon: int, delta: float,
                        sigma_floor: float, sims: int = SIMS, seed: int = 0) -> float:
    """The Page-Hinkley threshold (sigmas) giving false alarms with probability <= ``alpha``
    over ``horizon`` iterations under the metric's simulated null, warm-up included.

    Args:
        warm: the warm-up iterations' case-level values (case key -> value).
        binary: the case values are 0/1 (Jeffreys estimate) rather than continuous.
        directions: ``["up"]``, ``["down"]`` or both; the share is split between them.
        alpha: this metric's false-alarm rate (its Šidák share of the family's).
        horizon: iterations after warm-up the rate is controlled over.
        delta, sigma_floor: the detector's (see :class:`aichaos.drift.PageHinkley`).
        sims: simulated watches.
        seed: RNG seed (a calibration is reproducible).

    Returns:
        the threshold, at least :data:`MIN_THRESHOLD`.
    """
    rng = np.random.default_rng(seed)
    w = len(warm)
    values = simulate_null(warm, binary=binary, length=w + horizon, sims=sims, rng=rng)
    ref = values[:, :w]
    mu0 = ref.mean(axis=1, keepdims=True)
    sigma0 = np.maximum(ref.std(axis=1, ddof=1, keepdims=True), sigma_floor)
    share = alpha / len(directions)
    q = max(float(np.quantile(ph_max_statistic(values[:, w:], mu0, sigma0, w, delta, d),
                              1.0 - share, method="higher")) for d in directions)
    return max(MIN_THRESHOLD, q + 1e-9 if math.isfinite(q) else MIN_THRESHOLD)
