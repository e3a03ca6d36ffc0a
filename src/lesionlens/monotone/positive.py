"""Non-negative weight parametrisation φ(w) = w² / √(1 + w²) (thesis ch. 6 §I.2, rule 1).

φ is differentiable, non-negative and reaches exactly 0, unlike abs, exp, softplus or clipping.
``torch.nn.utils.parametrize`` only needs a right inverse: for v ≥ 0,
φ⁻¹(v) = √((v² + v√(v² + 4)) / 2).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize


def phi(w: Tensor) -> Tensor:
    """Map any real tensor to non-negative weights, elementwise."""
    return w.square() / torch.sqrt(1.0 + w.square())


def phi_inverse(v: Tensor) -> Tensor:
    """Right inverse of :func:`phi` on v ≥ 0 (the non-negative root).

    Raises:
        ValueError: if ``v`` holds a negative value (outside the image of φ).
    """
    if bool((v < 0).any()):
        raise ValueError(
            f"phi_inverse expects non-negative weights, got a minimum of {v.min().item():.3g}"
        )
    v2 = v.square()
    return torch.sqrt((v2 + v * torch.sqrt(v2 + 4.0)) / 2.0)


class PositiveWeight(nn.Module):
    """Parametrisation W = φ(W̃) for ``parametrize.register_parametrization``."""

    def forward(self, raw: Tensor) -> Tensor:
        return phi(raw)

    def right_inverse(self, weight: Tensor) -> Tensor:
        return phi_inverse(weight)


def is_positive_parametrized(module: nn.Module, name: str = "weight") -> bool:
    """True when ``module.<name>`` is parametrised by exactly one :class:`PositiveWeight`."""
    if not parametrize.is_parametrized(module, name):
        return False
    chain = module.parametrizations[name]
    return len(chain) == 1 and isinstance(chain[0], PositiveWeight)


def raw_weight(module: nn.Module, name: str = "weight") -> Tensor:
    """The unconstrained parameter W̃ behind a positive-parametrised weight."""
    return module.parametrizations[name].original


def set_weight(module: nn.Module, value: Tensor, name: str = "weight") -> None:
    """Assign an effective weight, through φ⁻¹ when the weight is positive-parametrised."""
    with torch.no_grad():
        if parametrize.is_parametrized(module, name):
            setattr(module, name, value)  # parametrize calls right_inverse
        else:
            getattr(module, name).copy_(value)
