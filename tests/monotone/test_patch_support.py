"""Brain-restricted patch pooling of the monotone classifier (``patch_support="brain"``)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lesionlens.errors import LesionLensInputError
from lesionlens.models.patchgan import patch_support, pool_patch_logits
from lesionlens.monotone import build_monotone_method, counterfactual, monotone_losses
from lesionlens.monotone.support import fill_outside_support


def _brain_batch(dims: int = 2, size: int = 32):
    """Zero background, a centred 'brain' of noise; the second image adds a bright lesion."""
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(2, 1, *(size,) * dims)
    inner = (slice(None), slice(None)) + (slice(8, 24),) * dims
    x[inner] = torch.randn(x[inner].shape, generator=g) * 0.3 - 1.0
    x[(1, slice(None)) + (slice(12, 16),) * dims] += 3.0
    return x, torch.tensor([0.0, 1.0])


@pytest.mark.parametrize("pool", ["mean", "max", "lse"])
def test_masked_pools_equal_the_pool_of_the_kept_patches(pool: str):
    logits = torch.randn(3, 1, 4, 4)
    keep = torch.zeros(3, 1, 4, 4, dtype=torch.bool)
    keep[0, 0, 1:3, 1:3] = True
    keep[1, 0, 0, 0] = True  # sample 2 keeps nothing → pools every patch
    got = pool_patch_logits(logits, pool, keep)
    for b, kept in enumerate((logits[0, 0, 1:3, 1:3], logits[1, 0, :1, :1], logits[2])):
        flat = kept.flatten()
        want = {
            "mean": flat.mean(),
            "max": flat.max(),
            "lse": torch.logsumexp(flat, 0) - math.log(flat.numel()),
        }[pool]
        assert torch.allclose(got[b], want)
    assert torch.allclose(pool_patch_logits(logits, pool, torch.ones_like(keep)),
                          pool_patch_logits(logits, pool))


def test_patch_support_keeps_the_cells_that_hold_a_voxel():
    support = torch.zeros(1, 1, 16, 16, dtype=torch.bool)
    support[0, 0, 5, 9] = True
    keep = patch_support(support, (4, 4))
    assert keep.shape == (1, 1, 4, 4) and keep.sum() == 1 and keep[0, 0, 1, 2]


def test_brain_support_ignores_background_patches_that_would_win_the_max():
    torch.manual_seed(0)
    kwargs = dict(width=4, depth=2, pool="max", encoder_norm="none",
                  encoder_last_activation=False, encoder_bias=True)
    plain = build_monotone_method("monotone", 3, 1, **kwargs).model
    masked = build_monotone_method("monotone", 3, 1, patch_support="brain", **kwargs).model
    masked.load_state_dict(plain.state_dict())
    x, _ = _brain_batch(dims=3)
    with torch.no_grad():
        f = plain.forward_features(x) - 5.0  # brain and background features alike: negative
        f[(slice(None), slice(None)) + (slice(8, 24),) * 3] -= 20.0  # the brain far more so
        support = masked.input_support(x)
        filled = fill_outside_support(f, support)
        patches = plain.head.layers(filled)
        keep = patch_support(support, patches.shape[2:])
        assert 0 < keep.sum() < keep.numel()
        brain_max = patches.masked_fill(~keep, -math.inf).flatten(1).amax(1)
        assert torch.allclose(masked.forward_head(f, support), brain_max)
        assert (plain.forward_head(f) > brain_max + 1).all()  # background wins without support


def test_fill_puts_each_channels_brain_minimum_outside_the_brain():
    torch.manual_seed(0)
    f = torch.randn(3, 2, 6, 6)
    support = torch.zeros(3, 1, 6, 6, dtype=torch.bool)
    support[0, 0, 1:4, 2:5] = True
    support[1, 0, 5, 5] = True  # sample 2: no support → unchanged
    out = fill_outside_support(f, support)
    for b in range(2):
        inside = support[b, 0]
        for k in range(2):
            assert torch.equal(out[b, k][inside], f[b, k][inside])
            assert (out[b, k][~inside] == f[b, k][inside].min()).all()
    assert torch.equal(out[2], f[2])


def test_features_outside_the_brain_cannot_move_the_decision():
    """The failure of the 3-D run (benchmarks.md): background features ≈ 0 make a patch on the
    brain's edge outrank the lesion. Filled, the background no longer matters at all."""
    torch.manual_seed(0)
    model = build_monotone_method("monotone", 3, 1, width=4, depth=2, pool="max",
                                  patch_support="brain").model
    x, _ = _brain_batch(dims=3)
    support = model.input_support(x)
    with torch.no_grad():
        f = model.forward_features(x)
        edge_up = torch.where(support, f, f + 5.0)  # make the background look pathological
        assert torch.allclose(model.forward_head(edge_up, support), model.forward_head(f, support))
        assert (model.head(edge_up, support) > model.head(f, support)).all()  # unfilled: it moves


def test_losses_and_their_gradients_use_the_brain_support():
    torch.manual_seed(0)
    model = build_monotone_method("monotone", 2, 1, width=4, depth=2, pool="max",
                                  patch_support="brain").model
    x, y = _brain_batch()
    out = monotone_losses(model, x, y, build_monotone_method("monotone", 2, 1).loss_weights)
    assert float(out["grad"]) > 0
    out["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert torch.allclose(out["logits"], model(x).detach())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), index=st.integers(0, 8 * 32 * 32 - 1), step=st.floats(0, 5))
def test_raising_any_feature_never_lowers_the_brain_pooled_logit(seed, index, step):
    torch.manual_seed(seed)
    model = build_monotone_method("monotone", 2, 1, width=4, depth=2, pool="max",
                                  patch_support="brain").model
    x, _ = _brain_batch()
    support = model.input_support(x)
    with torch.no_grad():
        f = model.forward_features(x)
        raised = f.clone()
        raised.view(2, -1)[:, index] += step
        assert (model.forward_head(raised, support) >= model.forward_head(f, support) - 1e-5).all()


def test_counterfactual_keeps_the_support_and_flips_the_decision():
    torch.manual_seed(0)
    model = build_monotone_method("monotone", 2, 1, width=4, depth=2, pool="max",
                                  patch_support="brain").model
    x, _ = _brain_batch()
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(0.5)  # make the pathological image look pathological: logit > 0
        start = model(x)
    assert (start > 0).any()
    alpha = counterfactual(model, x, margin=-0.5, lam=0.0, steps=400, lr=0.05)
    assert (alpha >= 0).all()
    with torch.no_grad():
        f = model.forward_features(x)
        after = model.forward_head(f - alpha, model.input_support(x))
    assert (after < -0.5 + 1e-4).all()


def test_brain_support_is_validated():
    with pytest.raises(LesionLensInputError, match="patch_support"):
        build_monotone_method("monotone", 2, 1, patch_support="lesion")
    with pytest.raises(LesionLensInputError, match="patchgan backbone"):
        build_monotone_method("monotone", 2, 1, "resnet18", patch_support="brain")
