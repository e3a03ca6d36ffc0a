"""Brain support of the monotone classifier (``patch_support="brain"`` of
:class:`~lesionlens.monotone.InterpretableMonotoneClassifier`): fill the features outside the
brain, restrict the patch pooling to the brain, and helpers for callers that split
``forward_features`` and ``forward_head`` (losses, counterfactuals).

Shapes: x (B, C, *spatial), features (B, K, *spatial), support (B, 1, *spatial) bool or ``None``
(= every voxel), logits (B,).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def fill_outside_support(features: Tensor, support: Tensor) -> Tensor:
    """Replace each feature outside ``support`` by its channel's minimum inside, per sample.

    The background of a skull-stripped, z-scored scan is constant, so the encoder maps it to one
    constant feature vector (≈ 0 with zero biases) that L_nF never pushes down; a patch
    straddling the brain edge then looks more pathological than any brain patch. Filled with the
    brain's own minimum, the background is "the most healthy brain tissue" instead. Each output
    is a minimum of inputs or an input, so the map is non-decreasing in every feature and M∘fill
    stays monotone. A sample without support is returned unchanged.
    """
    support = support | ~support.flatten(1).any(1).view(-1, *(1,) * (support.ndim - 1))
    inside_min = features.masked_fill(~support, math.inf).flatten(2).amin(2)
    fill = inside_min.view(*inside_min.shape, *(1,) * (features.ndim - 2))
    return torch.where(support, features, fill)


def input_support(model: nn.Module, x: Tensor) -> Tensor | None:
    """``model.input_support(x)`` when the model has one, else ``None``."""
    method = getattr(model, "input_support", None)
    return None if method is None else method(x)


def head_logits(model: nn.Module, features: Tensor, support: Tensor | None) -> Tensor:
    """``model.forward_head(features[, support])``: logits (B,) of any feature/head model."""
    if support is None:
        return model.forward_head(features)
    return model.forward_head(features, support)
