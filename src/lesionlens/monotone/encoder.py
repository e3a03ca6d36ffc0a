"""Interpretable-feature encoder C of the classifier F = M ∘ C (thesis ch. 6 §I.1, Fig. 6.1).

C is an ordinary (non-monotone) CNN whose features f = C(x) keep the input's spatial size, so
they are localisable without interpolation: 2 convolutions of 8 channels (kernels 7 then 3) each
followed by InstanceNorm and LeakyReLU (a single block for the initialisation experiments).
Convolution biases are zero by construction (no bias), and InstanceNorm has no affine shift,
otherwise the negativity loss L_nF could be met by a learned negative offset.
[GAP] f is taken after the last LeakyReLU unless ``last_activation=False``.

Both defaults follow the thesis' text, but together they stop the classifier from learning on
lesionlens' phantoms: InstanceNorm gives every image's channels the same mean, and the last
LeakyReLU (slope 0.01) shrinks negative features 100×, so healthy images cannot reach a clearly
negative logit; and without biases C is positively homogeneous (C(cx) = cC(x), c > 0), so it
cannot map "normal" intensities to negative features and brighter lesions to positive ones.
``bias=True, norm="none", last_activation=False`` learns on the phantoms (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..errors import LesionLensInputError

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_INSTANCE_NORM = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}
ENCODER_NORMS = ("instance", "none")


def check_spatial_dims(spatial_dims: int) -> int:
    if spatial_dims not in _CONV:
        raise LesionLensInputError(f"spatial_dims must be 1, 2 or 3, got {spatial_dims!r}")
    return spatial_dims


class InterpretableEncoder(nn.Module):
    """(B, in_channels, *spatial) → f of shape (B, channels, *spatial).

    Args:
        spatial_dims: 1, 2 or 3.
        in_channels: image channels.
        channels: interpretable feature channels K (8 in the thesis).
        kernel_sizes: one odd kernel size per conv block ((7, 3) in the thesis, (7,) for the
            initialisation experiments).
        negative_slope: LeakyReLU slope.
        last_activation: apply the last LeakyReLU to f.
        norm: ``"instance"`` (thesis; no affine) or ``"none"`` after each convolution.
        bias: convolution biases (thesis: none).
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        channels: int = 8,
        kernel_sizes: Sequence[int] = (7, 3),
        negative_slope: float = 0.01,
        last_activation: bool = True,
        norm: str = "instance",
        bias: bool = False,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        if any(k < 1 or k % 2 == 0 for k in kernel_sizes) or not kernel_sizes:
            raise LesionLensInputError(f"kernel_sizes must be odd and ≥ 1, got {kernel_sizes!r}")
        if norm not in ENCODER_NORMS:
            raise LesionLensInputError(
                f"encoder norm must be one of {', '.join(ENCODER_NORMS)}, got {norm!r}"
            )
        if in_channels < 1 or channels < 1:
            raise LesionLensInputError(
                f"in_channels and channels must be ≥ 1, got {in_channels} and {channels}"
            )
        layers: list[nn.Module] = []
        for i, k in enumerate(kernel_sizes):
            layers.append(
                _CONV[spatial_dims](
                    in_channels if i == 0 else channels, channels, k, padding=k // 2, bias=bias
                )
            )
            if norm == "instance":
                layers.append(_INSTANCE_NORM[spatial_dims](channels, affine=False))
            if last_activation or i < len(kernel_sizes) - 1:
                layers.append(nn.LeakyReLU(negative_slope))
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
