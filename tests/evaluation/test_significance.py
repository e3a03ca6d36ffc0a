"""Paired permutation test: known effect, no effect, exact enumeration; Bonferroni."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lesionlens.evaluation import bonferroni, paired_permutation_test


def test_known_effect_gives_small_p():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, 30)
    better = base + 0.1 + rng.normal(0, 0.03, 30)
    p = paired_permutation_test(better, base, n_permutations=10_000, seed=0)
    assert p < 1e-3
    assert p >= 1 / 10_001  # randomised p-values are never 0


def test_no_effect_is_rarely_significant():
    rejections = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        a, b = rng.normal(0.5, 0.1, (2, 15))
        rejections += paired_permutation_test(a, b, n_permutations=500, seed=seed) < 0.05
    assert rejections <= 10  # ≤ 10 % false positives at the 5 % level


def test_exact_enumeration_for_few_subjects():
    d = np.array([0.3, -0.1, 0.2, 0.25, 0.05])
    observed = abs(d.mean())
    flips = [abs((np.array(s) * d).mean()) for s in itertools.product((-1, 1), repeat=d.size)]
    expected = np.mean(np.array(flips) >= observed - 1e-12)
    p = paired_permutation_test(d, np.zeros(5), n_permutations=10_000, seed=0)
    assert p == pytest.approx(expected)


def test_seeded_and_degenerate_inputs():
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 40))
    assert paired_permutation_test(a, b, 2000, seed=3) == paired_permutation_test(a, b, 2000, 3)
    assert paired_permutation_test(a, a) == 1.0
    with pytest.raises(ValueError, match="at least 2"):
        paired_permutation_test([0.1], [0.2])


def test_bonferroni():
    np.testing.assert_allclose(bonferroni([0.01, 0.2, np.nan, 0.6]), [0.03, 0.6, np.nan, 1.0])
