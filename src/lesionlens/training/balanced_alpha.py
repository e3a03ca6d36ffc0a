"""``--alpha auto``: the constraint weight that balances the two losses' gradients at the start.

α_A = factor · median over the first ``n_batches`` training batches of ‖∇θ BCE‖ / ‖∇θ L_A‖,
at the initial weights (θ = the trainable parameters; eq. 5.6 L = BCE + α_A L_A). lesionlens'
addition, not the thesis: its α_A (Fig. 5.2: G 1e8, EG 1e10, IG 1e6, IEG 1e7) were tuned on
BraTS at 2 mm and are 10⁶–10⁸ times this balance on our phantoms, where ross and erion then do not
train at all (docs/benchmarks.md, session 11). Batches are (B, C, *spatial) dicts as in
:mod:`lesionlens.training.methods`; the global batch size is used whatever the number of devices,
so every DDP rank resolves the same α (rank 0's is broadcast at fit start to make it exact).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

N_BATCHES = 4  # calibration batches; the median ratio is robust to one odd batch


@dataclass(frozen=True)
class BalancedAlpha:
    """The resolved weight and the per-batch gradient-norm ratios it came from."""

    alpha: float
    ratios: tuple[float, ...]


def _grad_norm(loss: torch.Tensor, params: list[torch.Tensor], retain: bool) -> float:
    if not loss.requires_grad:  # e.g. L_A of a batch without a constrained image: constant 0
        return 0.0
    grads = torch.autograd.grad(loss, params, retain_graph=retain, allow_unused=True)
    squares = [g.detach().double().pow(2).sum() for g in grads if g is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


def balanced_alpha(
    model: nn.Module,
    method: Any,
    batches: Iterable[dict[str, Any]],
    factor: float = 1.0,
) -> BalancedAlpha:
    """α_A = ``factor`` · median_b ‖∇θ BCE_b‖ / ‖∇θ L_A,b‖ on ``batches`` (a constrained
    :class:`~lesionlens.training.methods.Method` gives the two terms with ``loss_terms``).

    The model is left exactly as it was: no ``.grad`` is written, and buffers that the forward
    passes update (BatchNorm running statistics) are restored. Batches whose constraint has no
    gradient (no healthy image drawn) are skipped; if all are, ``ValueError``.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    ratios: list[float] = []
    try:
        for batch in batches:
            bce, constraint = method.loss_terms(model, batch)
            g_bce = _grad_norm(bce, params, retain=True)
            g_con = _grad_norm(constraint, params, retain=False)
            if g_con > 0 and g_bce > 0:
                ratios.append(g_bce / g_con)
    finally:
        with torch.no_grad():
            for name, value in model.named_buffers():
                value.copy_(buffers[name])
    if not ratios:
        raise ValueError(
            "--alpha auto: the constraint has no gradient on the first training batches (no "
            "healthy image in them, or a constant map); pass a number to --alpha"
        )
    return BalancedAlpha(factor * statistics.median(ratios), tuple(ratios))


def calibration_batches(train_ds, cfg, n_batches: int = N_BATCHES) -> list[dict[str, Any]]:
    """The first ``n_batches`` global batches of epoch 0's draw order (class-balanced as in
    training, augmentation included), independent of the number of devices."""
    from torch.utils.data import DataLoader

    from .seeding import training_sampler

    loader = DataLoader(
        train_ds, batch_size=cfg.batch_size, sampler=training_sampler(train_ds, cfg), num_workers=0
    )
    return list(itertools.islice(loader, n_batches))
