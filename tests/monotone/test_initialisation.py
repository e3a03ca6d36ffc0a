import pytest
import torch
from monai.networks.nets import resnet18
from torch import nn

from lesionlens.monotone import (
    INITS,
    PatchStack,
    check_monotone,
    make_monotone,
    propagation_init,
    record_stats,
)


def _stds(model, shape, batch, seed):
    x = torch.randn((batch, *shape), generator=torch.Generator().manual_seed(seed))
    return [s.forward_std for s in record_stats(model, x, channel_correlation=False)]


def test_propagation_init_gives_unit_variance_in_a_monotone_resnet18():
    shape = (2, 32, 32)
    net = resnet18(spatial_dims=2, n_input_channels=2, num_classes=1, widen_factor=0.125)
    model = make_monotone(net)  # ResNet18 topology at width 8 (residuals, downsample, max-pool)
    propagation_init(model, shape, batch_size=2, seed=0)
    stds = _stds(model, shape, batch=2, seed=0)  # the initialisation batch (seed 0)
    assert len(stds) == 21
    assert all(abs(s - 1) < 0.1 for s in stds), stds
    assert check_monotone(model, shape, n_samples=1).ok


def test_propagation_init_gives_unit_variance_in_a_patch_stack():
    shape = (3, 32, 32)
    model = make_monotone(PatchStack(2, 3, width=8))
    propagation_init(model, shape, batch_size=8, seed=0)
    assert all(abs(s - 1) < 0.1 for s in _stds(model, shape, batch=8, seed=0))
    # Monotone features are strongly correlated, so a fresh batch's std varies more, but it
    # stays of order 1 where Kaiming reaches > 10 (next test).
    fresh = _stds(model, shape, batch=8, seed=123)
    assert all(0.3 < s < 3 for s in fresh), fresh


def test_kaiming_explodes_where_propagation_does_not():
    shape = (3, 32, 32)
    model = make_monotone(PatchStack(2, 3, width=8))
    INITS.get("kaiming")(model, shape, seed=0)
    assert _stds(model, shape, batch=4, seed=1)[-1] > 10


def test_propagation_init_restores_norm_layers_and_rescales_a_standard_network():
    shape = (2, 16, 16)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU()
    )
    propagation_init(net, shape, batch_size=4, seed=0)
    assert isinstance(net[1], nn.BatchNorm2d)
    assert net[0].bias.abs().max() == 0
    bare = nn.Sequential(net[0], net[2], net[3])
    assert all(abs(s - 1) < 0.1 for s in _stds(bare, shape, batch=4, seed=0))


def test_lsuv_reaches_unit_variance_on_its_batch():
    shape = (2, 16, 16)
    model = make_monotone(nn.Sequential(nn.Conv2d(2, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3)))
    INITS.get("lsuv")(model, shape, batch_size=4, seed=0, tol=0.01)
    assert all(abs(s**2 - 1) < 0.01 for s in _stds(model, shape, batch=4, seed=0))


def test_inits_are_seeded():
    shape = (3, 32, 32)
    a, b = make_monotone(PatchStack(2, 3, width=4)), make_monotone(PatchStack(2, 3, width=4))
    for model in (a, b):
        propagation_init(model, shape, batch_size=2, seed=7)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="input_shape"):
        propagation_init(nn.Linear(2, 2), (), batch_size=2)
    with pytest.raises(ValueError, match="Did you mean"):
        INITS.get("kaimin")


def test_record_stats_leaves_parameter_gradients_untouched():
    model = make_monotone(PatchStack(2, 2, width=4))
    stats = record_stats(model, torch.randn(2, 2, 32, 32))
    assert [s.name for s in stats][0] == "layers.0"
    assert all(s.backward_std > 0 for s in stats[:-1])  # the last one feeds a mean: uniform
    assert all(p.grad is None for p in model.parameters())
