"""Fully supervised U-Net: the segmentation upper bound of thesis Table 5.4 ("Supervised").

MONAI ``BasicUNet`` (Ronneberger et al. 2015 / Falk et al. 2019); (B, C, *spatial) →
segmentation logits (B, out_channels, *spatial). Trained with cross-entropy + Dice
(:func:`segmentation_loss`).
"""

from __future__ import annotations

import torch
from torch import nn

from ._layers import NORMS, check_positive_int, check_spatial_dims, replace_norms


class SegmentationUNet(nn.Module):
    """U-Net returning voxel logits; spatial sizes must be multiples of 16.

    Args:
        spatial_dims: 2 or 3.
        in_channels: image channels.
        out_channels: 1 (lesion vs rest, sigmoid) by default.
        width: channels of the first level (32 in MONAI's default); deeper levels scale with it.
        norm: "instance" (MONAI default), "batch" or "none".
        act: activation for MONAI's factory.
    """

    is_segmentation = True  # explain maps = voxel logits; image logit = max voxel logit

    def __init__(
        self,
        spatial_dims: int = 3,
        in_channels: int = 1,
        out_channels: int = 1,
        width: int = 32,
        norm: str = "instance",
        act: str | tuple = ("LeakyReLU", {"negative_slope": 0.1}),
    ) -> None:
        super().__init__()
        NORMS.get(norm)  # unknown names fail with a "did you mean"
        check_spatial_dims(spatial_dims)
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("width", width)
        from monai.networks.nets import BasicUNet  # lazy: MONAI is slow to import

        features = tuple(max(1, round(width * f / 32)) for f in (32, 32, 64, 128, 256, 32))
        self.net = BasicUNet(
            spatial_dims=spatial_dims,
            in_channels=in_channels,
            out_channels=out_channels,
            features=features,
            act=act,
            norm=("instance", {"affine": True}),
        )
        replace_norms(self.net, "instance", norm, spatial_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, *spatial) → logits (B, out_channels, *spatial)."""
        return self.net(x)


def segmentation_loss(lambda_dice: float = 1.0, lambda_ce: float = 1.0) -> nn.Module:
    """Cross-entropy + Dice on sigmoid outputs: ``loss(logits, mask)``, both (B, 1, *spatial)."""
    from monai.losses import DiceCELoss

    return DiceCELoss(sigmoid=True, lambda_dice=lambda_dice, lambda_ce=lambda_ce)
