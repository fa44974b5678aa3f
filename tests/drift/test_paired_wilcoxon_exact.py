"""The exact signed-rank p (all sign flips of the midranks) equals scipy's permutation one."""

import numpy as np
import pytest
from scipy import stats

from aichaos.drift._paired import _exact_signed_rank_p


@pytest.mark.parametrize("seed", range(6))
def test_exact_signed_rank_p_matches_scipy_permutation_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = np.round(rng.normal(0.4, 1.0, 12), 0)  # rounding makes ties
    d = d[d != 0]
    ours = _exact_signed_rank_p(d)
    theirs = stats.wilcoxon(d, method=stats.PermutationMethod(n_resamples=2**16)).pvalue
    assert ours == pytest.approx(float(theirs), abs=1e-9)
