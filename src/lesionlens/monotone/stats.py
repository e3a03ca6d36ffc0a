"""Per-layer forward/backward statistics for initialisation studies (thesis Figs 6.3–6.6)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .initialisation import linear_layers


@dataclass
class LayerStats:
    """One Linear/Conv layer: std of its output features (Fig. 6.3), std of the gradient of
    the summed network output w.r.t. those features (Fig. 6.6) and the mean Pearson correlation
    between its output channels (Fig. 6.4; NaN for a single channel)."""

    name: str
    forward_std: float
    backward_std: float
    channel_corr: float


def _mean_channel_correlation(features: Tensor) -> float:
    channels = features.detach().float().transpose(0, 1).reshape(features.shape[1], -1)
    if channels.shape[0] < 2:
        return float("nan")
    corr = torch.corrcoef(channels)
    off_diagonal = corr[~torch.eye(corr.shape[0], dtype=torch.bool, device=corr.device)]
    return float(off_diagonal.nanmean())


def record_stats(model: nn.Module, x: Tensor, channel_correlation: bool = True) -> list[LayerStats]:
    """Run ``model`` on ``x`` (B, C, *spatial) and collect :class:`LayerStats` per layer.

    The backward pass differentiates ``model(x).sum()`` w.r.t. the input, so parameter ``.grad``
    fields are left untouched. Layers are listed in execution order (first call only).
    """
    if not isinstance(x, Tensor) or x.dim() < 2:
        raise ValueError(f"x must be a (B, C, *spatial) tensor, got {type(x).__name__}")
    names = {layer: name for name, layer in linear_layers(model)}
    forward: dict[nn.Module, tuple[float, float]] = {}
    backward: dict[nn.Module, float] = {}

    def on_forward(layer: nn.Module, _inputs: tuple[Tensor, ...], out: Tensor) -> None:
        if layer in forward:
            return
        corr = _mean_channel_correlation(out) if channel_correlation else float("nan")
        forward[layer] = (float(out.detach().float().std(correction=0)), corr)
        if out.requires_grad:

            def on_backward(grad: Tensor) -> None:
                backward.setdefault(layer, float(grad.float().std(correction=0)))

            out.register_hook(on_backward)

    handles = [layer.register_forward_hook(on_forward) for layer in names]
    try:
        with torch.enable_grad():
            x = x.detach().clone().requires_grad_(True)
            torch.autograd.grad(model(x).sum(), x)
    finally:
        for handle in handles:
            handle.remove()
    return [
        LayerStats(names[layer], std, backward.get(layer, float("nan")), corr)
        for layer, (std, corr) in forward.items()
    ]
