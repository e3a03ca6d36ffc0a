"""Threshold rules on synthetic maps with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from lesionlens.evaluation import (
    dice_curve,
    healthy_fpr_threshold,
    lesion_dice,
    max_f1_threshold,
    parse_threshold_rule,
)
from lesionlens.evaluation.thresholds import threshold_grid


@pytest.mark.parametrize(
    "text, kind, param, shown",
    [
        ("val-f1", "val-f1", None, "val-f1"),
        ("healthy-fpr:0.01", "healthy-fpr", 0.01, "healthy-fpr:0.01"),
        ("healthy-fpr", "healthy-fpr", 0.01, "healthy-fpr:0.01"),
        ("BEST", "best", None, "best"),
        ("0.25", "fixed", 0.25, "0.25"),
        (1e-3, "fixed", 1e-3, "0.001"),
    ],
)
def test_parse_threshold_rule(text, kind, param, shown):
    rule = parse_threshold_rule(text)
    assert (rule.kind, rule.param, rule.text) == (kind, param, shown)
    assert rule.optimistic == (kind == "best")


@pytest.mark.parametrize("bad", ["val-f2", "healthy-fpr:2", "healthy-fpr:x", "nan", ""])
def test_parse_threshold_rule_refuses_with_choices(bad):
    with pytest.raises(ValueError, match="val-f1|healthy-fpr|finite"):
        parse_threshold_rule(bad)


def test_max_f1_separable_scores_give_perfect_f1():
    rng = np.random.default_rng(0)
    target = rng.random(500) < 0.1
    scores = np.where(target, rng.uniform(2, 3, 500), rng.uniform(-1, 1, 500))
    t, f1 = max_f1_threshold(scores, target)
    assert f1 == 1.0
    assert 1 < t <= scores[target].min()


def test_max_f1_matches_brute_force_search():
    rng = np.random.default_rng(1)
    target = rng.random(300) < 0.2
    scores = rng.normal(size=300) + target
    t, f1 = max_f1_threshold(scores, target)
    brute = max(f1_score(target, scores >= c) for c in np.unique(scores))
    assert f1 == pytest.approx(brute)
    assert f1_score(target, scores >= t) == pytest.approx(brute)


def test_max_f1_needs_lesion_voxels():
    with pytest.raises(ValueError, match="lesion voxels"):
        max_f1_threshold(np.ones(4), np.zeros(4))


@pytest.mark.parametrize("fpr", [0.0, 0.01, 0.1, 0.5])
def test_healthy_fpr_threshold_is_the_smallest_admissible(fpr):
    rng = np.random.default_rng(2)
    healthy = rng.normal(size=10_000).astype(np.float32)
    t = healthy_fpr_threshold(healthy, fpr)
    assert np.mean(healthy >= t) <= fpr
    below = np.nextafter(np.float32(t), np.float32(-np.inf))
    assert np.mean(healthy >= below) > fpr


def test_healthy_fpr_threshold_with_ties_and_zero_maps():
    zeros = np.zeros(1000, np.float32)
    t = healthy_fpr_threshold(zeros, 0.01)
    assert t > 0 and np.mean(zeros >= t) == 0.0
    with pytest.raises(ValueError, match="healthy"):
        healthy_fpr_threshold(np.zeros(0), 0.01)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 60))
def test_dice_curve_matches_lesion_dice(seed, n):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=n).astype(np.float32)
    target = rng.random(n) < 0.3
    grid = np.r_[threshold_grid(scores, n=9), scores.max() + 1]
    curve = dice_curve(scores, target, grid)
    expected = [lesion_dice(scores >= np.float32(t), target) for t in grid]
    np.testing.assert_allclose(curve, expected)
