from __future__ import annotations

import pytest
import torch

from lesionlens.models import PatchGANClassifier


@pytest.fixture(params=[2, 3], ids=["2d", "3d"])
def model_and_input(request) -> tuple[torch.nn.Module, torch.Tensor]:
    """A width-8 PatchGAN in eval mode and a (3, 2, 16, ...) input (2 channels)."""
    spatial_dims = request.param
    torch.manual_seed(0)
    model = PatchGANClassifier(spatial_dims=spatial_dims, in_channels=2, width=8).eval()
    x = torch.randn(3, 2, *([16] * spatial_dims))
    return model, x
