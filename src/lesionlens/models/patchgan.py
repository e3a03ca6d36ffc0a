"""PatchGAN classifier (thesis ch. 2 & 5; Isola et al. 2017, pix2pix discriminator).

Four stride-2 convolutions (kernel 4) with 64-128-256-512 channels scaled by ``width / 64``,
LeakyReLU(0.2), normalisation after every convolution but the first, then a 1-channel convolution
giving one logit per patch. The image logit is the mean of the patch logits (thesis eq. 2.26 uses
that mean as F(x)); ``depth`` and ``pool`` change the number of stride-2 layers and the pooling
(lesionlens options, defaults = thesis). Shapes: input (B, C, *spatial) with 2 or 3 spatial dims;
``patch_logits`` (B, 1, *spatial / 2**depth); ``forward`` (B,).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._layers import check_positive_int, check_spatial_dims, conv_layer, norm_layer

POOLS = ("mean", "max", "lse")


def check_pool(pool: str) -> str:
    """Return ``pool`` if it is one of ``POOLS``, else raise ``ValueError``."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
    return pool


def pool_patch_logits(
    patches: torch.Tensor, pool: str = "mean", keep: torch.Tensor | None = None
) -> torch.Tensor:
    """(B, K, *patches) patch logits → (B,) image logits by ``pool`` (see PatchGANClassifier).

    ``keep`` (bool, broadcastable to ``patches``) restricts the pooling to the kept patches of
    each sample (e.g. those that see the brain); a sample with no kept patch pools all of its
    patches. For a fixed ``keep`` every pool is non-decreasing in every patch logit.
    """
    flat = patches.flatten(1)
    if keep is None:
        if pool == "max":
            return flat.amax(1)
        if pool == "lse":
            return torch.logsumexp(flat, 1) - math.log(flat.shape[1])
        return flat.mean(1)
    kept = keep.expand_as(patches).flatten(1)
    kept = kept | ~kept.any(1, keepdim=True)  # an empty sample keeps every patch
    if pool == "max":
        return flat.masked_fill(~kept, -math.inf).amax(1)
    count = kept.sum(1).to(flat.dtype)
    if pool == "lse":
        return torch.logsumexp(flat.masked_fill(~kept, -math.inf), 1) - count.log()
    return (flat * kept).sum(1) / count


def patch_support(support: torch.Tensor, grid: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """Voxel support (B, 1, *spatial) → bool (B, 1, *grid): patches whose cell holds support.

    The image is cut into ``grid`` cells as adaptive pooling does (each patch's own stride-2^depth
    cell); a patch is kept when any voxel of its cell is in ``support``.
    """
    pool = (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)[len(grid) - 1]
    return pool(support.to(torch.float32), tuple(grid)) > 0


class PatchLogitClassifier(nn.Module):
    """Shared tail of the patch classifiers: ``features`` → ``head`` (one logit per patch) →
    image logit pooled by ``pool``. Subclasses build ``features``, ``head`` and ``pool``."""

    features: nn.Sequential
    head: nn.Module
    pool: str

    @property
    def cam_layer(self) -> nn.Module:
        """Last module of ``features``: the default Grad-CAM layer."""
        return self.features[-1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, *spatial) → feature map."""
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Feature map → image logit (B,) pooled from the patch logits."""
        return pool_patch_logits(self.head(features), self.pool)

    def patch_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, *spatial) → patch-logit map (B, out_channels, *patch grid)."""
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, *spatial) → image logit (B,); positive = pathological."""
        return self.forward_head(self.forward_features(x))


class PatchGANClassifier(PatchLogitClassifier):
    """Healthy (0) vs pathological (1) classifier whose logit is the mean patch logit.

    Args:
        spatial_dims: 2 or 3.
        in_channels: image channels (modalities).
        out_channels: channels of the patch-logit map; the global logit averages over all of them.
        width: channels of the first convolution (64 in the thesis); later layers double it.
        norm: "batch" (thesis), "instance" or "none"; the first convolution has none.
        negative_slope: LeakyReLU slope.
        head_kernel_size: odd kernel of the final 1-channel convolution ("same" padding), so that
            a 16-voxel input still gives one patch. [inferred: the thesis does not give it]
        depth: number of stride-2 convolutions (4 in the thesis; channels 64·2^k scaled by
            ``width / 64``). Fewer layers give smaller patches: at 4 mm the thesis' 4 layers see
            the whole brain from every patch (lesionlens' choice for coarse grids, not the thesis).
        pool: how patch logits become the image logit: "mean" (thesis eq. 2.26), "max", or
            "lse" (log-mean-exp, a smooth maximum that still spreads gradient over patches).

    Example:
        >>> net = PatchGANClassifier(spatial_dims=3, in_channels=1, width=8)
        >>> net(torch.zeros(2, 1, 32, 32, 32)).shape
        torch.Size([2])
    """

    def __init__(
        self,
        spatial_dims: int = 3,
        in_channels: int = 1,
        out_channels: int = 1,
        width: int = 64,
        norm: str = "batch",
        negative_slope: float = 0.2,
        head_kernel_size: int = 3,
        depth: int = 4,
        pool: str = "mean",
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("width", width)
        if check_positive_int("head_kernel_size", head_kernel_size) % 2 == 0:
            raise ValueError(f"head_kernel_size must be odd, got {head_kernel_size}")
        if not 1 <= check_positive_int("depth", depth) <= 6:
            raise ValueError(f"depth must be between 1 and 6, got {depth}")
        self.spatial_dims = spatial_dims
        self.depth = depth
        self.pool = check_pool(pool)
        conv = conv_layer(spatial_dims)
        channels = [width * 2**k for k in range(depth)]
        blocks: list[nn.Module] = []
        previous = in_channels
        for index, current in enumerate(channels):
            blocks.append(
                nn.Sequential(
                    conv(previous, current, kernel_size=4, stride=2, padding=1, bias=index == 0),
                    nn.Identity() if index == 0 else norm_layer(norm, spatial_dims, current),
                    nn.LeakyReLU(negative_slope),
                )
            )
            previous = current
        self.features = nn.Sequential(*blocks)
        self.head = conv(previous, out_channels, head_kernel_size, padding=head_kernel_size // 2)
