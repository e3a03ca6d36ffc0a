"""Anomaly maps for ``explain``: one attribution per image, positive = evidence for pathology."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..models.utils import eval_mode
from ._base import Target


def attribution_map(
    model: nn.Module,
    x: torch.Tensor,
    method: str = "g",
    target: Target = None,
    eval: bool = True,
    **kwargs: Any,
) -> torch.Tensor:
    """Detached attribution map (B, C, *spatial) of the pathological logit.

    Sign convention (thesis ch. 5, DESIGN "Maps directory"): positive values push the decision
    towards "pathological" and are the lesion candidates; negative values are healthy evidence.

    Args:
        model: a classifier returning the pathological logit.
        x: (B, C, *spatial).
        method: an ``ATTRIBUTIONS`` name ("g", "ixg", "ig", "eg", "ieg", "gradcam", "occlusion").
        target: see :func:`lesionlens.attributions.reduce_output`.
        eval: compute in eval mode (BatchNorm running statistics), restoring the modes after;
            False keeps the model's current mode.
        **kwargs: split between the method's constructor (e.g. ``layer``, ``relu``, ``p0``,
            ``multiply_by_inputs``) and its ``attribute`` (e.g. ``n_steps``, ``seed``).
    """
    from . import create_attribution, split_kwargs

    init_kwargs, call_kwargs = split_kwargs(method, kwargs)
    explainer = create_attribution(method, model, **init_kwargs)
    if eval:
        with eval_mode(model):
            maps = explainer.attribute(x, target=target, **call_kwargs)
    else:
        maps = explainer.attribute(x, target=target, **call_kwargs)
    return maps.detach()
