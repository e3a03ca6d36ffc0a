"""Pooled voxel-level detection metrics: AUROC, AUROC10, AUPRC (thesis ch. 5 §2, Table 5.4).

The thesis (after Silva-Rodríguez's evaluation code) pools the voxels of all test volumes and
computes one AUROC / AUPRC, without std. lesionlens pools the voxels **inside the brain**.

Shape convention: ``scores`` and ``target`` are arrays of any identical shape (one subject's
``(X, Y, Z)`` volume or an already flattened ``(N,)`` vector); ``brain`` (optional, bool, same
shape) selects the voxels that count. Positive scores = evidence for pathology.

AUROC10 normalisation: the ROC area for FPR ∈ [0, 0.1] **divided by 0.1**, so a perfect detector
scores 1 and a random one 0.05 (thesis ch. 2: "partial AUROC up to FPR p %, normalised by p").
scikit-learn's ``roc_auc_score(max_fpr=0.1)`` instead applies the McClish correction
(random → 0.5); :func:`mcclish_from_normalised` converts between the two.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import in_brain

AUROC10_MAX_FPR = 0.1


def _both_classes(t: np.ndarray) -> bool:
    n_pos = int(t.sum())
    return 0 < n_pos < t.size


def voxel_auroc(scores, target, brain=None) -> float:
    """Area under the voxel ROC curve (scikit-learn); NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    s, t = in_brain(scores, target, brain)
    return float(roc_auc_score(t, s)) if _both_classes(t) else math.nan


def partial_auroc(scores, target, brain=None, max_fpr: float = AUROC10_MAX_FPR) -> float:
    """ROC area for FPR ∈ [0, max_fpr] divided by ``max_fpr`` (perfect → 1, random → max_fpr/2).

    The curve is linearly interpolated at ``max_fpr`` (as scikit-learn does before McClish).
    NaN when only one class is present.
    """
    from sklearn.metrics import roc_curve

    if not 0 < max_fpr <= 1:
        raise ValueError(f"max_fpr must be in (0, 1], got {max_fpr}")
    s, t = in_brain(scores, target, brain)
    if not _both_classes(t):
        return math.nan
    fpr, tpr, _ = roc_curve(t, s)
    stop = int(np.searchsorted(fpr, max_fpr, side="right"))
    if stop < len(fpr):
        tpr_at = np.interp(max_fpr, fpr[stop - 1 : stop + 1], tpr[stop - 1 : stop + 1])
        fpr = np.append(fpr[:stop], max_fpr)
        tpr = np.append(tpr[:stop], tpr_at)
    return float(np.trapezoid(tpr, fpr) / max_fpr)


def voxel_auroc10(scores, target, brain=None) -> float:
    """:func:`partial_auroc` up to FPR 0.1, normalised by dividing by 0.1 (see module doc)."""
    return partial_auroc(scores, target, brain, AUROC10_MAX_FPR)


def mcclish_from_normalised(value: float, max_fpr: float = AUROC10_MAX_FPR) -> float:
    """Convert a partial AUROC normalised by ``max_fpr`` to scikit-learn's McClish-corrected one."""
    min_area, max_area = 0.5 * max_fpr**2, max_fpr
    return 0.5 * (1 + (value * max_fpr - min_area) / (max_area - min_area))


def voxel_auprc(scores, target, brain=None) -> float:
    """Area under the precision-recall curve as average precision (scikit-learn, step-wise).

    NaN when only one class is present (no positive voxel, or no negative one).
    """
    from sklearn.metrics import average_precision_score

    s, t = in_brain(scores, target, brain)
    return float(average_precision_score(t, s)) if _both_classes(t) else math.nan


class PooledVoxelScores:
    """Accumulates brain voxels of many subjects and scores them together (exact, no binning).

    Memory: each voxel is kept as float32 score + bool label, 5 bytes; a 2 mm MNI volume holds
    ≈ 0.2 M brain voxels (1 MB), a 1 mm one ≈ 1.5 M (7.5 MB), so 100 subjects at 1 mm take
    ≈ 750 MB, plus a transient ≈ 3× that inside scikit-learn's sort during :meth:`aggregate`.

    >>> pooled = PooledVoxelScores()
    >>> pooled.update(np.array([0.1, 0.9, 0.2]), np.array([0, 1, 0]))
    >>> pooled.aggregate()["auroc"]
    1.0
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._scores: list[np.ndarray] = []
        self._targets: list[np.ndarray] = []

    def update(self, scores, target, brain=None) -> None:
        s, t = in_brain(scores, target, brain)
        self._scores.append(s.astype(np.float32, copy=False))
        self._targets.append(t)

    @property
    def n_voxels(self) -> int:
        return int(sum(s.size for s in self._scores))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All pooled ``(scores (N,) float32, target (N,) bool)``."""
        if not self._scores:
            return np.zeros(0, np.float32), np.zeros(0, bool)
        return np.concatenate(self._scores), np.concatenate(self._targets)

    def aggregate(self) -> dict[str, float]:
        """``{"auroc", "auroc10", "auprc"}`` of the pooled voxels (NaN if one class only)."""
        s, t = self.arrays()
        return {
            "auroc": voxel_auroc(s, t),
            "auroc10": voxel_auroc10(s, t),
            "auprc": voxel_auprc(s, t),
        }
