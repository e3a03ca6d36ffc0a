"""Per-subject segmentation metrics: Dice and 95th-percentile Hausdorff distance.

Thesis ch. 2 §4.3 (Dice = voxel-level F1; Hausdorff distance, Huttenlocher 1993) and ch. 5 §2
(Dice of the thresholded positive attributions, mean ± std over pathological test subjects).

Shape convention: one subject at a time, ``pred`` and ``ref`` are binary arrays of the same
spatial shape ``(*spatial)`` (typically ``(X, Y, Z)``); the accumulator classes collect one
value per subject and aggregate to mean ± std (population std, ``ddof=0``, as numpy/MONAI).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from ._checks import as_binary, same_shape


def lesion_dice(pred: np.ndarray, ref: np.ndarray) -> float:
    """Dice = 2|P ∩ R| / (|P| + |R|) of two binary masks of one subject, shape ``(*spatial)``.

    Edge case: both masks empty → **1.0** (the prediction agrees perfectly with an empty
    reference; MONAI ``compute_dice(..., ignore_empty=False)`` does the same). Only one empty →
    0.0.

    >>> lesion_dice(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
    0.6666666666666666
    """
    p, r = as_binary(pred, "pred"), as_binary(ref, "ref")
    same_shape(p, r, "pred", "ref")
    return dice_from_counts(int(np.count_nonzero(p & r)), int(p.sum()), int(r.sum()))


def dice_from_counts(intersection: int, n_pred: int, n_ref: int) -> float:
    """Dice from voxel counts; ``n_pred == n_ref == 0`` gives 1.0 (see :func:`lesion_dice`)."""
    total = n_pred + n_ref
    return 1.0 if total == 0 else 2.0 * intersection / total


def voxel_spacing(affine: np.ndarray) -> tuple[float, ...]:
    """Voxel sizes (mm) from a 4×4 affine: the norms of its first three columns."""
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"affine must have shape (4, 4), got {affine.shape}")
    return tuple(float(v) for v in np.linalg.norm(affine[:3, :3], axis=0))


def hausdorff95(
    pred: np.ndarray, ref: np.ndarray, spacing: float | Sequence[float] | None = None
) -> float:
    """95th-percentile symmetric Hausdorff distance (mm if ``spacing`` is given, else voxels).

    Wraps MONAI ``compute_hausdorff_distance(percentile=95)`` (surface distances, Euclidean).
    Edge cases: both masks empty → 0.0; exactly one empty → NaN (undefined distance).
    """
    import torch
    from monai.metrics import compute_hausdorff_distance

    p, r = as_binary(pred, "pred"), as_binary(ref, "ref")
    same_shape(p, r, "pred", "ref")
    n_p, n_r = int(p.sum()), int(r.sum())
    if n_p == 0 and n_r == 0:
        return 0.0
    if n_p == 0 or n_r == 0:
        return math.nan
    as_t = lambda a: torch.from_numpy(a[None, None].astype(np.float32))  # noqa: E731
    with warnings.catch_warnings():  # MONAI 1.5+ warns about its own deprecated internal argument
        warnings.simplefilter("ignore", FutureWarning)
        value = compute_hausdorff_distance(
            as_t(p), as_t(r), include_background=True, percentile=95, spacing=spacing
        )
    return float(value.reshape(-1)[0])


class _PerSubject:
    """Collects one value per subject; ``aggregate`` gives mean ± std over finite values."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def reset(self) -> None:
        self.values.clear()

    def _store(self, subject_id: str, value: float) -> float:
        if subject_id in self.values:
            raise ValueError(f"subject {subject_id!r} was already added to {type(self).__name__}")
        self.values[subject_id] = float(value)
        return float(value)

    def aggregate(self) -> dict[str, float | int]:
        """``{"mean", "std", "n"}`` over subjects with a finite value (NaN when none)."""
        v = np.array([x for x in self.values.values() if math.isfinite(x)], dtype=np.float64)
        if v.size == 0:
            return {"mean": math.nan, "std": math.nan, "n": 0}
        return {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}


class LesionDice(_PerSubject):
    """Accumulating twin of :func:`lesion_dice` (``update`` one subject at a time)."""

    def update(self, subject_id: str, pred: np.ndarray, ref: np.ndarray) -> float:
        return self._store(subject_id, lesion_dice(pred, ref))


class LesionHausdorff95(_PerSubject):
    """Accumulating twin of :func:`hausdorff95`; NaN subjects are left out of the mean."""

    def update(
        self,
        subject_id: str,
        pred: np.ndarray,
        ref: np.ndarray,
        spacing: float | Sequence[float] | None = None,
    ) -> float:
        return self._store(subject_id, hausdorff95(pred, ref, spacing))
