"""Attribution constraints: values, masks, training objective, G/EG equivalence, optimisation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lesionlens.attributions import ExpectedGradients, Gradient
from lesionlens.constraints import (
    CONSTRAINTS,
    DEFAULT_WEIGHTS,
    attribution_bce,
    create_constraint,
    ross_l2,
    total_variation,
)
from lesionlens.models import PatchGANClassifier


def _toy(seed: int = 0, norm: str = "none"):
    torch.manual_seed(seed)
    model = PatchGANClassifier(spatial_dims=2, width=8, norm=norm)
    x = torch.randn(4, 1, 32, 32)
    y = torch.tensor([0, 1, 0, 1])
    mask = torch.full((4, 1, 32, 32), float("nan"))
    mask[1] = (torch.rand(1, 32, 32) > 0.8).float()
    return model, x, y, mask


def test_default_weights_follow_the_thesis() -> None:
    assert DEFAULT_WEIGHTS == {"g": 1e8, "eg": 1e10, "ig": 1e6, "ieg": 1e7}
    assert create_constraint("unsup", attribution="ieg").weight == 1e7
    assert create_constraint("sup", attribution="eg").weight == 1e9
    assert create_constraint("unsup-tv", attribution="eg").weight == 1e9
    assert create_constraint("unsup", attribution="eg", weight=3.0).weight == 3.0
    assert create_constraint("erion").attribution == "eg"


def test_unsup_is_bce_of_healthy_gradients() -> None:
    model, x, y, _ = _toy()
    loss, parts = create_constraint("unsup")(model, x, y)
    grads = Gradient(model).attribute(x[y == 0])
    expected = F.binary_cross_entropy_with_logits(grads, torch.zeros_like(grads))
    torch.testing.assert_close(loss, expected)
    assert int(parts["n_constrained"]) == 2


def test_scale_free_unsup_divides_each_map_by_its_mean_magnitude() -> None:
    model, x, y, _ = _toy()
    brain = (torch.rand(4, 1, 32, 32) > 0.3).float()
    loss, _ = create_constraint("unsup", scale_free=True)(model, x, y, brain=brain)
    grads, inside = Gradient(model).attribute(x[y == 0]), brain[y == 0]
    scale = (grads.abs() * inside).sum((1, 2, 3)) / inside.sum((1, 2, 3))
    expected = attribution_bce(grads / scale.view(-1, 1, 1, 1), torch.zeros_like(grads), inside)
    torch.testing.assert_close(loss, expected)
    # the penalty no longer depends on the gradients' scale: scaling the head by 1000 (all
    # gradients × 1000) leaves it unchanged, whereas the thesis' loss moves
    plain, _ = create_constraint("unsup")(model, x, y)
    free, _ = create_constraint("unsup", scale_free=True)(model, x, y)
    with torch.no_grad():
        model.head.weight.mul_(1000.0)
    torch.testing.assert_close(create_constraint("unsup", scale_free=True)(model, x, y)[0], free)
    assert not torch.allclose(create_constraint("unsup")(model, x, y)[0], plain)
    # the training objective applies it too
    out = create_constraint("unsup", scale_free=True).classification_and_constraint(model, x, y)
    torch.testing.assert_close(out["constraint"], free)
    assert create_constraint("unsup", scale_free=True).get_config()["scale_free"] is True


def test_sup_uses_masks_and_skips_unmasked_patients() -> None:
    model, x, y, mask = _toy()
    loss, parts = create_constraint("sup")(model, x, y, mask=mask)
    assert int(parts["n_constrained"]) == 3  # two healthy + the patient with a mask
    keep = torch.tensor([True, True, True, False])
    grads = Gradient(model).attribute(x[keep])
    target = torch.zeros_like(grads)
    target[1] = mask[1]
    torch.testing.assert_close(loss, F.binary_cross_entropy_with_logits(grads, target))


def test_brain_mask_restricts_the_voxels() -> None:
    brain = torch.zeros(1, 1, 4, 4)
    brain[..., 1:3, 1:3] = 1
    maps = torch.randn(1, 1, 4, 4)
    inside = maps[..., 1:3, 1:3]
    torch.testing.assert_close(
        attribution_bce(maps, torch.zeros_like(maps), brain),
        F.binary_cross_entropy_with_logits(inside, torch.zeros_like(inside)),
    )


def test_total_variation_and_ross_values() -> None:
    maps = torch.tensor([[[[0.0, 1.0], [3.0, 3.0]]]])
    # horizontal |1-0|, |3-3| → mean 0.5; vertical |3-0|, |3-1| → mean 2.5
    torch.testing.assert_close(total_variation(maps), torch.tensor(3.0))
    torch.testing.assert_close(ross_l2(maps), torch.tensor(19.0))


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-10, 10), scale=st.floats(0.1, 10), seed=st.integers(0, 1000))
def test_total_variation_properties(shift: float, scale: float, seed: int) -> None:
    maps = torch.randn(2, 1, 5, 6, 4, generator=torch.Generator().manual_seed(seed)).double()
    tv = total_variation(maps)
    torch.testing.assert_close(total_variation(maps + shift), tv)
    torch.testing.assert_close(total_variation(scale * maps), scale * tv)
    assert total_variation(torch.full_like(maps, shift)) == 0


def test_training_objective_equals_separate_losses() -> None:
    model, x, y, _ = _toy()
    constraint = create_constraint("unsup", weight=10.0)
    out = constraint.classification_and_constraint(model, x, y)
    separate, _ = constraint(model, x, y)
    bce = F.binary_cross_entropy_with_logits(model(x), y.float())
    torch.testing.assert_close(out["loss"], bce + 10.0 * separate)
    params = list(model.parameters())
    shared_grads = torch.autograd.grad(out["loss"], params)
    separate_grads = torch.autograd.grad(bce + 10.0 * constraint(model, x, y)[0], params)
    for shared, alone in zip(shared_grads, separate_grads, strict=True):
        torch.testing.assert_close(shared, alone, rtol=1e-4, atol=1e-8)


def test_training_objective_when_every_image_is_constrained() -> None:
    model, x, y, _ = _toy()
    constraint = create_constraint("erion", attribution="g", weight=10.0)  # every image
    out = constraint.classification_and_constraint(model, x, y)
    bce = F.binary_cross_entropy_with_logits(model(x), y.float())
    torch.testing.assert_close(out["loss"], bce + 10.0 * constraint(model, x, y)[0])
    assert int(out["n_constrained"]) == 4


def test_eg_constraint_is_g_constraint_on_the_segment_points() -> None:
    """Spec §1.4 Prop. 4: the stochastic EG constraint on (x, x′, α) is the G constraint on
    αx + (1 − α)x′ — same loss and same parameter gradients."""
    model, x, y, _ = _toy()
    eg_constraint = create_constraint("unsup", attribution="eg", seed=7)
    eg_loss, _ = eg_constraint(model, x, y)
    refs, alphas = ExpectedGradients(model).sample_path(
        x, None, 1, torch.Generator().manual_seed(7)
    )
    points = refs + alphas.view(-1, 1, 1, 1) * (x - refs)
    g_loss, _ = create_constraint("unsup", attribution="g")(model, points, y)
    torch.testing.assert_close(eg_loss, g_loss)
    params = list(model.parameters())
    eg_grads = torch.autograd.grad(eg_loss, params, materialize_grads=True)
    g_grads = torch.autograd.grad(g_loss, params, materialize_grads=True)
    assert sum(g.abs().sum() for g in g_grads) > 0
    for a, b in zip(eg_grads, g_grads, strict=True):
        torch.testing.assert_close(a, b)


def test_ig_and_ieg_references() -> None:
    """ig uses the zero reference; ieg with p0=1 equals ig, with p0=0 equals eg."""
    model, x, y, _ = _toy()
    ig = create_constraint("unsup", attribution="ig", seed=3)(model, x, y)[0]
    ieg1 = create_constraint("unsup", attribution="ieg", p0=1.0, seed=3)(model, x, y)[0]
    eg = create_constraint("unsup", attribution="eg", seed=3)(model, x, y)[0]
    ieg0 = create_constraint("unsup", attribution="ieg", p0=0.0, seed=3)(model, x, y)[0]
    torch.testing.assert_close(ig, ieg1)
    torch.testing.assert_close(eg, ieg0)
    assert not torch.equal(ig, eg)


@pytest.mark.parametrize("attribution", ["g", "ieg"])
@pytest.mark.parametrize("name", [n for n in CONSTRAINTS.names() if n != "none"])
def test_constraint_decreases_with_training(name: str, attribution: str) -> None:
    model, x, y, mask = _toy(seed=1)

    def probe() -> float:  # the same (reference, α) draws before and after training
        return float(create_constraint(name, attribution=attribution, seed=0)(model, x, y, mask)[0])

    constraint = create_constraint(name, attribution=attribution, seed=0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = probe()
    for _ in range(6):
        loss, _ = constraint(model, x, y, mask=mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    # BCE penalties start near log 2 and drift down (softplus of tiny maps); L2/TV shrink fast
    assert probe() < (1.0 if name in ("unsup", "sup", "unsup-tv") else 0.5) * before


def test_no_constraint_is_plain_bce() -> None:
    model, x, y, _ = _toy()
    out = create_constraint("none").classification_and_constraint(model, x, y)
    torch.testing.assert_close(out["loss"], F.binary_cross_entropy_with_logits(model(x), y.float()))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"attribution": "gradcam"}, "training attribution"), ({"weight": -1.0}, "weight")],
)
def test_bad_options_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        create_constraint("unsup", **kwargs)


def test_bad_shapes_raise() -> None:
    model, x, y, mask = _toy()
    with pytest.raises(ValueError, match="one label per image"):
        create_constraint("unsup")(model, x, y[:3])
    with pytest.raises(ValueError, match="mask must be"):
        create_constraint("sup")(model, x, y, mask=mask[..., :16])


@pytest.mark.parametrize("attribution", ["g", "ieg"])
@pytest.mark.parametrize("norm", ["none", "batch"])
def test_objective_under_bf16_autocast_follows_float32(attribution: str, norm: str) -> None:
    """train --precision bf16-mixed: the constrained objective and its parameter gradient (double
    backprop through the maps) stay those of float32 up to bfloat16 rounding."""
    model, x, y, _ = _toy(norm=norm)
    constraint = create_constraint("unsup", attribution=attribution, weight=10.0, seed=0)
    params = list(model.parameters())

    def objective(autocast: bool):
        constraint.generator.manual_seed(0)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = constraint.classification_and_constraint(model, x, y)
        grads = torch.autograd.grad(out["loss"], params)
        return out, torch.cat([g.flatten() for g in grads])

    full, g_full = objective(False)
    half, g_half = objective(True)
    assert half["loss"].dtype == torch.float32 and g_half.dtype == torch.float32
    assert not torch.equal(g_half, g_full)  # really computed in bf16
    torch.testing.assert_close(half["loss"], full["loss"], rtol=0.02, atol=1e-3)
    assert F.cosine_similarity(g_half, g_full, dim=0) > 0.99


@pytest.mark.parametrize(
    "split", [[0, 1], [1, 3]], ids=["one-healthy-each", "no-healthy-on-a-rank"]
)
@pytest.mark.parametrize("name", CONSTRAINTS.names())
def test_ranks_pooling_counts_give_the_global_batch_gradient(name: str, split: list[int]) -> None:
    """DDP averages the ranks' gradients; with the counts pooled (``rank_pooling``) that average
    is the gradient of L_A on the whole batch, and every rank logs the whole batch's L_A, however
    the healthy images fall on the ranks (2 ranks simulated by threads)."""
    from tests.rank_threads import rank_average_gradients

    model, x, y, mask = _toy()
    brain = (torch.rand(4, 1, 32, 32) > 0.3).float()
    constraint = create_constraint(name, attribution="g", weight=1.0)
    params = [p for p in model.parameters() if p.requires_grad]
    ranks = [torch.tensor(split), torch.tensor([i for i in range(4) if i not in split])]
    average, values = rank_average_gradients(
        lambda idx: constraint(model, x[idx], y[idx], mask[idx], brain[idx])[0], ranks, params
    )
    whole = constraint(model, x, y, mask, brain)[0]
    for value in values:
        torch.testing.assert_close(value, whole.detach())
    if name == "none":
        return
    expected = torch.autograd.grad(whole, params, allow_unused=True)
    assert any(g is not None for g in expected)
    for got, g in zip(average, expected, strict=True):
        torch.testing.assert_close(got, torch.zeros_like(got) if g is None else g,
                                   rtol=1e-4, atol=1e-10)


@pytest.mark.parametrize(
    "labels", [[0, 0, 1, 1], [0, 1, 0, 1]], ids=["one-healthy-each", "no-healthy-on-a-rank"]
)
@pytest.mark.parametrize("attribution", ["eg", "ig", "ieg"])
def test_ranks_draw_the_global_batch_paths(attribution: str, labels: list[int]) -> None:
    """EG/IG/IEG under DDP: each rank draws the (reference, α) of every image of the global
    batch from the same stream and keeps its own, so the ranks' mean gradient and each rank's
    L_A are those of one process on the whole batch with the same seed — references included
    that sit on the other rank (2 ranks simulated by threads, the sampler's interleaving)."""
    from tests.rank_threads import rank_average_gradients

    model, x, _, _ = _toy()
    y = torch.tensor(labels)
    params = [p for p in model.parameters() if p.requires_grad]

    def fresh():
        return create_constraint("unsup", attribution=attribution, weight=1.0, seed=3)

    per_rank = [fresh(), fresh()]
    ranks = [torch.tensor([0, 2]), torch.tensor([1, 3])]  # rank r takes items r, r + W, ...
    average, values = rank_average_gradients(
        lambda idx: per_rank[int(idx[0])](model, x[idx], y[idx])[0], ranks, params
    )
    whole = fresh()(model, x, y)[0]
    for value in values:
        torch.testing.assert_close(value, whole.detach())
    expected = torch.autograd.grad(whole, params, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in expected)
    for got, g in zip(average, expected, strict=True):
        torch.testing.assert_close(got, torch.zeros_like(got) if g is None else g,
                                   rtol=1e-4, atol=1e-10)
