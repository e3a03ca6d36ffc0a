"""Integrated Gradients (Sundararajan et al. 2017; thesis eq. 2.27).

IG_i(x, x′) = (x_i − x′_i) ∫₀¹ ∂F(x′ + α(x − x′))/∂x_i dα, the integral approximated by the
quadratures of captum (Riemann left/right/middle/trapezoid, Gauss-Legendre). The thesis trains
and explains with the *local* form that drops (x − x′) (``multiply_by_inputs=False``, thesis
§5.III: "we chose a local approach"). Shapes: (B, C, *spatial) → (B, C, *spatial).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._base import Attribution, Target, check_input, chunks

QUADRATURES = (
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
    "gausslegendre",
)


def quadrature(method: str, n_steps: int) -> tuple[list[float], list[float]]:
    """(weights, alphas) of ``n_steps`` points on [0, 1], identical to captum's builders."""
    if method not in QUADRATURES:
        raise ValueError(f"method must be one of {QUADRATURES}, got {method!r}")
    if method == "gausslegendre":
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return (0.5 * weights).tolist(), (0.5 * (1 + nodes)).tolist()
    if n_steps < 2:
        raise ValueError(f"n_steps must be >= 2 for Riemann sums, got {n_steps}")
    weights = [1 / n_steps] * n_steps
    start, stop = {
        "riemann_trapezoid": (0.0, 1.0),
        "riemann_left": (0.0, 1 - 1 / n_steps),
        "riemann_middle": (1 / (2 * n_steps), 1 - 1 / (2 * n_steps)),
        "riemann_right": (1 / n_steps, 1.0),
    }[method]
    if method == "riemann_trapezoid":
        weights[0] /= 2
        weights[-1] /= 2
    return weights, torch.linspace(start, stop, n_steps).tolist()


class IntegratedGradients(Attribution):
    """Path integral of the gradient from a baseline (zero image by default) to the input.

    Args:
        model: the classifier (any callable (B, C, *spatial) → (B, ...)).
        multiply_by_inputs: multiply by (x − x′) (captum's global IG) or not (thesis' local IG).
    """

    name = "ig"

    def __init__(self, model: nn.Module, multiply_by_inputs: bool = False) -> None:
        super().__init__(model)
        self.multiply_by_inputs = multiply_by_inputs

    def attribute(
        self,
        x: torch.Tensor,
        target: Target = None,
        create_graph: bool = False,
        baseline: torch.Tensor | float | None = None,
        n_steps: int = 30,
        method: str = "gausslegendre",
        internal_batch_size: int | None = None,
    ) -> torch.Tensor:
        """Args:
        x: (B, C, *spatial).
        baseline: x′, a tensor broadcastable to ``x`` or a constant; None → zeros.
        n_steps: quadrature points (30 as in the thesis' code).
        method: one of ``QUADRATURES``.
        internal_batch_size: path points per forward/backward pass (None: all B·n_steps).
        """
        x = check_input(x)
        x_detached = x.detach()
        base = torch.zeros_like(x_detached) if baseline is None else baseline
        base = torch.as_tensor(base, dtype=x.dtype, device=x.device).expand_as(x_detached)
        weights, alphas = quadrature(method, n_steps)
        batch = x.shape[0]
        # step-major path: rows [k*B:(k+1)*B] hold alpha_k, as in captum
        alpha = torch.tensor(alphas, dtype=x.dtype, device=x.device).repeat_interleave(batch)
        weight = torch.tensor(weights, dtype=x.dtype, device=x.device).repeat_interleave(batch)
        view = (-1,) + (1,) * (x.ndim - 1)
        total = None
        for piece in chunks(alpha.numel(), internal_batch_size):
            rows = torch.arange(piece.start, piece.stop, device=x.device) % batch
            points = base[rows] + alpha[piece].view(view) * (x_detached[rows] - base[rows])
            grads = self.input_gradient(points, target, create_graph) * weight[piece].view(view)
            summed = torch.zeros_like(x_detached).index_add(0, rows, grads)
            total = summed if total is None else total + summed
        if self.multiply_by_inputs:
            total = total * (x_detached - base)
        return total
