import math

import pytest
import torch
import torch.nn.functional as F

from lesionlens.monotone import (
    InterpretableMonotoneClassifier,
    build_monotone_method,
    check_monotone,
    distribution_loss,
    monotone_losses,
    soft_histogram,
)


def _toy_batch(seed: int = 0):
    """Healthy images are noise; pathological ones add a bright square."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 1, 32, 32, generator=g) * 0.1
    y = torch.tensor([0, 1] * 4)
    x[y == 1, :, 8:16, 8:16] += 2.0
    return x, y


def test_classifier_shapes_and_monotone_head():
    torch.manual_seed(0)
    model = InterpretableMonotoneClassifier(2, 1, "patchgan", width=4)
    x, _ = _toy_batch()
    features = model.forward_features(x)
    assert features.shape == (8, 8, 32, 32)
    assert model(x).shape == (8,)
    assert check_monotone(model.head, (8, 32, 32), n_samples=2).ok


def test_classifier_3d_and_resnet_backbones():
    torch.manual_seed(0)
    model = InterpretableMonotoneClassifier(3, 2, "patchgan", width=2)
    assert model(torch.randn(1, 2, 32, 32, 32)).shape == (1,)
    resnet = InterpretableMonotoneClassifier(2, 1, "resnet18", encoder_channels=4)
    assert resnet(torch.randn(2, 1, 32, 32)).shape == (2,)


@pytest.mark.parametrize("pool", ["mean", "max", "lse"])
def test_patch_pooling_and_depth_keep_the_head_monotone(pool: str):
    from lesionlens.models.patchgan import pool_patch_logits

    torch.manual_seed(0)
    method = build_monotone_method("monotone", 2, 1, width=4, depth=2, pool=pool)
    head = method.model.head
    assert head.pool == pool and head.min_size == 8
    assert sum(isinstance(m, torch.nn.Conv2d) for m in head.modules()) == 3  # 2 strided + logit
    assert check_monotone(head, (8, 32, 32), n_samples=2).ok
    f = torch.randn(2, 8, 32, 32)
    with torch.no_grad():
        want = pool_patch_logits(head.layers(f), pool)
        assert torch.allclose(head(f), want)
        assert (head(-f.abs()) <= 1e-6).all()  # sign calibration: f ≤ 0 → M(f) ≤ 0


def test_encoder_options_remove_the_norm_and_the_last_activation():
    plain = build_monotone_method(
        "monotone", 2, 1, width=4, encoder_norm="none", encoder_last_activation=False,
        encoder_bias=True,
    )
    kinds = [type(m).__name__ for m in plain.model.encoder.layers]
    assert kinds == ["Conv2d", "LeakyReLU", "Conv2d"]
    assert all(plain.model.encoder.layers[i].bias is not None for i in (0, 2))
    thesis_convs = build_monotone_method("monotone", 2, 1, width=4).model.encoder.layers
    assert all(m.bias is None for m in thesis_convs if isinstance(m, torch.nn.Conv2d))
    # without biases (and norms) C is positively homogeneous: C(2x) = 2 C(x)
    homogeneous = build_monotone_method(
        "monotone", 2, 1, width=4, encoder_norm="none", encoder_last_activation=False
    ).model.encoder
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(homogeneous(2 * x), 2 * homogeneous(x), atol=1e-5)
    thesis = build_monotone_method("monotone", 2, 1, width=4)
    kinds = [type(m).__name__ for m in thesis.model.encoder.layers]
    assert kinds == ["Conv2d", "InstanceNorm2d", "LeakyReLU"] * 2
    assert plain.model.get_config()["encoder_norm"] == "none"
    x = -torch.rand(1, 1, 32, 32)
    assert (plain.model.forward_features(x) < 0).any()  # strongly negative features allowed
    with pytest.raises(ValueError, match="encoder norm"):
        build_monotone_method("monotone", 2, 1, encoder_norm="batch")
    with pytest.raises(ValueError, match="patchgan backbone"):
        build_monotone_method("monotone", 2, 1, "resnet18", pool="max")
    with pytest.raises(ValueError, match="pool must be"):
        build_monotone_method("monotone", 2, 1, pool="median")


def test_methods_differ_only_where_the_thesis_says():
    mono = build_monotone_method("monotone", 2, 1, width=4)
    base = build_monotone_method("monotone-baseline", 2, 1, width=4)
    base_c = build_monotone_method("monotone-baseline-c", 2, 1, width=4)
    assert mono.model.monotone and not base.model.monotone and not base_c.model.monotone
    assert mono.loss_weights.grad > 0 and base_c.loss_weights.grad == 0
    assert base.loss_weights.nf == base.loss_weights.df == 0
    assert base_c.loss_weights.nf == base_c.loss_weights.df == 1
    assert not check_monotone(base.model.head, (8, 32, 32), n_samples=2).ok
    with pytest.raises(ValueError, match="Did you mean"):
        build_monotone_method("monotone-basline", 2, 1)


def test_soft_histogram_matches_hard_counts_at_bin_centres():
    centres = torch.linspace(-2, 0, 5)
    values = centres[torch.tensor([0, 0, 1, 4, 4, 4])]
    hist = soft_histogram(values, -2.0, 0.0, bins=5)
    torch.testing.assert_close(hist, torch.tensor([2, 1, 0, 0, 3]) / 6.0)


def test_soft_histogram_splits_mass_linearly_and_is_differentiable():
    value = torch.tensor([-1.75], requires_grad=True)  # a quarter of the way from -2 to -1.5
    hist = soft_histogram(value, -2.0, 0.0, bins=5)
    torch.testing.assert_close(hist[:2], torch.tensor([0.5, 0.5]))
    hist[1].backward()
    assert value.grad.item() == pytest.approx(2.0)  # 1 / bin width


def test_distribution_loss_is_kl_and_zero_for_equal_distributions():
    a = -torch.rand(1000, generator=torch.Generator().manual_seed(0))
    assert distribution_loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    b = a * 0.5
    p0 = soft_histogram(a, float(a.min()), 0.0)
    p1 = soft_histogram(b, float(a.min()), 0.0)
    expected = F.kl_div((p1 + 1e-8).log(), p0, reduction="sum")
    assert distribution_loss(a, b).item() == pytest.approx(expected.item(), rel=1e-4)


def test_losses_decrease_on_a_toy_batch():
    torch.manual_seed(0)
    method = build_monotone_method("monotone", 2, 1, width=4, input_size=(32, 32))
    x, y = _toy_batch()
    optimiser = torch.optim.Adam(method.model.parameters(), lr=3e-3)
    history = []
    for _ in range(30):
        terms = monotone_losses(method.model, x, y, method.loss_weights)
        optimiser.zero_grad()
        terms["loss"].backward()
        optimiser.step()
        history.append({k: float(v.detach()) for k, v in terms.items() if k != "logits"})
    assert all(math.isfinite(v) for v in history[-1].values())
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]
    assert history[-1]["bce"] < history[0]["bce"]
    assert history[-1]["grad"] > 0  # the double-backprop term is live


def test_losses_refuse_bad_labels():
    model = InterpretableMonotoneClassifier(2, 1, width=4)
    with pytest.raises(ValueError, match="y must have shape"):
        monotone_losses(model, torch.randn(2, 1, 32, 32), torch.zeros(3))


@pytest.mark.parametrize(
    "split", [[0, 1, 2, 3], [0, 2, 4, 6]], ids=["mixed-ranks", "healthy-rank-and-patient-rank"]
)
def test_losses_across_ranks_are_those_of_the_global_batch(split: list[int]):
    """Under DDP (2 ranks simulated by threads) the means, the histogram range and the
    histogram counts of L_nF, L_dF and L_G are pooled: the ranks' mean gradient is that of the
    whole batch's loss, and each rank's terms are the whole batch's — also when one rank holds
    only healthy images and the other only patients (L_dF then needs both ranks' histograms)."""
    from tests.rank_threads import rank_average_gradients

    torch.manual_seed(0)
    method = build_monotone_method("monotone", 2, 1, width=4, input_size=(32, 32))
    model, weights = method.model, method.loss_weights
    assert weights.nf and weights.df and weights.grad
    x, y = _toy_batch()
    params = [p for p in model.parameters() if p.requires_grad]
    ranks = [torch.tensor(split), torch.tensor([i for i in range(8) if i not in split])]
    terms = {}

    def rank_loss(idx):
        out = monotone_losses(model, x[idx], y[idx].float(), weights)
        terms[tuple(idx.tolist())] = {k: v.detach() for k, v in out.items() if k != "logits"}
        return out["loss"]

    average, _ = rank_average_gradients(rank_loss, ranks, params)
    whole = monotone_losses(model, x, y.float(), weights)
    for rank_terms in terms.values():
        for k in ("nf", "df", "grad"):
            torch.testing.assert_close(rank_terms[k], whole[k].detach(), rtol=1e-4, atol=1e-8)
    expected = torch.autograd.grad(whole["loss"], params, allow_unused=True)
    for got, g in zip(average, expected, strict=True):
        torch.testing.assert_close(got, torch.zeros_like(got) if g is None else g,
                                   rtol=1e-3, atol=1e-7)
