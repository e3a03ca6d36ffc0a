"""Attributions inside training: one reference and one α per image, by double backprop.

Thesis §5.III (and [code] ``expected_gradients.py``): all maps are local (not multiplied by the
input). ``g``: ∂F/∂x; ``eg``: ∂F/∂x at αx + (1 − α)x′ with x′ another image of the minibatch;
``ig``: the same with x′ = 0; ``ieg``: x′ = 0 with probability p0 (0.25), else a minibatch image.

Under DDP the minibatch is the global one: :func:`draw_training_path` draws the path of every
image of the global batch (``rank_pooling.global_batch``) and keeps this rank's, so the draws are
those of one process with the same global batch.
"""

from __future__ import annotations

import torch
from torch import nn

from ..attributions import ExpectedGradients, Gradient, ImprovedExpectedGradients
from ..attributions.expected import References
from ..rank_pooling import global_batch
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
    path: tuple[torch.Tensor, torch.Tensor] | None = None,
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
        path: the draws of :func:`draw_training_path` for ``x`` (drawn here when None).
    """
    method = check_training_attribution(method)
    if not bool(select.any()):
        return _pass_without_images(model, x)
    if method == "g":
        with ConstantActivationMasks():  # same maps and gradients, cheaper second backward
            return Gradient(model).attribute(x[select], create_graph=True)
    if path is None:
        path = draw_training_path(x, method, p0, references, generator)
    refs, alphas = path
    with ConstantActivationMasks():
        return _explainer(model, method, p0).attribute_at(
            x[select], refs[select], alphas[select], create_graph=True
        )


def _pass_without_images(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The maps (0, C, *spatial) of no image, from the same passes as the other ranks' maps
    (forward, input gradient with graph): under DDP a rank without constrained images joins the
    collectives of BatchNorm over the global batch that their passes make, forward and backward
    (``models.global_batch_norm``); the loss on the empty maps then backpropagates through them."""
    with ConstantActivationMasks():
        return Gradient(model).input_gradient(x[:0], None, create_graph=True)


def draw_training_path(
    x: torch.Tensor,
    method: str,
    p0: float = 0.25,
    references: References = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """One (reference (B, C, *spatial), α (B,)) per image of ``x`` for ``method`` (None for
    "g"). Drawn for the global batch and cut to this rank's images (a collective under DDP:
    every rank calls it at every step, whether or not it holds constrained images)."""
    method = check_training_attribution(method)
    if method == "g":
        return None
    if method == "ig":
        references = x.new_zeros((1, *x.shape[1:]))
    whole, rows = global_batch(x)
    refs, alphas = _explainer(nn.Identity(), method, p0).sample_path(  # no model needed
        whole, references, 1, generator)
    return refs[rows], alphas[rows.to(alphas.device)]


def _explainer(model, method: str, p0: float) -> ExpectedGradients:
    if method == "eg":
        return ExpectedGradients(model)
    return ImprovedExpectedGradients(model, p0=1.0 if method == "ig" else p0)
