"""Patch support of feature/head models (the brain-restricted pooling of
:class:`~lesionlens.monotone.InterpretableMonotoneClassifier`), for callers that split
``forward_features`` and ``forward_head`` (losses, counterfactuals). Shapes: x (B, C, *spatial),
support (B, 1, *spatial) bool or ``None`` (= every patch), logits (B,).
"""

from __future__ import annotations

from torch import Tensor, nn


def input_support(model: nn.Module, x: Tensor) -> Tensor | None:
    """``model.input_support(x)`` when the model has one, else ``None``."""
    method = getattr(model, "input_support", None)
    return None if method is None else method(x)


def head_logits(model: nn.Module, features: Tensor, support: Tensor | None) -> Tensor:
    """``model.forward_head(features[, support])``: logits (B,) of any feature/head model."""
    if support is None:
        return model.forward_head(features)
    return model.forward_head(features, support)
