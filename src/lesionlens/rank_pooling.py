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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch

# (tensor, "sum" | "min") -> the reduction over ranks (e.g. Lightning's ``strategy.reduce``)
ReduceOverRanks = Callable[[torch.Tensor, str], torch.Tensor]
_POOL: ContextVar[tuple[ReduceOverRanks, int] | None] = ContextVar(
    "lesionlens_rank_pool", default=None
)


@contextmanager
def ranks_pool_counts(reduce_over_ranks: ReduceOverRanks, world_size: int) -> Iterator[None]:
    """Within the block the pooled helpers reduce over ranks with ``reduce_over_ranks`` (may
    work in place on its argument). A no-op for ``world_size`` 1."""
    token = _POOL.set((reduce_over_ranks, int(world_size)) if world_size > 1 else None)
    try:
        yield
    finally:
        _POOL.reset(token)


def pooled_sum(local: torch.Tensor) -> torch.Tensor:
    """Σ over ranks of ``local`` (any shape) in value; gradient W·∂local (module docstring)."""
    pool = _POOL.get()
    if pool is None:
        return local
    reduce, world = pool
    total = reduce(local.detach().clone(), "sum")
    scaled = local * world
    return scaled + (total - scaled.detach())


def pooled_min(local: torch.Tensor) -> torch.Tensor:
    """Minimum over ranks of ``local`` (a constant: no gradient)."""
    pool = _POOL.get()
    local = local.detach()
    return local if pool is None else pool[0](local.clone(), "min")


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
