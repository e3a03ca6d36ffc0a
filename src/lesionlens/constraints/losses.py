"""Penalties on attribution maps (thesis §5.II–III): voxel BCE, total variation, Ross' L2.

Maps are (N, C, *spatial); ``weight`` tensors broadcast to them (1 = voxel counts, 0 = ignored).
Every mean is a :func:`~lesionlens.rank_pooling.pooled_mean`: over the global batch under DDP.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..rank_pooling import pooled_mean


def attribution_bce(
    maps: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Thesis eq. 5.7/5.8: BCE(σ(A), target), averaged over the voxels with non-zero weight.

    Each attribution is read as the logit of a voxel classifier (``BCEWithLogitsLoss``); target 0
    = healthy voxel, 1 = lesion voxel. Returns 0 (graph-free) when no voxel counts.
    """
    target = target.expand_as(maps).to(maps.dtype)
    per_voxel = F.binary_cross_entropy_with_logits(maps, target, reduction="none")
    if weight is None:
        return pooled_mean(per_voxel.sum(), per_voxel.numel())
    weight = weight.expand_as(maps).to(maps.dtype)
    return pooled_mean((per_voxel * weight).sum(), weight.sum(dtype=torch.float32))


def total_variation(maps: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Anisotropic TV (Erion et al. 2021, thesis eq. 5.1; third axis added in 3-D).

    Mean absolute difference between neighbours along each spatial axis, summed over axes.
    The mean (rather than eq. 5.1's sum) keeps the weight independent of the image size
    [inferred]. ``weight`` (e.g. a brain mask) keeps the differences whose two voxels count.
    """
    total = maps.new_zeros(())
    for axis in range(2, maps.ndim):
        length = maps.shape[axis]
        diff = (maps.narrow(axis, 1, length - 1) - maps.narrow(axis, 0, length - 1)).abs()
        if weight is None:
            total = total + pooled_mean(diff.sum(), diff.numel())
            continue
        w = weight.expand_as(maps).to(maps.dtype)
        pair = w.narrow(axis, 1, length - 1) * w.narrow(axis, 0, length - 1)
        count = pair.sum(dtype=torch.float32)
        total = total + pooled_mean((diff * pair).sum(), count, min_count=1.0)
    return total


def ross_l2(maps: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Ross et al. 2017, thesis eq. 5.3: Σ (A · G)² over the "uninteresting" voxels, per image.

    [code] sums over voxels; the images' sums are averaged so the weight does not depend on
    the batch size.
    """
    squared = maps.square() if weight is None else maps.square() * weight.to(maps.dtype)
    return pooled_mean(squared.sum(), maps.shape[0])
