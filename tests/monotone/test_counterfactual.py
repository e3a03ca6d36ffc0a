import pytest
import torch
from torch import nn

from lesionlens.monotone import (
    InterpretableMonotoneClassifier,
    channels_last,
    counterfactual,
    counterfactual_maps,
    propagation_init,
)


def _model_with_offset(sign: float):
    """A monotone classifier whose head input is shifted so that every image is pathological
    (sign=+1: all logits > 0) or healthy (sign=-1: all logits < 0)."""
    torch.manual_seed(0)
    model = InterpretableMonotoneClassifier(2, 1, "patchgan", width=4)
    propagation_init(model, (1, 32, 32), batch_size=4, seed=0)
    x = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(x)
    shift = sign * (logits.abs().max() + 1)
    model.head.register_forward_pre_hook(lambda _m, inp: (inp[0] + shift,))
    return model, x


def test_counterfactual_is_nonnegative_and_flips_the_decision():
    model, x = _model_with_offset(+1.0)
    with torch.no_grad():
        assert (model(x) > 0).all()
        f = model.forward_features(x)
    alpha = counterfactual(model, x, margin=-1.0, lam=1e-4, steps=500, lr=0.05)
    assert alpha.shape == f.shape and (alpha >= 0).all() and alpha.max() > 0
    with torch.no_grad():
        assert (model.forward_head(f - alpha) < -1.0).all()
    assert all(p.grad is None for p in model.parameters())


def test_counterfactual_is_zero_for_images_already_healthy():
    model, x = _model_with_offset(-1.0)
    alpha = counterfactual(model, x, margin=0.0, steps=50, lr=0.05)
    assert alpha.abs().max() == 0


class _MeanHead(nn.Module):
    """Identity features, head M(f) = c · mean(f) + 1: ∂M/∂f_i = c / N for N elements."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c

    def forward_features(self, x):
        return x

    def forward_head(self, f):
        return self.c * f.flatten(1).mean(1) + 1.0


@pytest.mark.parametrize("n", [10, 10_000])
def test_l1_weighs_the_mean_of_alpha_so_lambda_does_not_depend_on_size(n: int):
    x = torch.zeros(2, 1, n)
    # gradient c/N against λ/N: α grows when c > λ, whatever N (with a sum it would need c/N > λ)
    grows = counterfactual(_MeanHead(2.0), x, margin=-1.0, lam=1.0, steps=50, lr=0.1)
    assert (grows > 0).all()
    stays = counterfactual(_MeanHead(0.5), x, margin=-1.0, lam=1.0, steps=50, lr=0.1)
    assert stays.abs().max() == 0


class _SignedHead(nn.Module):
    """Non-monotone head M(f) = mean(w · f) + 1 with w = +2 on the first half, −2 on the second."""

    def forward_features(self, x):
        return x

    def forward_head(self, f):
        w = torch.ones(f.shape[-1])
        w[f.shape[-1] // 2 :] = -1.0
        return 2.0 * (w * f).flatten(1).mean(1) + 1.0


def test_unprojected_search_lets_alpha_take_both_signs_for_a_non_monotone_head():
    x = torch.zeros(2, 1, 8)
    free = counterfactual(_SignedHead(), x, margin=-1.0, lam=0.1, steps=100, lr=0.1,
                          nonnegative=False)
    assert (free[..., :4] > 0).all() and (free[..., 4:] < 0).all()  # mixed sign, as in the thesis
    with torch.no_grad():
        assert (_SignedHead().forward_head(x - free) < -1.0).all()
    projected = counterfactual(_SignedHead(), x, margin=-1.0, lam=0.1, steps=100, lr=0.1)
    assert (projected[..., :4] > 0).all() and (projected[..., 4:] == 0).all()


def test_maps_are_channels_first_and_can_be_laid_out_channels_last():
    model, x = _model_with_offset(+1.0)
    maps = counterfactual_maps(model, x, steps=3, lr=0.01, margin=-100.0)
    assert maps.shape == (3, 8, 32, 32) and maps.dtype == torch.float32
    assert channels_last(maps).shape == (3, 32, 32, 8)


def test_counterfactual_refuses_bad_models_and_margins():
    with pytest.raises(TypeError, match="forward_features"):
        counterfactual(nn.Linear(2, 1), torch.randn(1, 2))
    model, x = _model_with_offset(+1.0)
    with pytest.raises(ValueError, match="margin"):
        counterfactual(model, x, margin=1.0)
