"""Networks: classifiers (PatchGAN, small-patch PatchCNN, ResNet) and the supervised U-Net,
behind ``MODELS``.

Classifiers share one interface: ``forward(x)`` (B, C, *spatial) → logit (B,), positive =
pathological; ``forward_features`` / ``forward_head`` split it; ``cam_layer`` is the default
Grad-CAM layer. ``create_model(name, **kw)`` accepts the shared vocabulary ``spatial_dims``,
``in_channels``, ``out_channels``, ``width``, ``norm`` (``NORMS``: batch, instance, none).
"""

from __future__ import annotations

import functools
from typing import Any

from torch import nn

from ..registry import Registry
from ._layers import NORMS
from .patchcnn import PatchCNNClassifier
from .patchgan import PatchGANClassifier
from .resnet import DEPTHS, ResNetClassifier
from .unet import SegmentationUNet, segmentation_loss
from .utils import eval_mode

MODELS: Registry = Registry("model")
MODELS.register("patchgan")(PatchGANClassifier)
MODELS.register("patchcnn")(PatchCNNClassifier)
for _depth in DEPTHS:
    MODELS.register(f"resnet{_depth}")(functools.partial(ResNetClassifier, _depth))
MODELS.register("unet")(SegmentationUNet)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` (see ``MODELS.names()``) with ``kwargs``."""
    return MODELS.create(name, **kwargs)


__all__ = [
    "MODELS",
    "NORMS",
    "PatchCNNClassifier",
    "PatchGANClassifier",
    "ResNetClassifier",
    "SegmentationUNet",
    "create_model",
    "eval_mode",
    "segmentation_loss",
]
