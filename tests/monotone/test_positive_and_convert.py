import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from monai.networks.nets import resnet18
from torch import nn

from lesionlens.monotone import (
    PatchStack,
    SplitActivation,
    check_monotone,
    make_monotone,
    monotone,
    phi,
    phi_inverse,
)
from lesionlens.monotone.positive import is_positive_parametrized


@settings(deadline=None)
@given(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=32))
def test_phi_inverse_is_a_right_inverse(values):
    v = torch.tensor(values, dtype=torch.float64)
    torch.testing.assert_close(phi(phi_inverse(v)), v, rtol=1e-9, atol=1e-12)


def test_phi_is_nonnegative_even_and_zero_at_zero():
    w = torch.linspace(-5, 5, 101, dtype=torch.float64)
    assert (phi(w) >= 0).all()
    torch.testing.assert_close(phi(w), phi(-w))
    assert phi(torch.zeros(1)).item() == 0.0


def test_phi_inverse_refuses_negative_weights():
    with pytest.raises(ValueError, match="non-negative"):
        phi_inverse(torch.tensor([0.5, -0.1]))


def test_make_monotone_converts_resnet_and_keeps_the_original():
    torch.manual_seed(0)
    net = resnet18(spatial_dims=2, n_input_channels=2, num_classes=1, widen_factor=0.125)
    mono = make_monotone(net)
    convs = [m for m in mono.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert convs and all(is_positive_parametrized(m) and m.bias is None for m in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in mono.modules())
    assert isinstance(mono.layer2[0].act, SplitActivation)
    assert is_positive_parametrized(mono.layer2[0].downsample[0])
    assert isinstance(net.bn1, nn.BatchNorm2d) and not is_positive_parametrized(net.conv1)
    report = check_monotone(mono, (2, 32, 32), n_samples=2)
    assert report.ok, report.reasons


def test_weights_keep_their_magnitude():
    layer = nn.Conv3d(2, 4, 3)
    mono = make_monotone(layer)
    torch.testing.assert_close(mono.weight, layer.weight.abs(), rtol=1e-5, atol=1e-6)


def test_make_monotone_is_idempotent():
    once = make_monotone(PatchStack(2, 3, width=4))
    twice = make_monotone(once)
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(once(x), twice(x))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2)


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.lin = nn.Linear(3, 3)


class Custom(nn.Module):
    def forward(self, x):
        return x


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (nn.Sequential(nn.Linear(8, 8), nn.Sequential(nn.ReLU(), Block())), r"'1\.1\.attn'"),
        (nn.Sequential(nn.Linear(3, 3), nn.Softmax(dim=1)), "Softmax"),
        (nn.Sequential(nn.Linear(3, 3), nn.GELU()), "GELU"),
        (nn.Sequential(Scaled()), "parameters of its own"),
        (nn.Sequential(nn.Linear(3, 3), Custom()), "allow="),
        (nn.Sequential(nn.Upsample(scale_factor=2, mode="bicubic")), "bicubic"),
    ],
)
def test_make_monotone_refuses_naming_the_layer(model, message):
    before = repr(model)
    with pytest.raises(ValueError, match=message):
        make_monotone(model, inplace=True)
    assert repr(model) == before  # nothing half-converted


def test_allow_accepts_a_vouched_layer():
    net = make_monotone(nn.Sequential(nn.Linear(3, 3), Custom()), allow=(Custom,))
    assert is_positive_parametrized(net[0])


def test_monotone_context_restores_the_original_layers():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    originals = list(net)
    with monotone(net):
        assert check_monotone(net, (3,)).ok
    assert list(net) == originals
    assert not check_monotone(net, (3,)).ok
