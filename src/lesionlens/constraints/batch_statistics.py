"""BatchNorm statistics shared between the classification pass and the constraint pass.

A constrained training step (thesis eq. 5.6) runs the classifier on the whole minibatch for the
BCE, then differentiates it again on the constrained images (the healthy ones) for L_A. In train
mode a BatchNorm layer normalises with the statistics of whatever batch it sees, so a second pass
on the healthy images alone would normalise them with healthy-only statistics and update the
running statistics twice per step. :func:`recorded_batch_statistics` records, during the
classification pass, the (biased) mean and variance each BatchNorm layer normalised with;
:func:`frozen_batch_statistics` makes the constraint pass normalise with exactly those, as
constants, without touching the running statistics. The maps of the constraint pass are then the
maps of the network that classified the batch, each image's map depends on that image alone
(no cross-image terms through the batch mean), as at explanation time, where BatchNorm uses its
running statistics. Shapes: BatchNorm inputs (B, C, *spatial); statistics (C,).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..models.global_batch_norm import GlobalBatchNorm, normalises_with_batch_statistics
from ..rank_pooling import pooling_ranks

BatchStatistics = dict[_BatchNorm, tuple[torch.Tensor, torch.Tensor]]


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def batch_mean_var(x: torch.Tensor, synced: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of ``x`` (B, C, *spatial), as BatchNorm normalises
    with them; ``synced``: over the union of every process' batch (``SyncBatchNorm``)."""
    dims = [0, *range(2, x.ndim)]
    if not synced:
        var, mean = torch.var_mean(x, dim=dims, correction=0)
        return mean, var
    count = x.new_tensor(float(x.numel() // x.shape[1]))
    sums = torch.cat([x.sum(dims), (x * x).sum(dims), count.view(1)])
    torch.distributed.all_reduce(sums)
    channels = x.shape[1]
    total = sums[-1]
    mean = sums[:channels] / total
    var = (sums[channels : 2 * channels] / total - mean * mean).clamp_min(0)
    return mean, var


def uses_batch_statistics(model: nn.Module) -> bool:
    """Whether a forward pass of ``model`` now would normalise with batch statistics."""
    return any(
        isinstance(m, _BatchNorm) and normalises_with_batch_statistics(m) for m in model.modules()
    )


@contextmanager
def recorded_batch_statistics(model: nn.Module) -> Iterator[BatchStatistics]:
    """Record the (mean, biased variance) of each BatchNorm layer that normalises with batch
    statistics during the forward passes run inside the block (the last pass wins)."""
    stats: BatchStatistics = {}

    def record(module: _BatchNorm, inputs: tuple[torch.Tensor, ...]) -> None:
        if not normalises_with_batch_statistics(module):
            return
        if isinstance(module, GlobalBatchNorm) and pooling_ranks():  # a collective, as its pass
            mean, var, _ = module.global_mean_var(inputs[0].detach())
            stats[module] = (mean.to(inputs[0].dtype), var.to(inputs[0].dtype))
            return
        synced = isinstance(module, nn.SyncBatchNorm) and _distributed()
        stats[module] = batch_mean_var(inputs[0].detach(), synced)

    handles = [
        m.register_forward_pre_hook(record) for m in model.modules() if isinstance(m, _BatchNorm)
    ]
    try:
        yield stats
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def frozen_batch_statistics(model: nn.Module, stats: BatchStatistics) -> Iterator[None]:
    """Inside the block, each BatchNorm layer in ``stats`` normalises with its recorded
    statistics (constants) and leaves its running statistics alone; restored on exit."""
    saved = []
    for module, (mean, var) in stats.items():
        saved.append((module, module.training, module.running_mean, module.running_var))
        module.training = False
        module.running_mean, module.running_var = mean, var
    try:
        yield
    finally:
        for module, training, running_mean, running_var in saved:
            module.training = training
            module.running_mean, module.running_var = running_mean, running_var
