"""Per-epoch seeding so that an interrupted run resumed from its last checkpoint ends with the same
weights as an uninterrupted one: the shuffling and the stochastic attribution references are
re-seeded from ``(seed, epoch)`` at the start of each epoch (the global python / numpy / torch
generators from ``(seed, epoch, rank)``), and each training item's augmentation from ``(seed,
epoch, position in the epoch's draw)`` (:func:`item_seeds`), so that DDP ranks and data-loader
workers augment every item as one process does."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import lightning as L
import numpy as np
import torch
from torch.utils.data import Sampler


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    return (seed * 1_000_003 + epoch * 7_919 + rank * 104_729) % (2**31 - 1)


def item_seeds(seed: int, epoch: int, n: int) -> list[int]:
    """Augmentation seed of each of the ``n`` positions of epoch ``epoch``'s draw (independent
    streams from numpy's ``SeedSequence((seed, epoch))``); rank-independent by construction."""
    states = np.random.SeedSequence((seed, epoch)).generate_state(n, dtype=np.uint32)
    return [int(s) for s in states]


class EpochShuffleSampler(Sampler[int]):
    """Random permutation of ``range(n)`` that depends only on ``(seed, epoch)``; with
    ``labels``, ``n`` class-balanced draws with replacement instead (each class equally likely);
    with ``groups`` too (the subject of each item), every subject holding items of a class is
    equally likely within that class, and its items equally likely within it — a patient whose
    small lesion marks 2 slices is drawn as often as one whose large lesion marks 20.

    Under DDP (``torch.distributed`` initialised) rank ``r`` of ``w`` takes ``perm[r::w]`` (the
    permutation padded by wrapping to a multiple of ``w``), so the ranks' batches together are the
    single-process batch of the same global size. With ``seeded_items`` each draw is a
    :class:`~lesionlens.data.SeededIndex` carrying its position's :func:`item_seeds`, so the
    dataset augments it identically whichever rank or worker loads it. Lightning calls
    :meth:`set_epoch` each epoch; the trainer disables Lightning's own distributed sampler."""

    def __init__(
        self,
        n: int,
        seed: int,
        labels: Sequence[int] | None = None,
        groups: Sequence[int] | None = None,
        seeded_items: bool = False,
    ) -> None:
        self.n, self.seed, self.epoch = n, seed, 0
        self.seeded_items = seeded_items
        self.weights = None
        if groups is not None and labels is None:
            raise ValueError("groups (subject-balanced draws) need labels (class-balanced draws)")
        if labels is not None:  # class-balanced: draw each class equally often, with replacement
            lab = torch.as_tensor(list(labels), dtype=torch.long)
            # without groups every item is its own group: weight 1 / (items of its class)
            grp = torch.arange(len(lab)) if groups is None else torch.as_tensor(list(groups))
            self.weights = _balanced_weights(lab, grp)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @staticmethod
    def _rank_world() -> tuple[int, int]:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def __iter__(self) -> Iterator[int]:
        rank, world = self._rank_world()
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        if self.weights is None:
            perm = torch.randperm(self.n, generator=g).tolist()
        else:
            perm = torch.multinomial(self.weights, self.n, replacement=True, generator=g).tolist()
        total = -(-self.n // world) * world
        perm = (perm * (total // max(self.n, 1) + 1))[:total]
        if self.seeded_items:
            from ..data import SeededIndex

            seeds = item_seeds(self.seed, self.epoch, total)
            keys = [SeededIndex(i, s) for i, s in zip(perm, seeds, strict=True)]
            return iter(keys[rank::world])
        return iter(perm[rank::world])

    def __len__(self) -> int:
        return -(-self.n // self._rank_world()[1])


def training_sampler(train_ds, cfg) -> EpochShuffleSampler:
    """The training items' draw order for ``cfg`` (a :class:`TrainConfig`): class-balanced with
    ``cfg.balanced``, subject-balanced too with ``cfg.subject_balanced``; each draw carries its
    augmentation seed."""
    from ..data import labels, subjects_of_items

    return EpochShuffleSampler(
        len(train_ds),
        cfg.seed,
        labels=labels(train_ds) if cfg.balanced else None,
        groups=subjects_of_items(train_ds) if cfg.subject_balanced else None,
        seeded_items=True,
    )


def _balanced_weights(labels: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Weight of item i = 1 / (groups with items of class c_i × items of (c_i, group g_i)),
    so each class sums to 1 and, within it, each group to 1 / (its class' groups). (N,)."""
    if labels.shape != groups.shape:
        raise ValueError(f"labels {tuple(labels.shape)} and groups {tuple(groups.shape)} differ")
    pairs, inverse, per_pair = torch.unique(
        torch.stack([labels, groups.long()], 1), dim=0, return_inverse=True, return_counts=True
    )
    subjects_per_class = torch.bincount(pairs[:, 0], minlength=2).double()
    return 1.0 / (subjects_per_class[labels] * per_pair[inverse].double())


class EpochSeeding(L.Callback):
    """Re-seeds python, numpy, torch and the method's stream at every train epoch start (the
    augmentation is re-seeded per item by the sampler's keys, :func:`item_seeds`)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        s = epoch_seed(self.seed, trainer.current_epoch, trainer.global_rank)
        random.seed(s)
        np.random.seed(s)  # noqa: NPY002 - third-party code may draw from the legacy global state
        torch.manual_seed(s)
        method = getattr(pl_module, "method", None)
        if method is not None:
            # the same stream on every rank: EG/IG/IEG draw the global batch's paths from it
            # (``rank_pooling.global_batch``), as one process does
            method.reseed(epoch_seed(self.seed, trainer.current_epoch))
