"""Attributions inside training: one reference and one α per image, by double backprop.

Thesis §5.III (and [code] ``expected_gradients.py``): all maps are local (not multiplied by the
input). ``g``: ∂F/∂x; ``eg``: ∂F/∂x at αx + (1 − α)x′ with x′ another image of the minibatch;
``ig``: the same with x′ = 0; ``ieg``: x′ = 0 with probability p0 (0.25), else a minibatch image.
"""

from __future__ import annotations

import torch
from torch import nn

from ..attributions import ExpectedGradients, Gradient, ImprovedExpectedGradients
from ..attributions.expected import References
from .activation_masks import ConstantActivationMasks

TRAINING_ATTRIBUTIONS = ("g", "eg", "ig", "ieg")


def check_training_attribution(name: str) -> str:
    key = str(name).lower()
    if key not in TRAINING_ATTRIBUTIONS:
        raise ValueError(
            f"training attribution must be one of {TRAINING_ATTRIBUTIONS}, got {name!r}"
        )
    return key


def training_attribution(
    model: nn.Module,
    x: torch.Tensor,
    select: torch.Tensor,
    method: str = "g",
    p0: float = 0.25,
    references: References = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Differentiable maps (n, C, *spatial) of the images ``x[select]`` (graph kept).

    The path references are drawn for the whole minibatch ``x`` (so that they come from it),
    then only the selected images are passed through the model a second time, with ReLU and
    LeakyReLU masks held constant (``activation_masks.py``: exact, and a cheaper second backward).

    Args:
        model: the classifier being trained (its mode is left as is).
        x: minibatch (B, C, *spatial).
        select: (B,) bool, the images the constraint uses.
        method: "g", "eg", "ig" or "ieg".
        p0: IEG's probability of the zero reference.
        references: None (the minibatch) or a dataset tensor / sampler (see ``ExpectedGradients``).
        generator: random stream of the (reference, α) draws.
    """
    method = check_training_attribution(method)
    with ConstantActivationMasks():  # same maps and gradients, cheaper second backward
        return _maps(model, x, select, method, p0, references, generator)


def _maps(model, x, select, method, p0, references, generator) -> torch.Tensor:
    if method == "g":
        return Gradient(model).attribute(x[select], create_graph=True)
    if method == "eg":
        explainer: ExpectedGradients = ExpectedGradients(model)
    else:
        explainer = ImprovedExpectedGradients(model, p0=1.0 if method == "ig" else p0)
        if method == "ig":
            references = x.new_zeros((1, *x.shape[1:]))
    refs, alphas = explainer.sample_path(x, references, 1, generator)
    return explainer.attribute_at(x[select], refs[select], alphas[select], create_graph=True)
