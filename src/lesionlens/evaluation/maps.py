"""Comparisons and properties of attribution maps (thesis ch. 5 Eq. 5.12 and Eq. 5.1).

Shape convention: a map is one subject's ``(*spatial)`` array, e.g. ``(X, Y, Z)``; ``brain`` is a
bool array of the same shape selecting the voxels that count.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_binary, as_scores, same_shape


def map_correlation(a, b, brain=None) -> float:
    """Pearson correlation ``Cov(A, B) / (σ_A σ_B)`` over brain voxels (thesis Eq. 5.12).

    NaN when either map is constant over the selected voxels (the correlation is undefined).
    """
    x, y = as_scores(a, "a"), as_scores(b, "b")
    same_shape(x, y, "a", "b")
    if brain is not None:
        m = as_binary(brain, "brain")
        same_shape(x, m, "a", "brain")
        x, y = x[m], y[m]
    x = x.astype(np.float64).reshape(-1)
    y = y.astype(np.float64).reshape(-1)
    if x.size < 2:
        return math.nan
    x -= x.mean()
    y -= y.mean()
    denom = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / denom if denom > 0 else math.nan


def total_variation(attribution, reduction: str = "sum") -> float:
    """Anisotropic total variation Σ_axes Σ |A_{i+1} − A_i| over every axis (thesis Eq. 5.1, 3-D).

    ``reduction="mean"`` divides by the number of voxels (comparable across grid sizes).
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    a = as_scores(attribution, "attribution").astype(np.float64)
    tv = sum(float(np.abs(np.diff(a, axis=ax)).sum()) for ax in range(a.ndim))
    return tv / a.size if reduction == "mean" and a.size else tv
