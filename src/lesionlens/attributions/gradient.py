"""Gradient (saliency, Simonyan et al. 2013) and Input×Gradient (Shrikumar et al. 2016).

Thesis eq. 2.26: G_i(x) = ∂F(x)/∂x_i, signed ("local"). Input×Gradient = x ⊙ G ("global").
Shapes: (B, C, *spatial) → (B, C, *spatial).
"""

from __future__ import annotations

import torch

from ._base import Attribution, Target, check_input, chunks


class Gradient(Attribution):
    """Signed input gradient of the pathological logit (captum ``Saliency(abs=False)``).

    Example:
        >>> maps = Gradient(model).attribute(x)                      # inference
        >>> maps = Gradient(model).attribute(x, create_graph=True)   # differentiable, training
    """

    name = "g"

    def attribute(
        self,
        x: torch.Tensor,
        target: Target = None,
        create_graph: bool = False,
        internal_batch_size: int | None = None,
    ) -> torch.Tensor:
        """Args:
        x: (B, C, *spatial).
        target: None (global logit), int (output channel) or callable(output) -> (B,).
        create_graph: keep the graph so a loss on the map backpropagates to the parameters.
        internal_batch_size: images per forward/backward pass (None: whole batch).
        """
        x = check_input(x)
        parts = [
            self.input_gradient(x[piece], target, create_graph)
            for piece in chunks(x.shape[0], internal_batch_size)
        ]
        return torch.cat(parts)


class InputXGradient(Gradient):
    """x ⊙ ∂F/∂x (captum ``InputXGradient``)."""

    name = "ixg"

    def attribute(
        self,
        x: torch.Tensor,
        target: Target = None,
        create_graph: bool = False,
        internal_batch_size: int | None = None,
    ) -> torch.Tensor:
        grad = super().attribute(x, target, create_graph, internal_batch_size)
        return x.detach() * grad
