"""Split activations for monotone networks (thesis ch. 6 §I.2 rule 4, Proposition 5).

Any increasing r on the first half of the channels and its point reflection −r(−x) on the
second half: with ReLU this is ReLU(x) and min(x, 0). By Proposition 5 (two-layer monotone
networks are exactly Ã·D_a·σ(D_b·B̃·x) with sign(a) = sign(b)), this is essentially the only
monotone two-layer design with non-negative weights; it avoids the over-strong convexity of
all-ReLU positive networks (Runje & Shankaranarayana 2022, without their bounded third).
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

#: Activation modules that are non-decreasing for every parameter value they accept.
INCREASING_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.CELU,
    nn.SELU,
    nn.Softplus,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardtanh,
    nn.Hardsigmoid,
    nn.LogSigmoid,
    nn.Softsign,
    nn.Tanhshrink,
)

#: Activations that decrease somewhere (or learn a slope that may turn negative).
NON_MONOTONE_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.PReLU,
    nn.RReLU,
)


class SplitActivation(nn.Module):
    """r(x) on the first ⌈C/2⌉ channels, −r(−x) on the others; shape (B, C, *spatial) kept.

    Args:
        activation: an increasing activation module r (copied, with ``inplace`` switched off).
        channel_dim: the channel dimension (1 for (B, C, *spatial) and (B, F) inputs).
    """

    def __init__(self, activation: nn.Module, channel_dim: int = 1) -> None:
        super().__init__()
        if not isinstance(activation, INCREASING_ACTIVATIONS):
            raise ValueError(
                "SplitActivation needs an increasing activation "
                f"({', '.join(t.__name__ for t in INCREASING_ACTIVATIONS)}), "
                f"got {type(activation).__name__}"
            )
        if isinstance(activation, nn.LeakyReLU) and activation.negative_slope < 0:
            raise ValueError(
                f"LeakyReLU with negative_slope={activation.negative_slope} is decreasing"
            )
        activation = copy.deepcopy(activation)
        if hasattr(activation, "inplace"):
            activation.inplace = False
        self.activation = activation
        self.channel_dim = channel_dim

    def forward(self, x: Tensor) -> Tensor:
        n_channels = x.shape[self.channel_dim]
        n_convex = n_channels - n_channels // 2
        convex, concave = torch.split(x, [n_convex, n_channels - n_convex], self.channel_dim)
        return torch.cat(
            [self.activation(convex), -self.activation(-concave)], dim=self.channel_dim
        )

    def extra_repr(self) -> str:
        return f"channel_dim={self.channel_dim}"
