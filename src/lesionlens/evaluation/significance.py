"""Paired permutation test and Bonferroni correction (thesis ch. 5 §2: 10,000 permutations,
95 % level, Bonferroni; † marks a significant difference from the reference method).

Shape convention: ``a`` and ``b`` are ``(N,)`` per-subject values paired by position.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_scores, same_shape


def paired_permutation_test(a, b, n_permutations: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of mean(a − b) = 0 by sign-flipping the paired differences.

    Uses ``scipy.stats.permutation_test(permutation_type="samples")``: exact when the 2^N sign
    patterns number at most ``n_permutations``, otherwise ``n_permutations`` random flips drawn
    from ``seed`` with p = (1 + #{|T*| ≥ |T|}) / (1 + n_permutations). Identical samples give 1.0.
    """
    from scipy.stats import permutation_test

    x = as_scores(a, "a").astype(np.float64).reshape(-1)
    y = as_scores(b, "b").astype(np.float64).reshape(-1)
    same_shape(x, y, "a", "b")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    if x.size < 2:
        raise ValueError(f"a permutation test needs at least 2 paired subjects, got {x.size}")
    if np.array_equal(x, y):
        return 1.0

    def mean_difference(u, v, axis):
        return np.mean(u - v, axis=axis)

    result = permutation_test(
        (x, y),
        mean_difference,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_permutations,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(min(1.0, result.pvalue))


def bonferroni(p_values) -> np.ndarray:
    """Bonferroni-adjusted p-values ``min(1, p · m)``, m = number of finite p-values."""
    p = np.asarray(p_values, dtype=np.float64)
    m = int(np.isfinite(p).sum())
    return np.where(np.isfinite(p), np.minimum(1.0, p * max(m, 1)), math.nan)
