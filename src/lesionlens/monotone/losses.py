"""Losses of the interpretable monotone classifier (thesis ch. 6 §IV.1, Eqs 6.11–6.14).

L = BCE + w_nF·L_nF + w_dF·L_dF + α_G·L_G, with
- L_nF(x₀) = ‖ReLU(C(x₀))‖₁ on healthy images (6.12): healthy features negative;
- L_dF = KL(P₀ ‖ P₁) between the distributions of the *negative* feature values of healthy and
  pathological images (6.13), each a differentiable 50-bin histogram with a triangular (Parzen)
  kernel sharing each value between its two nearest bins;
- L_G(x₀) = ‖∂F(x₀)/∂C(x₀)‖₁ on healthy images (6.14), by double backpropagation.
Norms are averaged over elements (the thesis' sums would scale with the volume size; [GAP]).
Histograms are pooled over channels and the batch, on the range [min negative value, 0] of
the batch (detached); ε = 1e-8 ([GAP] in the thesis). Under DDP the means, the range and the
histogram counts are those of the global batch (:mod:`lesionlens.rank_pooling`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import LesionLensInputError
from ..rank_pooling import pooled_mean, pooled_min, pooled_sum
from .support import head_logits, input_support

EPS = 1e-8


@dataclass(frozen=True)
class MonotoneLossWeights:
    """Weights of L_nF, L_dF and L_G (the thesis uses 1, 1 and a small α_G)."""

    nf: float = 1.0
    df: float = 1.0
    grad: float = 0.0
    bins: int = 50


def negativity_loss(features: Tensor) -> Tensor:
    """L_nF: mean of ReLU(f) over a batch of healthy features (B, K, *spatial); 0 when empty."""
    return pooled_mean(F.relu(features).sum(), features.numel())


def soft_histogram(values: Tensor, low: float, high: float, bins: int = 50) -> Tensor:
    """Differentiable histogram of 1-D ``values`` on [low, high] with a triangular kernel.

    Bin centres are ``linspace(low, high, bins)``; each value adds 1 − t to its lower
    neighbouring centre and t to the upper one (t = distance / bin spacing). Returns (bins,)
    probabilities (uniform when ``values`` is empty).
    """
    counts = soft_histogram_counts(values, low, high, bins)
    total = counts.sum()
    return counts / total if total > 0 else values.new_full((bins,), 1.0 / bins)


def soft_histogram_counts(values: Tensor, low: float, high: float, bins: int = 50) -> Tensor:
    """The (bins,) kernel counts of :func:`soft_histogram`, before normalisation (zeros when
    ``values`` is empty or the range is empty)."""
    if bins < 2:
        raise LesionLensInputError(f"bins must be ≥ 2, got {bins}")
    counts = values.new_zeros(bins)
    if values.numel() == 0 or high <= low:
        return counts
    position = (values.clamp(low, high) - low) / (high - low) * (bins - 1)
    lower = position.detach().floor().clamp(max=bins - 2).long()
    upper_weight = position - lower
    return counts.index_add(0, lower, 1.0 - upper_weight).index_add(0, lower + 1, upper_weight)


def distribution_loss(healthy: Tensor, pathological: Tensor, bins: int = 50) -> Tensor:
    """L_dF: KL(P₀ ‖ P₁) of the negative feature values of healthy vs pathological images."""
    neg_healthy = healthy[healthy < 0]
    neg_patho = pathological[pathological < 0]
    zero = (healthy.sum() + pathological.sum()) * 0.0
    sizes = pooled_sum(zero.new_tensor([neg_healthy.numel(), neg_patho.numel()]))
    if not bool((sizes > 0).all()):
        return zero
    local_min = [v.min() for v in (neg_healthy, neg_patho) if v.numel()]
    low = float(pooled_min(torch.stack(local_min).min() if local_min else zero.detach()))
    counts = pooled_sum(
        torch.stack([soft_histogram_counts(v, low, 0.0, bins) for v in (neg_healthy, neg_patho)])
    )
    if not bool((counts.detach().sum(1) > 0).all()):  # every value at 0 (low == 0)
        return zero
    p0, p1 = counts / counts.sum(1, keepdim=True)
    return torch.sum(p0 * (torch.log(p0 + EPS) - torch.log(p1 + EPS)))


def gradient_loss(model: nn.Module, features: Tensor, support: Tensor | None = None) -> Tensor:
    """L_G: mean |∂F/∂f| over healthy features f (B, K, *spatial), differentiable (create_graph);
    ``support``: the images' patch support (:func:`lesionlens.monotone.support.input_support`)."""
    if features.shape[0] == 0:
        return pooled_mean(features.sum(), 0)
    logits = head_logits(model, features, support)
    (grad,) = torch.autograd.grad(logits.sum(), features, create_graph=True)
    return pooled_mean(grad.abs().sum(), grad.numel())


def monotone_losses(
    model: nn.Module, x: Tensor, y: Tensor, weights: MonotoneLossWeights | None = None
) -> dict[str, Tensor]:
    """All loss terms on a batch x (B, C, *spatial), labels y (B,) in {0, 1}.

    ``model`` exposes ``forward_features`` and ``forward_head`` (e.g.
    :class:`~lesionlens.monotone.InterpretableMonotoneClassifier`). Terms with weight 0 are
    returned as detached zeros and not computed.

    Returns:
        ``{"loss", "bce", "nf", "df", "grad", "logits"}``; ``loss`` is the weighted sum.
    """
    weights = weights or MonotoneLossWeights()
    if y.shape != (x.shape[0],):
        raise LesionLensInputError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    healthy = y == 0
    features = model.forward_features(x)
    support = input_support(model, x)
    logits = head_logits(model, features, support)
    zero = logits.new_zeros(())
    terms = {"bce": F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))}
    terms["nf"] = negativity_loss(features[healthy]) if weights.nf else zero
    terms["df"] = (
        distribution_loss(features[healthy], features[~healthy], weights.bins)
        if weights.df
        else zero
    )
    terms["grad"] = (
        gradient_loss(model, features[healthy], None if support is None else support[healthy])
        if weights.grad
        else zero
    )
    loss = (
        terms["bce"]
        + weights.nf * terms["nf"]
        + weights.df * terms["df"]
        + weights.grad * terms["grad"]
    )
    return {"loss": loss, **terms, "logits": logits.detach()}
