"""Values against Captum on the same model and inputs (2-D and 3-D PatchGAN)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import (
    InputXGradient as CaptumInputXGradient,
)
from captum.attr import (
    IntegratedGradients as CaptumIntegratedGradients,
)
from captum.attr import (
    LayerAttribution,
    LayerGradCam,
    Saliency,
)
from captum.attr import (
    Occlusion as CaptumOcclusion,
)
from captum.attr._core.gradient_shap import InputBaselineXGradient

from lesionlens.attributions import (
    ExpectedGradients,
    GradCAM,
    Gradient,
    InputXGradient,
    IntegratedGradients,
    Occlusion,
)

TOL = {"rtol": 1e-4, "atol": 1e-9}


def test_gradient_is_signed_saliency(model_and_input) -> None:
    model, x = model_and_input
    expected = Saliency(model).attribute(x, abs=False)
    torch.testing.assert_close(Gradient(model).attribute(x, internal_batch_size=2), expected, **TOL)


def test_input_x_gradient(model_and_input) -> None:
    model, x = model_and_input
    expected = CaptumInputXGradient(model).attribute(x)
    torch.testing.assert_close(InputXGradient(model).attribute(x), expected, **TOL)


@pytest.mark.parametrize(
    ("method", "multiply"),
    [("gausslegendre", False), ("riemann_trapezoid", True), ("riemann_middle", False)],
)
def test_integrated_gradients(model_and_input, method: str, multiply: bool) -> None:
    model, x = model_and_input
    baseline = 0.1 * torch.randn_like(x)
    expected = CaptumIntegratedGradients(model, multiply_by_inputs=multiply).attribute(
        x, baselines=baseline, n_steps=8, method=method
    )
    ours = IntegratedGradients(model, multiply_by_inputs=multiply).attribute(
        x, baseline=baseline, n_steps=8, method=method, internal_batch_size=5
    )
    torch.testing.assert_close(ours, expected, **TOL)


def test_integrated_gradients_completeness(model_and_input) -> None:
    """Sundararajan's completeness: Σ IG = F(x) − F(0) up to the quadrature error."""
    model, x = model_and_input
    maps = IntegratedGradients(model, multiply_by_inputs=True).attribute(x, n_steps=64)
    delta = model(x) - model(torch.zeros_like(x))
    torch.testing.assert_close(maps.flatten(1).sum(1), delta, rtol=2e-2, atol=1e-5)


@pytest.mark.parametrize("multiply", [True, False])
def test_expected_gradients_path_matches_captum(model_and_input, multiply: bool) -> None:
    """One (reference, α) per image equals captum's InputBaselineXGradient with the same α."""
    model, x = model_and_input
    references = torch.randn_like(x)
    np.random.seed(3)  # noqa: NPY002 - captum draws α from the legacy global stream
    expected = InputBaselineXGradient(model, multiply_by_inputs=multiply).attribute(
        x, baselines=references
    )
    np.random.seed(3)  # noqa: NPY002 - captum draws α from the legacy global stream
    alphas = torch.tensor(np.random.uniform(0.0, 1.0, x.shape[0]), dtype=x.dtype)  # noqa: NPY002
    ours = ExpectedGradients(model, multiply_by_inputs=multiply).attribute_at(x, references, alphas)
    torch.testing.assert_close(ours, expected, **TOL)


def test_expected_gradients_converge_to_integrated_gradients(model_and_input) -> None:
    """With a single reference, E_α[∇F] over many α is the local IG from that baseline."""
    model, x = model_and_input
    reference = torch.randn(1, *x.shape[1:])
    ig = IntegratedGradients(model).attribute(x[:1], baseline=reference, n_steps=32)
    eg = ExpectedGradients(model).attribute(x[:1], references=reference, n_samples=512, seed=0)
    error = (eg - ig).norm() / ig.norm()
    assert error < 0.1


@pytest.mark.parametrize("relu", [False, True])
def test_gradcam_matches_layer_gradcam(model_and_input, relu: bool) -> None:
    model, x = model_and_input
    layer_map = LayerGradCam(model, model.cam_layer).attribute(x, relu_attributions=relu)
    expected = LayerAttribution.interpolate(layer_map, tuple(x.shape[2:]))
    with GradCAM(model, relu=relu) as cam:
        ours = cam.attribute(x)
        coarse = cam.attribute(x, upsample=False)
    torch.testing.assert_close(coarse, layer_map, **TOL)
    torch.testing.assert_close(ours, expected.expand_as(x), **TOL)
    assert bool((ours >= 0).all()) if relu else bool((ours < 0).any())


def test_occlusion_matches_captum(model_and_input) -> None:
    model, x = model_and_input
    spatial = x.ndim - 2
    patch, stride = (4, 2) if spatial == 2 else (8, 4)  # overlapping windows
    expected = CaptumOcclusion(model).attribute(
        x,
        sliding_window_shapes=(x.shape[1],) + (patch,) * spatial,
        strides=(x.shape[1],) + (stride,) * spatial,
        baselines=0.0,
    )
    ours = Occlusion(model).attribute(x, patch=patch, stride=stride, internal_batch_size=7)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-7)
