"""Torch datasets over a cohort: whole 3-D volumes (:class:`VolumeDataset`) and the shared base.

Every item is a dict that the default ``torch.utils.data.default_collate`` batches:

==============  ==============================  =============================================
key             value                           meaning
==============  ==============================  =============================================
``image``       float32 ``(C, *spatial)``       channels of the manifest's ``image`` column
``label``       float32 scalar                  0 healthy, 1 pathological
``mask``        float32 ``(1, *spatial)``       lesion mask; zeros when the subject has none
``has_mask``    bool                            whether ``mask`` comes from a file
``brain``       bool ``(1, *spatial)``          voxels that differ from the background
``subject_id``  str                             manifest ``subject_id``
``index``       int                             position of the item in the dataset
==============  ==============================  =============================================

``shape`` centre-crops / pads every volume to a fixed size (pad value = the channel's background,
see :mod:`lesionlens.data.loading`); :func:`~lesionlens.data.geometry.undo_crop_or_pad` maps
outputs back. With ``cache=True`` each subject's files are read once and kept in memory.

A ``transform`` (e.g. :func:`~lesionlens.data.augmentation.make_augmentation`) receives
``{"image", "mask", "brain"}`` channel-first tensors and is re-seeded with ``seed``. Indexing with a
:class:`SeededIndex` ``(index, seed)`` re-seeds it for that item alone, so an item's augmentation
depends on the key only, not on the items drawn before it in the same process: the training
sampler gives each position of an epoch's draw its own seed, and DDP ranks or data-loader workers
then augment every item as one process does. With plain integer keys and ``num_workers > 0`` pass
``worker_init_fn=monai.data.worker_init_fn`` so that workers draw different augmentations; call
:meth:`preload` first so that forked workers share the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from monai.data import get_track_meta, set_track_meta
from torch.utils.data import Dataset

from .. import io
from ..cohort import Cohort, Subject
from .loading import SubjectArrays, crop_or_pad_subject, load_subject, select_subjects
from .reseed import reseed_in_place

Transform = Callable[[dict[str, Any]], dict[str, Any]]


class SeededIndex(NamedTuple):
    """Dataset key: item ``index`` whose random transform is re-seeded with ``seed`` first."""

    index: int
    seed: int


def _check_shape(shape: Sequence[int] | None, spatial_dims: int) -> tuple[int, ...] | None:
    if shape is None:
        return None
    shape = tuple(shape)
    if len(shape) != spatial_dims or not all(
        isinstance(n, int | np.integer) and n > 0 for n in shape
    ):
        raise ValueError(
            f"shape must be {spatial_dims} positive integers or None, got {shape!r}"
        )
    return tuple(int(n) for n in shape)


@contextmanager
def _untracked_meta() -> Iterator[None]:
    """MONAI transforms on plain tensors: without ``MetaTensor`` bookkeeping (metadata and the
    applied-operations stack, which items drop anyway) the default 2-D augmentation of a 4 mm
    slice takes 1.5 ms instead of 3.2 (docs/benchmarks.md, session 16); same values."""
    previous = get_track_meta()
    set_track_meta(False)
    try:
        yield
    finally:
        set_track_meta(previous)


def _plain(x: Any) -> torch.Tensor:
    """MONAI returns ``MetaTensor``; items hold plain tensors."""
    return x.as_tensor() if hasattr(x, "as_tensor") else torch.as_tensor(x)


class SubjectDataset(Dataset):
    """Base of the cohort datasets: subject selection, fixed shape, cache, transform."""

    spatial_dims: int = 3

    def __init__(
        self,
        cohort_or_subjects: Cohort | str | Path | Sequence[Subject],
        split: str | None = None,
        shape: Sequence[int] | None = None,
        cache: bool = True,
        transform: Transform | None = None,
        seed: int | None = 0,
    ) -> None:
        self.subjects = select_subjects(cohort_or_subjects, split)
        self.split = split
        self.shape = _check_shape(shape, self.spatial_dims)
        self.cache = cache
        self.transform = transform
        self.seed = seed
        self._cache: dict[int, SubjectArrays] = {}
        if transform is not None and seed is not None and hasattr(transform, "set_random_state"):
            transform.set_random_state(seed=seed)

    def _resolve(self, key: int | SeededIndex) -> int:
        """Item index of ``key`` (negative allowed); a :class:`SeededIndex` re-seeds the
        transform for this item."""
        if isinstance(key, SeededIndex):
            if self.transform is not None:
                reseed_in_place(self.transform, key.seed)
            key = key.index
        return range(len(self))[key]

    def _grid_shape(self) -> tuple[int | None, ...] | None:
        """Target shape on the 3-D grid (``None`` keeps an axis)."""
        return self.shape

    def subject_arrays(self, subject_index: int) -> SubjectArrays:
        """Arrays of subject ``subject_index`` after crop/pad (read once when caching)."""
        arrays = self._cache.get(subject_index)
        if arrays is None:
            arrays = crop_or_pad_subject(
                load_subject(self.subjects[subject_index]), self._grid_shape()
            )
            if self.cache:
                self._cache[subject_index] = arrays
        return arrays

    def preload(self) -> None:
        """Read every subject into the cache now (no-op when ``cache=False``)."""
        if self.cache:
            for i in range(len(self.subjects)):
                self.subject_arrays(i)

    def original_shape(self, subject_index: int) -> tuple[int, int, int]:
        """Spatial shape of the subject's own grid, for ``undo_crop_or_pad``."""
        if subject_index in self._cache:
            return self._cache[subject_index].original_shape
        return tuple(io.load_nifti(self.subjects[subject_index].images[0]).shape[:3])

    def _item(
        self,
        image: np.ndarray,
        mask: np.ndarray | None,
        brain: np.ndarray,
        label: int,
        subject: Subject,
        index: int,
    ) -> dict[str, Any]:
        mask_t = (
            torch.zeros((1, *image.shape[1:])) if mask is None else torch.tensor(mask[None])
        )
        sample = {
            "image": torch.tensor(image, dtype=torch.float32),
            "mask": mask_t,
            "brain": torch.tensor(brain[None], dtype=torch.float32),
        }
        if self.transform is not None:
            with _untracked_meta():
                sample = self.transform(sample)
        return {
            "image": _plain(sample["image"]).float(),
            "label": torch.tensor(float(label)),
            "mask": _plain(sample["mask"]).float(),
            "has_mask": mask is not None,
            "brain": _plain(sample["brain"]) > 0.5,
            "subject_id": subject.subject_id,
            "index": index,
        }


