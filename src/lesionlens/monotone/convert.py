"""Convert any torch network into a monotone one (thesis ch. 6 §I.2, conversion rules 1–5).

Rules: Linear/Conv weights W = φ(W̃) ≥ 0 through ``torch.nn.utils.parametrize``; biases removed
(fixed at 0, which gives sign calibration: f ≤ 0 ⇒ M(f) ≤ 0 and M(0) = 0); normalisation layers
replaced by ``nn.Identity``; every increasing activation r replaced by a split activation
(r on the first half of the channels, −r(−x) on the second); pooling and residual additions kept.

What is seen is the module tree: arithmetic written in a ``forward`` (a subtraction, a product,
a softmax called functionally) is invisible to it. Verify converted models of unknown code with
:func:`~lesionlens.monotone.check_monotone`, whose empirical part catches such operations.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.utils import parametrize

from .activations import INCREASING_ACTIVATIONS, SplitActivation
from .layers import (
    LINEAR_LAYERS,
    MONOTONE_PASSTHROUGH,
    NORM_LAYERS,
    iter_units,
    owns_parameters,
    refusal_reason,
)
from .positive import PositiveWeight, is_positive_parametrized

Replacement = tuple[nn.Module, str, nn.Module]  # (parent, attribute name, new module)


def positive_copy(layer: nn.Module) -> nn.Module:
    """A copy of a Linear/Conv layer with weights φ(W̃) = |W| and no bias."""
    if is_positive_parametrized(layer):
        return layer
    new = copy.deepcopy(layer)
    with torch.no_grad():
        new.weight.abs_()
    if new.bias is not None:
        new.register_parameter("bias", None)
    parametrize.register_parametrization(new, "weight", PositiveWeight())
    return new


def _monotone_version(path: str, module: nn.Module, allow: tuple[type, ...]) -> nn.Module:
    """The module replacing ``module`` in a monotone network (may be ``module`` itself)."""
    name = f"layer {path!r} ({type(module).__name__}) cannot be made monotone"
    reason = refusal_reason(module)
    if reason is not None:
        raise ValueError(f"{name}: {reason}")
    if isinstance(module, LINEAR_LAYERS):
        if parametrize.is_parametrized(module) and not is_positive_parametrized(module):
            raise ValueError(f"{name}: it already carries another parametrisation")
        return positive_copy(module)
    if isinstance(module, NORM_LAYERS):
        return nn.Identity()
    if isinstance(module, SplitActivation):
        return module
    if isinstance(module, INCREASING_ACTIVATIONS):
        if isinstance(module, nn.LeakyReLU) and module.negative_slope < 0:
            raise ValueError(f"{name}: negative_slope={module.negative_slope} is decreasing")
        return SplitActivation(module)
    if isinstance(module, (*MONOTONE_PASSTHROUGH, *allow)):
        return module
    if owns_parameters(module):
        raise ValueError(f"{name}: unknown module with parameters of its own")
    if not any(True for _ in module.children()):
        raise ValueError(
            f"{name}: unknown layer type; if it is monotone and maps 0 to 0, "
            "pass its class in allow=(...)"
        )
    raise ValueError(f"{name}: unknown module with parameters of its own")


def plan_monotone(model: nn.Module, allow: tuple[type, ...] = ()) -> list[Replacement]:
    """Every (parent, name, new module) swap that makes ``model`` monotone; raises on refusal.

    Nothing is modified, so a refusal leaves the model as it was.
    """
    plan: list[Replacement] = []
    for path, parent, unit in iter_units(model):
        new = _monotone_version(path, unit, allow)
        if new is not unit:
            plan.append((parent, path.rsplit(".", 1)[-1], new))
    return plan


def _apply(plan: list[Replacement]) -> list[Replacement]:
    """Perform the swaps; return the inverse swaps."""
    undo = []
    for parent, name, new in plan:
        undo.append((parent, name, getattr(parent, name)))
        setattr(parent, name, new)
    return undo


def make_monotone(
    model: nn.Module, *, inplace: bool = False, allow: tuple[type[nn.Module], ...] = ()
) -> nn.Module:
    """Return a monotone version of ``model`` (thesis ch. 6 §I.2).

    Works on any module tree: MLPs, 1-/2-/3-D CNNs, MONAI and torchvision ResNets (identity and
    downsample residual branches are both monotone once their convs are), PatchGAN-like stacks.
    Weights keep their magnitudes (W → |W|); re-initialise with
    :func:`~lesionlens.monotone.propagation_init` before training.

    Args:
        model: any ``nn.Module``; a bare Linear/Conv layer is converted too.
        inplace: modify ``model`` itself instead of a deep copy.
        allow: extra parameter-free layer classes you vouch are non-decreasing with f(0) = 0.

    Returns:
        The monotone network (``model`` itself when ``inplace``, except for a bare leaf layer).

    Raises:
        ValueError: naming the first layer that cannot be proved monotone, e.g.
            ``layer 'blocks.3.attn' (MultiheadAttention) cannot be made monotone: ...``.
        TypeError: if ``model`` is not an ``nn.Module``.

    Example:
        >>> net = make_monotone(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
        >>> bool((net[0].weight >= 0).all()), net[0].bias is None
        (True, True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"make_monotone expects an nn.Module, got {type(model).__name__}")
    if not inplace:
        model = copy.deepcopy(model)
    if not any(True for _ in model.children()) or isinstance(
        model, (*LINEAR_LAYERS, *INCREASING_ACTIVATIONS)
    ):
        return _monotone_version("", model, allow)
    _apply(plan_monotone(model, allow))
    return model


@contextmanager
def monotone(model: nn.Module, allow: tuple[type[nn.Module], ...] = ()) -> Iterator[nn.Module]:
    """Temporarily swap ``model``'s layers for their monotone versions; restore them on exit.

    The original layer objects (and their weights) are untouched; training inside the block
    trains the temporary parametrised copies.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        >>> with monotone(net):
        ...     type(net[1]).__name__
        'SplitActivation'
        >>> type(net[1]).__name__
        'ReLU'
    """
    undo = _apply(plan_monotone(model, allow))
    try:
        yield model
    finally:
        _apply(list(reversed(undo)))
