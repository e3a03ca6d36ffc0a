"""Metric values against MONAI / scikit-learn / scipy, edge cases and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from monai.metrics import compute_dice, compute_hausdorff_distance
from scipy.stats import pearsonr
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    recall_score,
    roc_auc_score,
)

from lesionlens.evaluation import (
    LesionDice,
    PooledVoxelScores,
    brain_mask,
    classification_metrics,
    hausdorff95,
    lesion_dice,
    map_correlation,
    mcclish_from_normalised,
    partial_auroc,
    pointing_game,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    total_variation,
    voxel_auprc,
    voxel_auroc,
    voxel_auroc10,
)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a[None, None].astype(np.float32))


@pytest.mark.parametrize("seed", range(4))
def test_dice_matches_monai(seed):
    rng = np.random.default_rng(seed)
    pred, ref = rng.random((2, 12, 10, 8)) > 0.7
    expected = float(compute_dice(_t(pred), _t(ref), ignore_empty=False))
    assert lesion_dice(pred, ref) == pytest.approx(expected, rel=1e-6)


def test_dice_edge_cases_match_monai_without_ignore_empty():
    empty, one = np.zeros((4, 4, 4), bool), np.zeros((4, 4, 4), bool)
    one[1, 2, 3] = True
    for pred, ref in [(empty, empty), (one, empty), (empty, one), (one, one)]:
        expected = float(compute_dice(_t(pred), _t(ref), ignore_empty=False))
        assert lesion_dice(pred, ref) == expected
    assert lesion_dice(empty, empty) == 1.0


def test_dice_refuses_non_binary_and_shape_mismatch():
    with pytest.raises(ValueError, match="binary"):
        lesion_dice(np.array([0.0, 0.5]), np.array([0, 1]))
    with pytest.raises(ValueError, match="same shape"):
        lesion_dice(np.zeros((2, 2)), np.zeros((2, 3)))


def test_lesion_dice_accumulator_mean_std_and_reset():
    acc = LesionDice()
    acc.update("a", np.array([1, 1, 0]), np.array([1, 1, 0]))
    acc.update("b", np.array([1, 0, 0]), np.array([0, 1, 0]))
    assert acc.aggregate() == {"mean": 0.5, "std": 0.5, "n": 2}
    with pytest.raises(ValueError, match="already"):
        acc.update("a", np.array([1]), np.array([1]))
    acc.reset()
    assert acc.aggregate()["n"] == 0


@pytest.mark.filterwarnings("ignore::FutureWarning")  # MONAI's own deprecated internal argument
@pytest.mark.parametrize("spacing", [None, (2.0, 1.0, 3.0)])
def test_hd95_matches_monai(spacing):
    rng = np.random.default_rng(1)
    pred, ref = rng.random((2, 16, 14, 12)) > 0.9
    expected = compute_hausdorff_distance(
        _t(pred), _t(ref), include_background=True, percentile=95, spacing=spacing
    )
    assert hausdorff95(pred, ref, spacing) == pytest.approx(float(expected), rel=1e-6)


def test_hd95_edge_cases():
    empty, one = np.zeros((6, 6, 6), bool), np.zeros((6, 6, 6), bool)
    one[2, 2, 2] = True
    shifted = np.roll(one, 3, axis=0)
    assert hausdorff95(empty, empty) == 0.0
    assert math.isnan(hausdorff95(one, empty))
    assert hausdorff95(one, shifted, spacing=(2.0, 1.0, 1.0)) == pytest.approx(6.0)


@pytest.mark.parametrize("seed", range(3))
def test_voxel_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    target = rng.random((10, 10, 10)) < 0.05
    scores = rng.normal(size=target.shape).astype(np.float32) + 1.5 * target
    brain = rng.random(target.shape) < 0.8
    s, t = scores[brain], target[brain]
    assert voxel_auroc(scores, target, brain) == pytest.approx(roc_auc_score(t, s))
    assert voxel_auprc(scores, target, brain) == pytest.approx(average_precision_score(t, s))
    # sklearn's max_fpr is McClish-corrected; ours divides the partial area by 0.1.
    ours = voxel_auroc10(scores, target, brain)
    assert mcclish_from_normalised(ours) == pytest.approx(roc_auc_score(t, s, max_fpr=0.1))
    assert 0.0 <= ours <= 1.0
    assert partial_auroc(s, t, max_fpr=1.0) == pytest.approx(roc_auc_score(t, s))


def test_auroc10_reference_values():
    target = np.array([1, 1, 0, 0, 0, 0])
    assert voxel_auroc10(np.array([6, 5, 4, 3, 2, 1]), target) == 1.0
    assert voxel_auroc10(np.array([1, 2, 3, 4, 5, 6]), target) == 0.0
    # random scores: the diagonal gives area 0.1²/2, i.e. 0.05 after normalisation.
    rng = np.random.default_rng(0)
    t = rng.random(200_000) < 0.3
    assert voxel_auroc10(rng.random(t.size), t) == pytest.approx(0.05, abs=0.01)


@pytest.mark.parametrize(
    "scores, target",
    [
        (np.zeros(50), np.r_[np.ones(5), np.zeros(45)]),  # constant map
        (np.r_[1.0, np.zeros(49)], np.r_[1.0, np.zeros(49)]),  # single positive voxel
        (np.random.default_rng(0).normal(size=50), np.r_[1.0, np.zeros(49)]),
    ],
)
def test_voxel_metrics_edge_inputs_match_sklearn(scores, target):
    assert voxel_auroc(scores, target) == pytest.approx(roc_auc_score(target, scores))
    assert voxel_auprc(scores, target) == pytest.approx(average_precision_score(target, scores))
    sk = roc_auc_score(target, scores, max_fpr=0.1)
    assert mcclish_from_normalised(voxel_auroc10(scores, target)) == pytest.approx(sk)


def test_voxel_metrics_one_class_is_nan():
    for fn in (voxel_auroc, voxel_auroc10, voxel_auprc):
        assert math.isnan(fn(np.zeros(5), np.zeros(5)))
        assert math.isnan(fn(np.zeros(5), np.ones(5)))


def test_pooled_scores_equal_concatenated_scores():
    rng = np.random.default_rng(2)
    pooled, all_s, all_t = PooledVoxelScores(), [], []
    for _ in range(3):
        t = rng.random((6, 6, 6)) < 0.1
        s = rng.normal(size=t.shape) + t
        b = rng.random(t.shape) < 0.7
        pooled.update(s, t, b)
        all_s.append(s[b])
        all_t.append(t[b])
    s, t = np.concatenate(all_s), np.concatenate(all_t)
    out = pooled.aggregate()
    assert out["auroc"] == pytest.approx(roc_auc_score(t, s), rel=1e-6)
    assert out["auprc"] == pytest.approx(average_precision_score(t, s), rel=1e-6)
    assert pooled.n_voxels == t.size
    pooled.reset()
    assert pooled.n_voxels == 0


def test_classification_metrics_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 40)
    prob = np.clip(y * 0.4 + rng.random(40) * 0.6, 0, 1)
    pred = (prob > 0.5).astype(int)
    out = classification_metrics(y, pred, prob)
    assert out["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert out["tpr"] == pytest.approx(recall_score(y, pred))
    assert out["tnr"] == pytest.approx(recall_score(1 - y, 1 - pred))
    assert out["auc"] == pytest.approx(roc_auc_score(y, prob))
    assert out["accuracy"] == pytest.approx(np.mean(y == pred))


def test_classification_one_class_gives_nan_rate():
    out = classification_metrics([1, 1], [1, 0], [0.9, 0.2])
    assert out["tpr"] == 0.5 and math.isnan(out["tnr"]) and math.isnan(out["auc"])


def test_map_correlation_matches_scipy_inside_brain():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(8, 8, 8))
    b = a + rng.normal(size=a.shape)
    brain = rng.random(a.shape) < 0.5
    b_out = np.where(brain, b, 100.0)  # voxels outside the brain must not count
    assert map_correlation(a, b_out, brain) == pytest.approx(pearsonr(a[brain], b[brain])[0])
    assert math.isnan(map_correlation(np.ones(10), np.arange(10.0)))


def test_total_variation_by_hand():
    a = np.zeros((3, 3, 3))
    a[1, 1, 1] = 2.0
    assert total_variation(a) == pytest.approx(2.0 * 2 * 3)
    assert total_variation(a, "mean") == pytest.approx(12.0 / 27)
    assert total_variation(np.full((4, 4, 4), 5.0)) == 0.0


def test_localisation_metrics_reference_values():
    lesion = np.array([0, 1, 1, 0, 0], bool)
    attribution = np.array([-5.0, 2.0, 1.0, 1.0, 0.0])
    assert relevance_mass_accuracy(attribution, lesion) == pytest.approx(3 / 4)
    assert relevance_rank_accuracy(attribution, lesion) == pytest.approx(1.0)
    assert pointing_game(attribution, lesion) == 1.0
    assert pointing_game(-attribution, lesion) == 0.0
    assert math.isnan(relevance_mass_accuracy(np.zeros(5), lesion))
    assert math.isnan(pointing_game(attribution, np.zeros(5, bool)))


def test_brain_mask_uses_border_mode_per_channel():
    image = np.full((2, 8, 8, 8), -3.0, np.float32)
    image[0, 2:5, 2:5, 2:5] = 1.0
    image[1, 5:7, 5:7, 5:7] = 2.0
    image[0, 0, 0, 0] = 7.0  # a noisy corner does not move the background value
    mask = brain_mask(image)
    assert mask.shape == (8, 8, 8)
    assert mask.sum() == 27 + 8 + 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=40),
    st.lists(st.booleans(), min_size=1, max_size=40),
)
def test_dice_properties(p, r):
    n = min(len(p), len(r))
    p, r = np.array(p[:n]), np.array(r[:n])
    d = lesion_dice(p, r)
    assert 0.0 <= d <= 1.0
    assert d == lesion_dice(r, p)
    assert (d == 1.0) == bool(np.array_equal(p, r))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.1, 10.0), st.floats(-5.0, 5.0))
def test_voxel_auroc_invariant_to_increasing_transform(seed, scale, shift):
    rng = np.random.default_rng(seed)
    t = rng.random(60) < 0.3
    t[0], t[1] = True, False
    s = rng.normal(size=60)
    assert voxel_auroc(scale * s + shift, t) == pytest.approx(voxel_auroc(s, t), abs=1e-9)
    assert voxel_auprc(np.exp(s), t) == pytest.approx(voxel_auprc(s, t), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-6, 6), st.booleans()), min_size=2, max_size=30).filter(
        lambda rows: 0 < sum(y for _, y in rows) < len(rows)
    )
)
def test_balanced_accuracy_threshold_is_optimal_among_all_cuts(rows):
    from lesionlens.evaluation.classification import balanced_accuracy_threshold

    scores = np.array([s / 2 for s, _ in rows])
    labels = np.array([y for _, y in rows], bool)
    t = balanced_accuracy_threshold(scores, labels)

    def bacc(cut: float) -> float:
        p = scores > cut
        return (p[labels].mean() + (~p[~labels]).mean()) / 2

    every_cut = [scores.min() - 1, *scores, scores.max() + 1]  # "> s" realises each partition
    assert bacc(t) == pytest.approx(max(bacc(c) for c in every_cut))
    assert not np.isin(t, scores)  # a midpoint, never a score itself


def test_balanced_accuracy_threshold_refuses_one_class_and_nan():
    from lesionlens.evaluation.classification import balanced_accuracy_threshold

    with pytest.raises(ValueError, match="healthy and pathological"):
        balanced_accuracy_threshold([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError):
        balanced_accuracy_threshold([0.1, np.nan], [0, 1])