class VolumeDataset(SubjectDataset):
    """Whole 3-D volumes of a cohort split; items ``image (C, X, Y, Z)`` (see module docstring).

    Args:
        cohort_or_subjects: manifest CSV, cohort folder, :class:`Cohort` or list of subjects.
        split: ``train``, ``val``, ``test`` or ``None`` for every subject.
        shape: fixed ``(X, Y, Z)`` after centre crop / pad, or ``None`` to keep each grid.
        cache: keep every subject in memory after its first read.
        transform: callable on ``{"image", "mask", "brain"}`` (e.g. ``make_augmentation(3)``).
        seed: re-seeds ``transform`` (``set_random_state``); ``None`` leaves it as it is.

    Raises:
        ValueError: unknown split, empty selection or a bad ``shape``.
    """

    spatial_dims = 3

    def __len__(self) -> int:
        return len(self.subjects)

    def __getitem__(self, key: int | SeededIndex) -> dict[str, Any]:
        index = self._resolve(key)
        arrays = self.subject_arrays(index)
        subject = self.subjects[index]
        return self._item(arrays.image, arrays.mask, arrays.brain, subject.label, subject, index)

    @property
    def item_labels(self) -> np.ndarray:
        """Label of every item, ``(N,)`` int64, without reading any image."""
        return np.array([s.label for s in self.subjects], dtype=np.int64)

    @property
    def item_subjects(self) -> np.ndarray:
        """Subject index of every item, ``(N,)`` int64 (one volume per subject)."""
        return np.arange(len(self.subjects), dtype=np.int64)


def _per_item(dataset: Dataset, attribute: str) -> np.ndarray:
    """``dataset.<attribute>`` as ``(N,)`` int64, for a VolumeDataset or SliceDataset only."""
    if not hasattr(dataset, attribute):
        raise TypeError(
            f"expected a VolumeDataset or SliceDataset, got {type(dataset).__name__}"
        )
    return np.asarray(getattr(dataset, attribute), dtype=np.int64)


def labels(dataset: Dataset) -> np.ndarray:
    """Item labels of a :class:`VolumeDataset` or :class:`SliceDataset`, ``(N,)`` int64."""
    return _per_item(dataset, "item_labels")


def subjects_of_items(dataset: Dataset) -> np.ndarray:
    """Subject index of every item of a VolumeDataset or SliceDataset, ``(N,)`` int64."""
    return _per_item(dataset, "item_subjects")


def class_weights(dataset: Dataset) -> torch.Tensor:
    """Balanced class weights ``n / (2 n_c)`` for classes (healthy, pathological), shape ``(2,)``.

    Same rule as scikit-learn's ``compute_class_weight("balanced")``.

    Raises:
        ValueError: one class has no item.
    """
    y = labels(dataset)
    counts = np.bincount(y, minlength=2)
    if (counts == 0).any():
        missing = "healthy (0)" if counts[0] == 0 else "pathological (1)"
        raise ValueError(f"the dataset has no {missing} item; class weights need both classes")
    return torch.tensor(len(y) / (2.0 * counts), dtype=torch.float32)


def load_split_arrays(
    cohort: Cohort | str | Path, split: str | None, shape: Sequence[int] | None = None
) -> dict[str, Any]:
    """Stack a split into numpy arrays (no cache, no augmentation), for baselines and evaluation.

    Returns:
        ``image (N, C, X, Y, Z)``, ``mask (N, 1, X, Y, Z)``, ``brain (N, 1, X, Y, Z)``,
        ``label (N,)``, ``has_mask (N,)`` and ``subject_id`` (list).

    Raises:
        ValueError: the subjects' grids differ and no ``shape`` is given.
    """
    dataset = VolumeDataset(cohort, split=split, shape=shape, cache=False)
    items = [dataset[i] for i in range(len(dataset))]
    shapes = {tuple(item["image"].shape[1:]) for item in items}
    if len(shapes) > 1:
        raise ValueError(
            f"split {split!r} holds several grids {sorted(shapes)}; pass shape=(X, Y, Z)"
        )
    out: dict[str, Any] = {
        key: np.stack([item[key].numpy() for item in items])
        for key in ("image", "mask", "brain")
    }
    out["label"] = dataset.item_labels
    out["has_mask"] = np.array([item["has_mask"] for item in items])
    out["subject_id"] = [item["subject_id"] for item in items]
    return out
