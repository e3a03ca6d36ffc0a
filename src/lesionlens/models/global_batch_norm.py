"""BatchNorm over the global batch under DDP, differentiable to second order, on CPU and GPU.

Under DDP each rank holds part of the minibatch. A BatchNorm layer in train mode then normalises
each rank's images with that rank's statistics, so DDP does not train the model one process
trains on the same global batch. PyTorch's ``SyncBatchNorm`` fixes that on GPUs only, and its
backward is a fused kernel without a derivative: the thesis' attribution constraint (eq. 5.6),
which differentiates the classifier's input gradient again (double backprop through BatchNorm's
batch statistics, thesis code), cannot run through it. :class:`GlobalBatchNorm` computes the
global per-channel mean and biased variance from sums all-reduced by
:func:`lesionlens.rank_pooling.sum_over_ranks`, whose gradient is again an all-reduce: any order
of derivative of the layer is that of one process on the global batch, on every backend.

Outside a pool over ranks (one process, validation, explain) the layer is ``nn.BatchNorm``
itself. Every forward pass in train mode inside the pool is a collective (two all-reduces), as is
its backward: every rank must run the same passes (the constraints decide their passes on
the global batch, ``rank_pooling.any_over_ranks``). Shapes: (B, C, *spatial) with 0–3 spatial
dims; statistics (C,).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..rank_pooling import pooling_ranks, sum_over_ranks


def normalises_with_batch_statistics(module: _BatchNorm) -> bool:
    """Whether a forward pass of the BatchNorm layer ``module`` now uses its batch's statistics
    (train mode, or no running statistics), as ``nn.BatchNorm`` decides."""
    return module.training or module.running_mean is None


class GlobalBatchNorm(_BatchNorm):
    """``nn.BatchNorm{1,2,3}d`` with the statistics of the global batch under DDP (module doc)."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected a (B, C, ...) input, got {x.dim()}-D")

    def global_mean_var(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Per-channel mean and biased variance of the global batch (differentiable) and its
        count of values per channel, computed in float32 at least: two all-reduces (sums and
        count, then the centred squares)."""
        dtype = torch.promote_types(x.dtype, torch.float32)
        x = x.to(dtype)
        dims = [0, *range(2, x.ndim)]
        count = x.new_tensor([float(x.numel() // x.shape[1])])
        sums = sum_over_ranks(torch.cat([x.sum(dims), count]))
        total = sums[-1].detach()
        mean = sums[:-1] / total
        centred = x - mean.view(_channel_view(x))
        var = sum_over_ranks((centred * centred).sum(dims)) / total
        return mean, var, float(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (pooling_ranks() and normalises_with_batch_statistics(self)):
            return super().forward(x)
        self._check_input_dim(x)
        mean, var, count = self.global_mean_var(x)
        if self.training and self.track_running_stats:
            self._update_running_statistics(mean.detach(), var.detach(), count)
        view = _channel_view(x)
        y = (x.to(mean.dtype) - mean.view(view)) * torch.rsqrt(var + self.eps).view(view)
        if self.affine:
            y = y * self.weight.view(view) + self.bias.view(view)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running_statistics(
        self, mean: torch.Tensor, var: torch.Tensor, count: float
    ) -> None:
        """As ``F.batch_norm`` in train mode: momentum (or cumulative) average, unbiased var."""
        self.num_batches_tracked.add_(1)
        momentum = (
            1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        )
        unbiased = var * (count / max(count - 1.0, 1.0))
        self.running_mean.mul_(1 - momentum).add_(mean.to(self.running_mean.dtype), alpha=momentum)
        self.running_var.mul_(1 - momentum).add_(
            unbiased.to(self.running_var.dtype), alpha=momentum
        )


def _channel_view(x: torch.Tensor) -> tuple[int, ...]:
    return (1, -1) + (1,) * (x.ndim - 2)


def convert_to_global_batch_norm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm layer under ``module`` (in place; returned) by a
    :class:`GlobalBatchNorm` holding the same parameters and buffers (same state-dict keys, so
    checkpoints load either way). ``module`` itself is returned converted if it is one."""
    if isinstance(module, _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        converted = GlobalBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats,
        )
        if module.affine:
            converted.weight, converted.bias = module.weight, module.bias
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            setattr(converted, name, getattr(module, name))
        converted.train(module.training)
        return converted
    for name, child in module.named_children():
        replaced = convert_to_global_batch_norm(child)
        if replaced is not child:
            setattr(module, name, replaced)
    return module
