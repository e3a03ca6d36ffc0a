"""DDP ranks simulated by threads of one process, for losses built on ``lesionlens.rank_pooling``.

Each rank runs its part of the batch in its own thread; every pooled reduction (and every
``global_batch`` gather) is a rendezvous (a barrier) where the ranks exchange their tensors, as
``all_reduce`` (``all_gather``) does. A rank that makes
a different sequence of reductions than the others breaks the barrier (a test failure, where real
DDP would hang). The gradients are averaged over ranks, as DDP averages them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import torch

from lesionlens.rank_pooling import ranks_pool_counts


class _Rendezvous:
    def __init__(self, world: int) -> None:
        self.world = world
        self.barrier = threading.Barrier(world, timeout=60)
        self.slots: list[tuple[torch.Tensor, str] | None] = [None] * world

    def reducer(self, rank: int) -> Callable[[torch.Tensor, str], torch.Tensor]:
        def reduce(tensor: torch.Tensor, op: str) -> torch.Tensor:
            self.slots[rank] = (tensor.detach().clone(), op)
            self.barrier.wait()
            ops = {slot[1] for slot in self.slots}
            stacked = torch.stack([slot[0] for slot in self.slots])
            self.barrier.wait()  # every rank has read before anyone writes again
            if ops != {op}:
                raise AssertionError(f"ranks reduce with different ops: {ops}")
            return stacked.sum(0) if op == "sum" else stacked.amin(0)

        return reduce

    def gatherer(self, rank: int) -> Callable[[torch.Tensor], torch.Tensor]:
        def gather(tensor: torch.Tensor) -> torch.Tensor:
            self.slots[rank] = (tensor.detach().clone(), "gather")
            self.barrier.wait()
            ops = {slot[1] for slot in self.slots}
            stacked = torch.stack([slot[0] for slot in self.slots])
            self.barrier.wait()
            if ops != {"gather"}:
                raise AssertionError(f"a rank gathers while another reduces: {ops}")
            return stacked

        return gather


def rank_average_gradients(
    loss_of: Callable[[torch.Tensor], torch.Tensor],
    ranks: Sequence[torch.Tensor],
    params: Sequence[torch.Tensor] | Callable[[int], Sequence[torch.Tensor]],
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(the ranks' mean gradient of ``loss_of(indices)`` w.r.t. ``params``, each rank's loss
    value); ``loss_of`` runs inside :func:`ranks_pool_counts` in the rank's thread. For
    ``global_batch`` the ranks' indices must follow the sampler's interleaving (rank r: r, r + W,
    …). ``params`` may be a function of the rank, for ranks holding their own copy of a model
    (as DDP processes do; needed for models with buffers, such as BatchNorm's statistics)."""
    rendezvous = _Rendezvous(len(ranks))
    grads: list[list[torch.Tensor] | None] = [None] * len(ranks)
    values: list[torch.Tensor | None] = [None] * len(ranks)
    errors: list[BaseException] = []

    def run(rank: int, idx: torch.Tensor) -> None:
        mine = list(params(rank) if callable(params) else params)
        try:
            with ranks_pool_counts(
                rendezvous.reducer(rank), len(ranks), rendezvous.gatherer(rank), rank
            ):
                loss = loss_of(idx)
            values[rank] = loss.detach()
            if loss.requires_grad:
                found = torch.autograd.grad(loss, mine, allow_unused=True)
            else:  # nothing of this rank's batch reaches the loss
                found = (None,) * len(mine)
            grads[rank] = [
                torch.zeros_like(p) if g is None else g for p, g in zip(mine, found, strict=True)
            ]
        except BaseException as error:  # noqa: BLE001 - re-raised in the main thread
            errors.append(error)
            rendezvous.barrier.abort()

    threads = [threading.Thread(target=run, args=(r, idx)) for r, idx in enumerate(ranks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    mean = [torch.stack(per_param).mean(0) for per_param in zip(*grads, strict=True)]
    return mean, values
