"""ResNet 18–152 classifiers, 2-D or 3-D, on MONAI's ``ResNet`` (He et al. 2016).

Wrapped to the shared classifier interface: ``forward_features`` (B, C, *spatial) → last residual
stage (B, F, *spatial / 32 or / 16 without max-pool), ``forward_head`` → logit (B,).
"""

from __future__ import annotations

import torch
from torch import nn

from ._layers import NORMS, check_positive_int, check_spatial_dims, replace_norms

DEPTHS = {
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
    101: ("bottleneck", [3, 4, 23, 3]),
    152: ("bottleneck", [3, 8, 36, 3]),
}


class ResNetClassifier(nn.Module):
    """Binary ResNet classifier returning one logit per image (positive = pathological).

    Args:
        depth: 18, 34, 50, 101 or 152.
        spatial_dims: 2 or 3.
        in_channels: image channels.
        out_channels: logits; 1 for healthy vs pathological (``forward`` then returns (B,)).
        width: channels of the stem (64 in He et al.); stages scale with it.
        norm: "batch", "instance" or "none".
        act: activation name or (name, kwargs) for MONAI's factory; not in-place by default so
            that double backprop through it is safe.
    """

    def __init__(
        self,
        depth: int = 18,
        spatial_dims: int = 3,
        in_channels: int = 1,
        out_channels: int = 1,
        width: int = 64,
        norm: str = "batch",
        act: str | tuple = ("relu", {"inplace": False}),
    ) -> None:
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"ResNet depth must be one of {sorted(DEPTHS)}, got {depth!r}")
        NORMS.get(norm)  # unknown names fail with a "did you mean"
        check_spatial_dims(spatial_dims)
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("width", width)
        from monai.networks.nets import resnet as monai_resnet  # lazy: MONAI is slow to import

        block, layers = DEPTHS[depth]
        self.out_channels = out_channels
        self.net = monai_resnet.ResNet(
            block,
            layers,
            [64, 128, 256, 512],
            spatial_dims=spatial_dims,
            n_input_channels=in_channels,
            num_classes=out_channels,
            widen_factor=width / 64,
            act=act,
            norm="batch",
        )
        # MONAI 1.6 passes ``norm`` to the stem only, so BatchNorm is built and then swapped.
        replace_norms(self.net, "batch", norm, spatial_dims)

    @property
    def cam_layer(self) -> nn.Module:
        """Last residual stage: the default Grad-CAM layer."""
        return self.net.layer4

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        net = self.net
        x = net.act(net.bn1(net.conv1(x)))
        if not net.no_max_pool:
            x = net.maxpool(x)
        return net.layer4(net.layer3(net.layer2(net.layer1(x))))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Feature map → logits (B,) when ``out_channels == 1``, else (B, out_channels)."""
        logits = self.net.fc(self.net.avgpool(features).flatten(1))
        return logits[:, 0] if self.out_channels == 1 else logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
