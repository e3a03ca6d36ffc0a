"""Weight initialisations for (monotone) networks, one registry ``INITS`` (thesis ch. 6 §I.3).

``propagation_init`` is the thesis' variance-preserving scheme (Algorithms 1 and 2): one forward
pass of an N(0, 1) batch in which every Linear/Conv layer, in execution order, divides its
weights by the standard deviation σ of its output (through φ⁻¹ for W = φ(W̃)) and passes the
recomputed output on; with zero biases that output is exactly y/σ (up to rounding), so the
second convolution is skipped. Residual additions, max-pooling and positive weights upstream are
thus compensated without any independence assumption. ``kaiming_init``, ``xavier_init`` and
``lsuv_init`` (Mishkin & Matas 2016) are the baselines.

Every initialiser has the signature ``init(model, input_shape, *, batch_size, seed) -> model``
(``input_shape`` is one sample's (C, *spatial); Kaiming/Xavier ignore it), modifies ``model`` in
place, and zeroes the biases (the thesis' Algorithm 1 computes y = Wx; zero biases keep it exact).
Positive-parametrised weights receive the magnitude of the draw (φ(W̃) = |draw|).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ..registry import Registry
from .layers import LINEAR_LAYERS, NORM_LAYERS
from .positive import is_positive_parametrized, set_weight

Initialiser = Callable[..., nn.Module]
INITS: Registry[Initialiser] = Registry("initialisation")


def linear_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every Linear/Conv layer of ``model`` with its qualified name, in registration order."""
    return [(n or "<root>", m) for n, m in model.named_modules() if isinstance(m, LINEAR_LAYERS)]


def _check_shape(input_shape: Sequence[int], batch_size: int) -> tuple[int, ...]:
    shape = tuple(int(s) for s in input_shape)
    if not shape or min(shape) < 1:
        raise ValueError(
            f"input_shape must be one sample's (C, *spatial), got {tuple(input_shape)}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    return shape


def _zero_biases(model: nn.Module) -> None:
    with torch.no_grad():
        for _, layer in linear_layers(model):
            if getattr(layer, "bias", None) is not None:
                layer.bias.zero_()


def _draw(model: nn.Module, fill: Callable[[Tensor, torch.Generator], None], seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for _, layer in linear_layers(model):
        weight = torch.empty(layer.weight.shape)
        fill(weight, generator)
        if is_positive_parametrized(layer):
            weight = weight.abs()
        set_weight(layer, weight.to(layer.weight.device, layer.weight.dtype))
    _zero_biases(model)


def _normal_batch(model: nn.Module, shape: tuple[int, ...], batch_size: int, seed: int) -> Tensor:
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((batch_size, *shape), generator=generator).to(device)


@contextmanager
def _without_norms(model: nn.Module) -> Iterator[None]:
    """Swap normalisation layers for Identity, restore them afterwards (Algorithm step 5)."""
    swaps = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if isinstance(child, NORM_LAYERS)
    ]
    for parent, name, _ in swaps:
        setattr(parent, name, nn.Identity())
    try:
        yield
    finally:
        for parent, name, child in swaps:
            setattr(parent, name, child)


@contextmanager
def _eval(model: nn.Module) -> Iterator[None]:
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.training = training


@INITS.register("kaiming")
def kaiming_init(
    model: nn.Module, input_shape: Sequence[int] = (), *, batch_size: int = 8, seed: int = 0
) -> nn.Module:
    """He et al. 2015: W ~ N(0, 2/fan_in), biases zero."""
    _draw(
        model,
        lambda w, g: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
        seed,
    )
    return model


@INITS.register("xavier")
def xavier_init(
    model: nn.Module, input_shape: Sequence[int] = (), *, batch_size: int = 8, seed: int = 0
) -> nn.Module:
    """Glorot & Bengio 2010: W ~ N(0, 2/(fan_in + fan_out)), biases zero."""
    _draw(model, lambda w, g: nn.init.xavier_normal_(w, generator=g), seed)
    return model


@INITS.register("propagation")
def propagation_init(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    batch_size: int = 8,
    seed: int = 0,
    base: str | None = "kaiming",
) -> nn.Module:
    """Variance-preserving initialisation by one forward pass (thesis Algorithms 1 and 2).

    Args:
        model: any network; its normalisation layers are bypassed during the pass and restored.
        input_shape: one sample's (C, *spatial).
        batch_size: size of the N(0, 1) batch.
        seed: seeds both the base draw and the batch.
        base: initialiser applied first (``"kaiming"``, ``"xavier"``), or None to keep the
            current weights.

    Returns:
        ``model``, whose every Linear/Conv output has unit standard deviation (pooled over the
        whole output tensor) on that batch.
    """
    shape = _check_shape(input_shape, batch_size)
    if base is not None:
        if base == "propagation":
            raise ValueError("base must be a random scheme such as 'kaiming', got 'propagation'")
        INITS.get(base)(model, shape, batch_size=batch_size, seed=seed)
    _zero_biases(model)
    done: set[nn.Module] = set()

    def rescale(layer: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> Tensor | None:
        if layer in done:  # a shared layer seen again keeps its first scaling
            return None
        done.add(layer)
        sigma = output.float().std(correction=0)
        if not torch.isfinite(sigma) or sigma <= 0:
            return None
        set_weight(layer, layer.weight / sigma)
        # Recomputing W'x with W' = W/σ (zero bias) equals y/σ up to rounding: skip the conv.
        return output / sigma.to(output.dtype)

    handles = [layer.register_forward_hook(rescale) for _, layer in linear_layers(model)]
    try:
        with torch.no_grad(), _eval(model), _without_norms(model):
            model(_normal_batch(model, shape, batch_size, seed))
    finally:
        for handle in handles:
            handle.remove()
    return model


@INITS.register("lsuv")
def lsuv_init(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    batch_size: int = 8,
    seed: int = 0,
    tol: float = 0.1,
    max_iter: int = 10,
) -> nn.Module:
    """Layer-sequential unit-variance init (Mishkin & Matas 2016; LSUV-pytorch's procedure).

    Orthonormal draw, then for each layer in turn: run the whole network, rescale the layer's
    weights by the std of its output, until |Var − 1| < ``tol`` or ``max_iter`` rescalings.
    Normalisation layers stay in place. Costs (#layers × (iterations + 1)) forward passes.
    """
    shape = _check_shape(input_shape, batch_size)
    _draw(model, lambda w, g: nn.init.orthogonal_(w, generator=g), seed)
    x = _normal_batch(model, shape, batch_size, seed)
    captured: dict[str, Tensor] = {}

    with torch.no_grad(), _eval(model):
        for _, layer in linear_layers(model):

            def capture(_m: nn.Module, _i: tuple[Tensor, ...], out: Tensor) -> None:
                captured["std"] = out.float().std(correction=0)

            handle = layer.register_forward_hook(capture)
            try:
                for _ in range(max_iter + 1):
                    model(x)
                    std = captured["std"]
                    if not torch.isfinite(std) or std <= 0 or abs(float(std) ** 2 - 1) < tol:
                        break
                    set_weight(layer, layer.weight / std)
            finally:
                handle.remove()
    return model
