"""Backbones M for the interpretable classifier, converted by ``make_monotone`` (ch. 6 §V.2).

``patchgan``: a PatchGAN-like stack (Isola et al. 2017; the thesis uses the 3-D 70×70 variant
with 64/128/256/512 channels): stride-2 convolutions of width·2^i channels with LeakyReLU(0.2)
and InstanceNorm, a 1-channel convolution giving a logit map, and its global mean (thesis) or
maximum / log-mean-exp — all three non-decreasing in every patch logit, so M stays monotone —
optionally restricted to the patches that see the brain (a fixed mask from the input, which keeps
M monotone in the features; the classifier also fills the features outside the brain).
``resnet18`` … ``resnet152``: MONAI ResNets with one output logit.
Every backbone maps (B, C, *spatial) to logits (B,).
"""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import LesionLensInputError
from ..models.patchgan import check_pool, patch_support, pool_patch_logits
from ..registry import Registry
from .encoder import _CONV, _INSTANCE_NORM, check_spatial_dims

BACKBONES: Registry = Registry("monotone backbone")


class PatchStack(nn.Module):
    """PatchGAN-like classifier: (B, in_channels, *spatial) → mean patch logit (B,).

    Args:
        spatial_dims: 1, 2 or 3.
        in_channels: input channels (the K interpretable features).
        width: channels of the first convolution, doubled at every stride-2 layer.
        num_layers: stride-2 convolutions; inputs need at least 2**(num_layers + 1) voxels per
            axis (the last InstanceNorm needs more than one voxel).
        pool: patch-logit pooling, ``mean`` (thesis) | ``max`` | ``lse``.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        width: int = 8,
        num_layers: int = 4,
        pool: str = "mean",
    ):
        super().__init__()
        check_spatial_dims(spatial_dims)
        if width < 1 or num_layers < 1:
            raise LesionLensInputError(
                f"width and num_layers must be ≥ 1, got {width} and {num_layers}"
            )
        self.pool = check_pool(pool)
        conv, norm = _CONV[spatial_dims], _INSTANCE_NORM[spatial_dims]
        layers: list[nn.Module] = [conv(in_channels, width, 4, stride=2, padding=1)]
        layers.append(nn.LeakyReLU(0.2))
        channels = width
        for _ in range(1, num_layers):
            layers += [
                conv(channels, channels * 2, 4, stride=2, padding=1, bias=False),
                norm(channels * 2, affine=True),
                nn.LeakyReLU(0.2),
            ]
            channels *= 2
        layers.append(conv(channels, 1, 3, padding=1))
        self.layers = nn.Sequential(*layers)
        self.min_size = 2 ** (num_layers + 1)

    def forward(self, x: Tensor, support: Tensor | None = None) -> Tensor:
        """(B, C, *spatial) → (B,); ``support`` (B, 1, *spatial) bool restricts the pooling to
        the patches whose cell holds support (see :func:`patch_support`)."""
        if min(x.shape[2:]) < self.min_size:
            raise LesionLensInputError(
                f"PatchStack needs ≥ {self.min_size} voxels per axis, got {tuple(x.shape[2:])}"
            )
        patches = self.layers(x)
        keep = None if support is None else patch_support(support, patches.shape[2:])
        return pool_patch_logits(patches, self.pool, keep)


@BACKBONES.register("patchgan")
def patchgan(
    spatial_dims: int, in_channels: int, width: int = 8, depth: int = 4, pool: str = "mean"
) -> nn.Module:
    """PatchStack with ``depth`` stride-2 layers and ``pool`` patch pooling."""
    return PatchStack(spatial_dims, in_channels, width=width, num_layers=depth, pool=pool)


def _monai_resnet(depth: int):
    def build(spatial_dims: int, in_channels: int, width: int = 8) -> nn.Module:
        from monai.networks.nets import resnet

        factory = getattr(resnet, f"resnet{depth}")
        return factory(spatial_dims=spatial_dims, n_input_channels=in_channels, num_classes=1)

    build.__doc__ = f"MONAI ResNet{depth} with one logit (``width`` is ignored)."
    return build


for _depth in (18, 34, 50, 101, 152):
    BACKBONES.register(f"resnet{_depth}")(_monai_resnet(_depth))
