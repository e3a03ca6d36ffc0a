"""Small-receptive-field patch classifier (lesionlens; multiple-instance style, not in the thesis).

Why: on 4 mm phantoms with ~100 training volumes the thesis' 3-D PatchGAN sees the whole brain
from each patch and memorises anatomy (or the scanner) instead of the lesion; a patch classifier
whose patches see ~4 cm and whose image logit is the *maximum* patch logit (a lesion anywhere
makes the image pathological) generalises — docs/benchmarks.md, "Why the 3-D PatchGAN fails".

Architecture: ``depth`` levels of two 3×3(×3) convolutions (LeakyReLU 0.2, optional norm), the
first convolution of every level after the first with stride 2; channels ``width · 2^level``;
then a 1×1 convolution to one logit per patch, pooled by ``pool`` (max by default). Receptive
field: 5 voxels at depth 1, 11 at depth 2, 23 at depth 3.

Shapes: input (B, C, *spatial), 2 or 3 spatial dims; ``patch_logits`` (B, 1, *spatial /
2**(depth - 1)); ``forward`` (B,).
"""

from __future__ import annotations

from torch import nn

from ._layers import check_positive_int, check_spatial_dims, conv_layer, norm_layer
from .patchgan import PatchLogitClassifier, check_pool


class PatchCNNClassifier(PatchLogitClassifier):
    """Healthy (0) vs pathological (1) classifier pooling small-patch logits (max by default).

    Args:
        spatial_dims: 2 or 3.
        in_channels: image channels (modalities).
        out_channels: channels of the patch-logit map (pooled together).
        width: channels of the first level; each level doubles them.
        norm: "none" (default), "batch" or "instance", after every convolution but the first.
        depth: number of levels (1–4); the receptive field grows as 2^(depth+1) voxels.
        pool: "max" (default), "mean" or "lse" over patch logits.

    Example:
        >>> net = PatchCNNClassifier(spatial_dims=3, in_channels=1, width=4)
        >>> net(torch.zeros(2, 1, 16, 16, 16)).shape
        torch.Size([2])
    """

    def __init__(
        self,
        spatial_dims: int = 3,
        in_channels: int = 1,
        out_channels: int = 1,
        width: int = 32,
        norm: str = "none",
        depth: int = 2,
        pool: str = "max",
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("width", width)
        if not 1 <= check_positive_int("depth", depth) <= 4:
            raise ValueError(f"depth must be between 1 and 4, got {depth}")
        self.spatial_dims = spatial_dims
        self.depth = depth
        self.pool = check_pool(pool)
        conv = conv_layer(spatial_dims)
        layers: list[nn.Module] = []
        previous = in_channels
        for level in range(depth):
            current = width * 2**level
            for index in range(2):
                stride = 2 if level > 0 and index == 0 else 1
                first = level == 0 and index == 0
                layers += [
                    conv(previous, current, kernel_size=3, stride=stride, padding=1),
                    nn.Identity() if first else norm_layer(norm, spatial_dims, current),
                    nn.LeakyReLU(negative_slope),
                ]
                previous = current
        self.features = nn.Sequential(*layers)
        self.head = conv(previous, out_channels, kernel_size=1)
