import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrize

from lesionlens.monotone import check_monotone, make_monotone


class Difference(nn.Module):
    """a − b: structurally clean parts, non-monotone arithmetic in forward."""

    def __init__(self):
        super().__init__()
        self.a = make_monotone(nn.Linear(4, 1))
        self.b = make_monotone(nn.Linear(4, 1))

    def forward(self, x):
        return self.a(x) - self.b(x)


def test_certificate_catches_a_subtraction_in_forward():
    torch.manual_seed(0)
    report = check_monotone(Difference(), (4,))
    assert report.structural
    assert not report.ok and not report.gradient
    assert any("gradient" in r for r in report.reasons)


def test_certificate_catches_a_negative_weight():
    torch.manual_seed(0)
    net = make_monotone(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
    parametrize.remove_parametrizations(net[2], "weight")
    with torch.no_grad():
        net[2].weight.mul_(-1)
    report = check_monotone(net, (4,))
    assert not report.ok and not report.structural and not report.gradient
    assert any("'2'" in r for r in report.reasons)


def test_certificate_flags_a_bias_through_sign_calibration():
    torch.manual_seed(0)
    net = make_monotone(nn.Sequential(nn.Linear(4, 4), nn.ReLU()))
    net[0].bias = nn.Parameter(torch.full((4,), 3.0))
    report = check_monotone(net, (4,))
    assert report.gradient and not report.sign_calibrated and not report.ok


def test_certificate_accepts_an_example_batch():
    net = make_monotone(nn.Sequential(nn.Conv2d(2, 4, 3), nn.LeakyReLU(), nn.MaxPool2d(2)))
    assert check_monotone(net, torch.randn(3, 2, 8, 8), n_samples=2).ok


def _random_mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 3))
    return make_monotone(net)


def _random_cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.LeakyReLU(0.1),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 4, 3),
        nn.ELU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )
    return make_monotone(net).eval()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    x=st.lists(st.floats(-3, 3), min_size=5, max_size=5),
    step=st.lists(st.floats(0, 2), min_size=5, max_size=5),
)
def test_raising_any_feature_never_lowers_an_mlp_logit(seed, x, step):
    net = _random_mlp(seed)
    low = torch.tensor([x], dtype=torch.float32)
    high = low + torch.tensor([step], dtype=torch.float32)
    with torch.no_grad():
        assert (net(high) >= net(low) - 1e-5).all()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), pixel=st.integers(0, 2 * 8 * 8 - 1), step=st.floats(0, 5))
def test_raising_any_pixel_never_lowers_a_cnn_logit(seed, pixel, step):
    net = _random_cnn(seed)
    low = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(seed))
    high = low.clone()
    high.view(-1)[pixel] += step
    with torch.no_grad():
        assert (net(high) >= net(low) - 1e-5).all()
