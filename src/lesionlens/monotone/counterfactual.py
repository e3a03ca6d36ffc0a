"""Counterfactual explanations on the interpretable features (thesis ch. 6 §IV.2, Eqs 6.15–6.16).

With f = C(x), find α ≥ 0 shaped like f such that M(f − α) < m (margin m ≤ 0) by Adam on
min_α M(f − α) + λ‖α‖₁ (Wachter et al. 2017), projecting α onto α ≥ 0 after every step. As in
the thesis' code (``nn.L1Loss(reduction="mean")``), ‖α‖₁ is the *mean* |α| over each sample's
elements, so λ compares with the per-element gradient of M times the number of elements and the
same λ serves any input size (with a sum, λ = 1e-4 outweighs every ∂M/∂f of a mean-pooled
PatchGAN on a 2-D slice and α stays 0).
For a monotone M a non-negative α always exists, and each of its K channels is an anomaly map
(positive = evidence for pathology). Thesis values: Adam lr 1e-5, m = −15, λ = 1e-4.

``nonnegative=False`` runs the same search without the projection (penalty mean |α|), as the
thesis applies it to its non-monotone ablations Baseline and BaselineC (ch. 6 §V: their α are
mixed-sign, like adversarial perturbations); for a monotone M the gradient of M(f − α) with
respect to α is ≤ 0, so only the L1 term can make α negative.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import LesionLensInputError
from .support import head_logits, input_support


def _require_feature_head(model: nn.Module) -> None:
    if not (hasattr(model, "forward_features") and hasattr(model, "forward_head")):
        raise TypeError(
            "counterfactual needs a model with forward_features and forward_head, "
            f"got {type(model).__name__}"
        )


def counterfactual(
    model: nn.Module,
    x: Tensor,
    margin: float = -15.0,
    lam: float = 1e-4,
    steps: int = 1000,
    lr: float = 1e-5,
    seed: int = 0,
    nonnegative: bool = True,
) -> Tensor:
    """Non-negative feature decrease α (B, K, *spatial) that makes each image look healthy.

    Each sample stops changing once M(f − α) < ``margin``; the search ends when all have, or
    after ``steps`` Adam steps. α starts at 0; the model runs in eval mode (restored
    afterwards), so the result is deterministic (``seed`` seeds torch for any custom
    layer). Model parameters and their ``.grad`` are left untouched.

    Args:
        model: exposes ``forward_features`` (x → f) and ``forward_head`` (f → logits (B,));
            a model with ``input_support`` (brain-restricted pooling) keeps x's support.
        x: images (B, C, *spatial).
        margin: target logit m ≤ 0.
        lam: λ of the L1 penalty on the mean |α| of each sample.
        steps: iteration cap.
        lr: Adam learning rate.
        seed: random seed.
        nonnegative: project α onto α ≥ 0 after every step (default); False lets α take
            either sign (the thesis' search for non-monotone baselines).

    Returns:
        α (≥ 0 exactly when ``nonnegative``), detached, shaped like f.
    """
    _require_feature_head(model)
    if margin > 0:
        raise LesionLensInputError(f"margin must be ≤ 0, got {margin}")
    if steps < 0 or lr <= 0 or lam < 0:
        raise LesionLensInputError(
            f"need steps ≥ 0, lr > 0, lam ≥ 0; got steps={steps}, lr={lr}, lam={lam}"
        )
    torch.manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        return _search(model, x, margin, lam, steps, lr, bool(nonnegative))
    finally:
        model.train(was_training)


def _search(
    model: nn.Module, x: Tensor, margin: float, lam: float, steps: int, lr: float,
    nonnegative: bool,
) -> Tensor:
    with torch.no_grad():
        features = model.forward_features(x)
        support = input_support(model, x)
    alpha = torch.zeros_like(features, requires_grad=True)
    optimiser = torch.optim.Adam([alpha], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            logits = head_logits(model, features - alpha, support)
            done = logits.detach() < margin
            if bool(done.all()):
                break
            # mean |α|; on α ≥ 0 it is the plain mean, whose gradient λ/N stays defined at α = 0
            l1 = (alpha if nonnegative else alpha.abs()).flatten(1).mean(1)
            objective = logits.sum() + lam * l1.sum()
            (alpha.grad,) = torch.autograd.grad(objective, alpha)
            previous = alpha.detach().clone()
            optimiser.step()
            with torch.no_grad():
                if nonnegative:
                    alpha.clamp_(min=0)
                alpha[done] = previous[done]
    return alpha.detach()


def counterfactual_maps(
    model: nn.Module, x: Tensor, **counterfactual_kwargs: float | bool
) -> Tensor:
    """Anomaly maps (B, K, *spatial): the K channels of α (positive = evidence for pathology).

    Write sample b as a 4-D NIfTI with ``channels_last(maps)[b]`` (shape (*spatial, K)).
    """
    return counterfactual(model, x, **counterfactual_kwargs).float()


def channels_last(maps: Tensor) -> Tensor:
    """(B, K, *spatial) → (B, *spatial, K), the layout of a K-channel NIfTI map."""
    if maps.dim() < 3:
        raise LesionLensInputError(f"maps must be (B, K, *spatial), got shape {tuple(maps.shape)}")
    return maps.movedim(1, -1)
