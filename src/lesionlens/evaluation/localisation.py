"""Quantus-style localisation metrics for **positive** attributions (Arras et al. 2022, Zhang 2018).

Follow ``quantus.metrics.localisation`` (RelevanceMassAccuracy, RelevanceRankAccuracy,
PointingGame), except that only the positive part of the attribution counts as evidence for
pathology (positive = pathological in lesionlens; cf. Quantus #211).

Shape convention: ``attribution`` and ``lesion`` are one subject's arrays of identical shape,
``(*spatial)``; ``brain`` (optional) restricts both to brain voxels. An empty lesion gives NaN.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import in_brain


def _select(attribution, lesion, brain) -> tuple[np.ndarray, np.ndarray]:
    a, m = in_brain(attribution, lesion, brain, names=("attribution", "lesion"))
    return a.astype(np.float64), m


def relevance_mass_accuracy(attribution, lesion, brain=None) -> float:
    """Share of the positive attribution mass that falls inside the lesion, in [0, 1].

    NaN when the lesion is empty or no attribution is positive.
    """
    a, m = _select(attribution, lesion, brain)
    pos = np.clip(a, 0, None)
    total = float(pos.sum())
    if not m.any() or total <= 0:
        return math.nan
    return float(pos[m].sum()) / total


def relevance_rank_accuracy(attribution, lesion, brain=None) -> float:
    """Share of the K highest-attributed voxels that lie in the lesion, K = lesion size.

    Ties at the K-th value are broken by voxel order (stable sort). NaN for an empty lesion.
    """
    a, m = _select(attribution, lesion, brain)
    k = int(m.sum())
    if k == 0:
        return math.nan
    top = np.argsort(-a, kind="stable")[:k]
    return float(m[top].sum()) / k


def pointing_game(attribution, lesion, brain=None) -> float:
    """1.0 when the maximum attribution lies in the lesion, else 0.0 (first maximum on ties).

    NaN for an empty lesion.
    """
    a, m = _select(attribution, lesion, brain)
    if not m.any():
        return math.nan
    return float(m[int(np.argmax(a))])
