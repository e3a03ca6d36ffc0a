"""Batch statistics of a training loss taken over the *global* batch when DDP splits it.

The attribution constraints (thesis eq. 5.7/5.8, 5.1, 5.3) and the monotone losses (eq. 6.12–6.14)
are means, or histograms, over the healthy (or pathological) images of the batch. Under DDP each
rank holds part of the batch and the ranks' gradients are averaged, so a rank that took its mean
over its own images would weigh a healthy image by 1 / (healthy images on that rank): not the
one-process loss when the ranks hold different numbers of healthy images.

Inside :func:`ranks_pool_counts` the helpers below sum their statistics over the ranks:
:func:`pooled_sum` has the global sum as its value and W·∂(local) as its gradient (W ranks), so
the rank average of any loss built from pooled sums is the gradient of that loss on the whole
batch; the logged values are the global ones, the same on every rank. Every call is then a
collective: every rank must make the same calls in the same order whether or not it holds
constrained images (the losses evaluate their terms on empty selections for that reason, and
branch on pooled values only). Outside the block (one process, validation, explain, tests) they
are the plain local statistics.

:func:`global_batch` gathers a tensor of the batch from every rank in the one-process order, so
that stochastic attributions (EG/IG/IEG: one reference and one α per image) draw their path for
the whole batch, from one random stream that every rank holds in the same state, and each rank
keeps its own images' draws: the same draws as one process with the same global batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch

# (tensor, "sum" | "min") -> the reduction over ranks (e.g. Lightning's ``strategy.reduce``)
ReduceOverRanks = Callable[[torch.Tensor, str], torch.Tensor]
# tensor (b, ...) -> (W, b, ...), every rank's tensor in rank order (``strategy.all_gather``)
GatherOverRanks = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class _Pool:
    reduce: ReduceOverRanks
    world: int
    gather: GatherOverRanks | None
    rank: int


_POOL: ContextVar[_Pool | None] = ContextVar("lesionlens_rank_pool", default=None)


@contextmanager
def ranks_pool_counts(
    reduce_over_ranks: ReduceOverRanks,
    world_size: int,
    gather_over_ranks: GatherOverRanks | None = None,
    rank: int = 0,
) -> Iterator[None]:
    """Within the block the pooled helpers reduce over ranks with ``reduce_over_ranks`` (may
    work in place on its argument) and :func:`global_batch` gathers with ``gather_over_ranks``
    (this process being ``rank``). A no-op for ``world_size`` 1."""
    pool = None
    if world_size > 1:
        pool = _Pool(reduce_over_ranks, int(world_size), gather_over_ranks, int(rank))
    token = _POOL.set(pool)
    try:
        yield
    finally:
        _POOL.reset(token)


def global_batch(local: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's batch (b, ...) → (the global batch (W·b, ...) in one process' order, the rows
    of this rank's items in it (b,)); no gradient. A collective inside :func:`ranks_pool_counts`
    (every rank must call it, with the same b); outside, ``(local, arange(b))``.

    The order is that of :class:`lesionlens.training.seeding.EpochShuffleSampler`, where rank r
    of W takes items r, r + W, r + 2W, … of the one-process draw: item k of rank r is row
    k·W + r of the global batch."""
    pool = _POOL.get()
    local = local.detach()
    rows = torch.arange(local.shape[0], device=local.device)
    if pool is None:
        return local, rows
    if pool.gather is None:
        raise RuntimeError(
            "global_batch under ranks_pool_counts needs gather_over_ranks (an all-gather)"
        )
    stacked = pool.gather(local)  # (W, b, ...)
    if stacked.shape != (pool.world, *local.shape):
        raise RuntimeError(
            f"all-gather returned {tuple(stacked.shape)}, expected "
            f"{(pool.world, *local.shape)}: every rank must hold the same batch size"
        )
    merged = stacked.transpose(0, 1).reshape(pool.world * local.shape[0], *local.shape[1:])
    return merged, rows * pool.world + pool.rank


def pooled_sum(local: torch.Tensor) -> torch.Tensor:
    """Σ over ranks of ``local`` (any shape) in value; gradient W·∂local (module docstring)."""
    pool = _POOL.get()
    if pool is None:
        return local
    total = pool.reduce(local.detach().clone(), "sum")
    scaled = local * pool.world
    return scaled + (total - scaled.detach())


def pooled_min(local: torch.Tensor) -> torch.Tensor:
    """Minimum over ranks of ``local`` (a constant: no gradient)."""
    pool = _POOL.get()
    local = local.detach()
    return local if pool is None else pool.reduce(local.clone(), "min")


def pooled_mean(
    numerator: torch.Tensor, count: torch.Tensor | float, min_count: float = 0.0
) -> torch.Tensor:
    """Σ numerator / Σ count over ranks (one collective); 0 when the pooled count is ≤ 0, and the
    pooled count floored at ``min_count`` when that is > 0. ``count`` is a constant of the loss.
    Computed in float32 at least (a voxel count in bfloat16 would be off by up to 0.4 %)."""
    dtype = torch.promote_types(numerator.dtype, torch.float32)
    count = torch.as_tensor(count, dtype=dtype, device=numerator.device).detach()
    pooled = pooled_sum(torch.stack([numerator.to(dtype), count]))
    numerator, count = pooled[0], pooled[1].detach()
    if min_count > 0:
        return numerator / count.clamp_min(min_count)
    return numerator / count if count > 0 else numerator.new_zeros(())


def pooling_ranks() -> bool:
    """Whether a pool over several ranks is active here (inside :func:`ranks_pool_counts`)."""
    return _POOL.get() is not None


def any_over_ranks(flag: torch.Tensor) -> bool:
    """Whether the boolean tensor ``flag`` (a scalar, on the batch's device, as the collective
    backend needs) holds on any rank: a collective inside the pool, ``bool(flag)`` outside.

    For branches that decide whether the model runs a pass with collectives in it (BatchNorm over
    the global batch, :mod:`lesionlens.models.global_batch_norm`): every rank must take them."""
    pool = _POOL.get()
    if pool is None:
        return bool(flag)
    return bool(pool.reduce(flag.detach().reshape(1).float(), "sum").item() > 0)


class _SumOverRanks(torch.autograd.Function):
    """All-reduce SUM whose gradient is the all-reduce SUM of the gradients, to any order (the
    backward calls this function again, so double backprop stays a collective on every rank)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, reduce: ReduceOverRanks) -> torch.Tensor:
        ctx.reduce = reduce
        return reduce(tensor.detach().clone(), "sum")

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return _SumOverRanks.apply(grad.contiguous(), ctx.reduce), None


def sum_over_ranks(local: torch.Tensor) -> torch.Tensor:
    """Σ over ranks of ``local`` with the gradient of that sum: each rank's ``local`` receives
    the sum over ranks of the gradients of their losses (what BatchNorm statistics of the global
    batch need, unlike :func:`pooled_sum`, whose gradient is W·∂local for losses that every rank
    evaluates to the same value). Differentiable to any order; the reduction is captured at the
    forward pass, so backward may run after the pool's block. Identity outside the pool."""
    pool = _POOL.get()
    if pool is None:
        return local
    return _SumOverRanks.apply(local, pool.reduce)
