"""Classifier and U-Net contracts: shapes, shared interface, width/norm options, input errors."""

from __future__ import annotations

import math

import pytest
import torch
from monai.losses import DiceCELoss
from torch import nn

from lesionlens.models import (
    MODELS,
    NORMS,
    PatchGANClassifier,
    create_model,
    eval_mode,
    segmentation_loss,
)

CLASSIFIERS = [name for name in MODELS.names() if name != "unet"]


def _input(spatial_dims: int, size: int = 32, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 1, *([size] * spatial_dims))


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", ["patchgan", "resnet18", "resnet50"])
def test_classifier_interface(name: str, spatial_dims: int) -> None:
    torch.manual_seed(0)
    model = create_model(name, spatial_dims=spatial_dims, width=8).eval()
    x = _input(spatial_dims, size=32 if spatial_dims == 2 else 16)
    logits = model(x)
    assert logits.shape == (2,)
    torch.testing.assert_close(model.forward_head(model.forward_features(x)), logits)
    assert isinstance(model.cam_layer, nn.Module)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_every_classifier_builds_in_2d(name: str) -> None:
    model = create_model(name, spatial_dims=2, in_channels=2, width=8)
    assert model(torch.randn(2, 2, 32, 32)).shape == (2,)


def test_patchgan_logit_is_mean_of_patch_logits() -> None:
    torch.manual_seed(0)
    model = PatchGANClassifier(spatial_dims=3, width=8).eval()
    x = _input(3, size=48)
    patches = model.patch_logits(x)
    assert patches.shape == (2, 1, 3, 3, 3)
    torch.testing.assert_close(model(x), patches.flatten(1).mean(1))


def test_patchgan_architecture_follows_thesis() -> None:
    model = PatchGANClassifier(spatial_dims=2, width=16, norm="batch")
    convs = [m for m in model.features.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64, 128]
    assert all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in convs)
    norms = [type(block[1]) for block in model.features]
    assert norms == [nn.Identity, nn.BatchNorm2d, nn.BatchNorm2d, nn.BatchNorm2d]
    acts = [m for m in model.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 4 and all(a.negative_slope == 0.2 for a in acts)
    assert model.head.out_channels == 1


@pytest.mark.parametrize("depth", [2, 3])
def test_patchgan_depth_sets_patch_grid_and_channels(depth: int) -> None:
    model = PatchGANClassifier(spatial_dims=3, width=8, depth=depth)
    convs = [m for m in model.features.modules() if isinstance(m, nn.Conv3d)]
    assert [c.out_channels for c in convs] == [8 * 2**k for k in range(depth)]
    assert model.patch_logits(_input(3, size=48)).shape[2:] == (48 // 2**depth,) * 3


def test_patchgan_pooling_options_match_their_definitions() -> None:
    torch.manual_seed(0)
    x = _input(3, size=32)
    mean = PatchGANClassifier(spatial_dims=3, width=8, depth=2).eval()
    patches = mean.patch_logits(x).flatten(1)
    for pool, expected in (
        ("max", patches.amax(1)),
        ("lse", torch.logsumexp(patches, 1) - math.log(patches.shape[1])),
    ):
        other = PatchGANClassifier(spatial_dims=3, width=8, depth=2, pool=pool).eval()
        other.load_state_dict(mean.state_dict())
        torch.testing.assert_close(other(x), expected)
    # log-mean-exp lies between the mean and the maximum
    lse = torch.logsumexp(patches, 1) - math.log(patches.shape[1])
    assert bool((patches.mean(1) <= lse + 1e-6).all() and (lse <= patches.amax(1) + 1e-6).all())


@pytest.mark.parametrize(("depth", "receptive_field"), [(1, 5), (2, 11), (3, 23)])
def test_patchcnn_patches_see_a_small_field_and_max_pool(depth: int, receptive_field: int) -> None:
    """One voxel changes only the patch logits within its receptive field (2-D, no norm), and
    the image logit is the maximum patch logit."""
    torch.manual_seed(0)
    net = create_model("patchcnn", spatial_dims=2, in_channels=1, width=4, depth=depth).eval()
    x = torch.randn(1, 1, 48, 48, requires_grad=True)
    patches = net.patch_logits(x)
    assert patches.shape == (1, 1, 48 // 2 ** (depth - 1), 48 // 2 ** (depth - 1))
    assert torch.allclose(net(x), patches.amax())
    centre = patches.shape[-1] // 2
    (grad,) = torch.autograd.grad(patches[0, 0, centre, centre], x)
    rows = grad[0, 0].abs().sum(1).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == receptive_field


@pytest.mark.parametrize("norm", NORMS.names())
def test_norm_options(norm: str) -> None:
    model = create_model("patchgan", spatial_dims=2, width=8, norm=norm)
    has_batch_norm = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    has_instance_norm = any(isinstance(m, nn.InstanceNorm2d) for m in model.modules())
    assert has_batch_norm == (norm == "batch") and has_instance_norm == (norm == "instance")
    resnet = create_model("resnet18", spatial_dims=2, width=8, norm=norm)
    assert any(isinstance(m, nn.BatchNorm2d) for m in resnet.modules()) == (norm == "batch")


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_unet_returns_voxel_logits(spatial_dims: int) -> None:
    model = create_model("unet", spatial_dims=spatial_dims, width=4)
    assert model(_input(spatial_dims)).shape == (2, 1, *([32] * spatial_dims))
    plain = create_model("unet", spatial_dims=2, width=4, norm="none")
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in plain.modules())


def test_segmentation_loss_is_monai_dice_ce() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 16, 16)
    mask = (torch.rand(2, 1, 16, 16) > 0.7).float()
    expected = DiceCELoss(sigmoid=True)(logits, mask)
    torch.testing.assert_close(segmentation_loss()(logits, mask), expected)
    perfect = (mask * 2 - 1) * 20
    assert segmentation_loss()(perfect, mask) < 0.05 < expected


def test_unknown_model_suggests_a_name() -> None:
    with pytest.raises(ValueError, match="Did you mean 'patchgan'"):
        create_model("patchgen")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"spatial_dims": 4}, ValueError),
        ({"width": 0}, ValueError),
        ({"in_channels": 1.5}, TypeError),
        ({"norm": "group"}, ValueError),
        ({"head_kernel_size": 4}, ValueError),
        ({"depth": 0}, ValueError),
        ({"depth": 7}, ValueError),
        ({"pool": "median"}, ValueError),
    ],
)
def test_bad_arguments_raise(kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        create_model("patchgan", **kwargs)


def test_resnet_rejects_unknown_depth() -> None:
    from lesionlens.models import ResNetClassifier

    with pytest.raises(ValueError, match="depth"):
        ResNetClassifier(depth=20)


def test_eval_mode_restores_every_module() -> None:
    model = create_model("patchgan", spatial_dims=2, width=8).train()
    model.features[1].eval()
    before = [m.training for m in model.modules()]
    with eval_mode(model):
        assert not any(m.training for m in model.modules())
        assert torch.is_grad_enabled()
    assert [m.training for m in model.modules()] == before
