"""Conformance suite over every registered attribution (2-D and 3-D)."""

from __future__ import annotations

import pytest
import torch

from lesionlens.attributions import ATTRIBUTIONS, GradCAM, attribution_map, create_attribution

RANDOM = {"eg", "ieg"}
CHEAP = {"occlusion": {"patch": 8}, "ig": {"n_steps": 4}}


def _attribute(name: str, model, x, **kwargs):
    options = {**CHEAP.get(name, {}), **kwargs}
    if name in RANDOM and "generator" not in options:
        options.setdefault("seed", 0)
    return create_attribution(name, model).attribute(x, **options)


def _hook_count(model: torch.nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


@pytest.mark.parametrize("name", ATTRIBUTIONS.names())
def test_shape_dtype_device_and_no_side_effects(name: str, model_and_input) -> None:
    model, x = model_and_input
    hooks = _hook_count(model)
    maps = _attribute(name, model, x)
    assert isinstance(maps, torch.Tensor)
    assert maps.shape == x.shape and maps.dtype == x.dtype and maps.device == x.device
    assert torch.isfinite(maps).all() and maps.abs().sum() > 0
    assert not model.training and _hook_count(model) == hooks
    assert not x.requires_grad


@pytest.mark.parametrize("name", ATTRIBUTIONS.names())
def test_chunks_do_not_change_the_result(name: str, model_and_input) -> None:
    model, x = model_and_input
    whole = _attribute(name, model, x)
    chunked = _attribute(name, model, x, internal_batch_size=2 if name != "occlusion" else 5)
    torch.testing.assert_close(chunked, whole, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_seed_gives_the_same_map(name: str, model_and_input) -> None:
    model, x = model_and_input
    first = _attribute(name, model, x, seed=1, n_samples=2)
    torch.testing.assert_close(_attribute(name, model, x, seed=1, n_samples=2), first)
    generator = torch.Generator().manual_seed(1)
    torch.testing.assert_close(_attribute(name, model, x, generator=generator, n_samples=2), first)
    assert not torch.equal(_attribute(name, model, x, seed=2, n_samples=2), first)


@pytest.mark.parametrize("name", ATTRIBUTIONS.names())
def test_create_graph_backpropagates_to_parameters(name: str, model_and_input) -> None:
    model, x = model_and_input
    model.zero_grad()
    maps = _attribute(name, model, x, create_graph=True)
    maps.square().sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and sum(g.abs().sum() for g in grads) > 0


@pytest.mark.parametrize("name", ATTRIBUTIONS.names())
def test_targets(name: str, model_and_input) -> None:
    """None = mean patch logit; callable and int targets pick other outputs."""
    model, x = model_and_input
    default = _attribute(name, model, x)
    torch.testing.assert_close(_attribute(name, model, x, target=lambda out: out), default)
    negated = _attribute(name, model, x, target=lambda out: -out)
    torch.testing.assert_close(negated, -default, rtol=1e-4, atol=1e-9)
    patch_model = model.patch_logits
    explainer = create_attribution(name, patch_model) if name != "gradcam" else None
    if explainer is not None:
        options = {**CHEAP.get(name, {}), **({"seed": 0} if name in RANDOM else {})}
        torch.testing.assert_close(explainer.attribute(x, target=0, **options), default)
    with pytest.raises(ValueError, match="target"):
        _attribute(name, model, x, target=3)


def test_gradcam_hooks_removed_after_an_error(model_and_input) -> None:
    model, x = model_and_input
    unused = torch.nn.Conv2d(1, 1, 1)
    with pytest.raises(ValueError, match="not used"):
        with GradCAM(model, layer=unused) as cam:
            cam.attribute(x)
    assert _hook_count(unused) == 0 and _hook_count(model) == 0


def test_attribution_map_restores_mode_and_detaches(model_and_input) -> None:
    model, x = model_and_input
    model.train()
    maps = attribution_map(model, x, "ig", n_steps=4)
    assert model.training and not maps.requires_grad
    with pytest.raises(ValueError, match="unknown option"):
        attribution_map(model, x, "g", n_steps=4)


@pytest.mark.parametrize(
    ("bad", "error"),
    [(torch.zeros(2, 8), ValueError), (torch.zeros(2, 1, 8, 8, dtype=torch.long), TypeError)],
)
def test_bad_inputs_raise(bad: torch.Tensor, error: type[Exception], model_and_input) -> None:
    model, _ = model_and_input
    with pytest.raises(error, match="input"):
        create_attribution("g", model).attribute(bad)


def test_unknown_method_suggests_a_name(model_and_input) -> None:
    with pytest.raises(ValueError, match="Did you mean 'eg'"):
        create_attribution("egg", model_and_input[0])


@pytest.mark.parametrize("name", ATTRIBUTIONS.names())
def test_bf16_precision_gives_a_float32_map_close_to_fp32(name: str, model_and_input) -> None:
    """bfloat16 autocast (explain --precision bf16): same shape and dtype, really computed in
    bf16 (not bit-identical), and the same map up to bf16 rounding (correlation > 0.98)."""
    model, x = model_and_input
    options = {**CHEAP.get(name, {}), **({"seed": 0} if name in RANDOM else {})}
    full = attribution_map(model, x, name, **options)
    half = attribution_map(model, x, name, precision="bf16", **options)
    assert half.shape == x.shape and half.dtype == x.dtype and not model.training
    assert not torch.equal(half, full)
    corr = torch.corrcoef(torch.stack([half.flatten(), full.flatten()]))[0, 1]
    assert corr > 0.98, f"{name}: correlation {corr:.4f} with the float32 map"


def test_unknown_precision_refused(model_and_input) -> None:
    model, x = model_and_input
    with pytest.raises(ValueError, match="fp32, bf16"):
        attribution_map(model, x, "g", precision="fp16")
