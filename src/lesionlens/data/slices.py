"""2-D slices of a cohort (thesis ch. 5, BraTS 2-D setting after Silva-Rodríguez et al., 2021).

A slice of a pathological subject is labelled pathological when its lesion mask covers more than
``min_lesion_fraction`` (0.1 %) of the slice's voxels, counted on the subject's own grid; slices
of healthy subjects are always healthy. The thesis kept only the 10 central axial slices and
dropped slices whose lesion is present but too small to count (``drop_ambiguous=True``).

``context=k`` gives a 2.5-D input (a lesionlens option, not in the thesis): the k axial slices on
each side are stacked as extra channels, ``(C, X, Y, Z)`` → ``((2k + 1)·C, X, Y)`` ordered
slice-major (offsets −k … +k, the image channels within each), the centre slice at channels
``k·C … (k + 1)·C − 1``; beyond the volume the edge slice is repeated. The label, mask and brain
stay the centre slice's (the acquisition augmentation acts inside the centre slice's brain on
every stacked slice).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..cohort import Cohort, Subject
from .datasets import SeededIndex, SubjectDataset, Transform
from .loading import crop_or_pad_subject, load_subject

SLICE_CHOICES = ("central10", "brain")
CENTRAL_COUNT = 10


def context_stack(volume: np.ndarray, index: int, context: int, axis: int = 2) -> np.ndarray:
    """Slice ``index`` of a channel-first ``(C, X, Y, Z)`` volume with ``context`` neighbours on
    each side along ``axis`` (edge slices repeated) → ``((2·context + 1)·C, *in-plane)``."""
    if context < 0:
        raise ValueError(f"context must be ≥ 0, got {context}")
    n = volume.shape[axis + 1]
    picks = np.clip(np.arange(index - context, index + context + 1), 0, n - 1)
    stacked = np.take(volume, picks, axis=axis + 1)  # (C, ..., 2k+1, ...)
    stacked = np.moveaxis(stacked, axis + 1, 0)  # (2k+1, C, *in-plane)
    return np.ascontiguousarray(stacked.reshape(-1, *stacked.shape[2:]))


def centre_channels(n_channels: int, context: int) -> slice:
    """Channels of the centre slice in a :func:`context_stack` of ``n_channels``-channel images."""
    return slice(context * n_channels, (context + 1) * n_channels)


def central_slices(n_slices: int, count: int = CENTRAL_COUNT) -> np.ndarray:
    """Indices of the ``count`` central slices of ``n_slices`` (all of them when fewer)."""
    start = max(0, (n_slices - count) // 2)
    return np.arange(start, min(n_slices, start + count))


def brain_slices(brain: np.ndarray, axis: int) -> np.ndarray:
    """Indices along ``axis`` of the slices of a ``(X, Y, Z)`` brain mask holding brain voxels."""
    other = tuple(a for a in range(brain.ndim) if a != axis)
    return np.flatnonzero(brain.any(axis=other))


def lesion_fractions(mask: np.ndarray, axis: int) -> np.ndarray:
    """Fraction of each slice's voxels inside a ``(X, Y, Z)`` binary mask, ``(n_slices,)``."""
    other = tuple(a for a in range(mask.ndim) if a != axis)
    voxels_per_slice = mask.size // mask.shape[axis]
    return mask.sum(axis=other, dtype=np.float64) / voxels_per_slice


class SliceDataset(SubjectDataset):
    """2-D slices of a cohort split; items ``image (C, H, W)`` plus ``"slice"`` (int).

    Same items as :class:`~lesionlens.data.datasets.VolumeDataset` with 2-D tensors and the
    slice rule of the module docstring. For axial slices (``axis=2``) the first in-plane axis is
    left–right in RAS voxel order.

    Args:
        cohort_or_subjects, split, cache, transform, seed: as in ``VolumeDataset``.
        shape: fixed in-plane shape after centre crop / pad, or ``None``.
        slices: ``"central10"`` (the 10 central slices) or ``"brain"`` (every slice with brain).
        axis: slicing axis of the ``(X, Y, Z)`` grid (2 = axial).
        min_lesion_fraction: lesion fraction above which a slice is pathological.
        drop_ambiguous: drop pathological subjects' slices with ``0 < fraction <= min``.
        context: neighbouring slices on each side stacked as channels (2.5-D; 0 = plain 2-D).

    Raises:
        ValueError: bad option, a pathological subject without mask, or no slice selected.
    """

    spatial_dims = 2

    def __init__(
        self,
        cohort_or_subjects: Cohort | str | Path | Sequence[Subject],
        split: str | None = None,
        shape: Sequence[int] | None = None,
        cache: bool = True,
        transform: Transform | None = None,
        seed: int | None = 0,
        slices: Literal["central10", "brain"] = "central10",
        axis: int = 2,
        min_lesion_fraction: float = 0.001,
        drop_ambiguous: bool = False,
        context: int = 0,
    ) -> None:
        if slices not in SLICE_CHOICES:
            raise ValueError(f"slices must be one of {SLICE_CHOICES}, got {slices!r}")
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        if not 0.0 <= min_lesion_fraction < 1.0:
            raise ValueError(f"min_lesion_fraction must be in [0, 1), got {min_lesion_fraction}")
        if context < 0:
            raise ValueError(f"context must be ≥ 0, got {context}")
        self.context = int(context)
        super().__init__(cohort_or_subjects, split, shape, cache, transform, seed)
        self.slices = slices
        self.axis = axis
        self.min_lesion_fraction = min_lesion_fraction
        self.drop_ambiguous = drop_ambiguous
        rows = [row for i in range(len(self.subjects)) for row in self._index_subject(i)]
        if not rows:
            raise ValueError(f"no slice selected in split {split!r} with slices={slices!r}")
        self.table = np.array(rows, dtype=np.int64).reshape(-1, 3)  # subject, slice, label

    def _grid_shape(self) -> tuple[int | None, ...] | None:
        if self.shape is None:
            return None
        grid: list[int | None] = list(self.shape)
        grid.insert(self.axis, None)
        return tuple(grid)

    def _index_subject(self, subject_index: int) -> list[tuple[int, int, int]]:
        """(subject, slice, label) rows of one subject, from its arrays on its own grid."""
        subject = self.subjects[subject_index]
        arrays = load_subject(subject)
        if self.cache:
            self._cache[subject_index] = crop_or_pad_subject(arrays, self._grid_shape())
        n_slices = arrays.original_shape[self.axis]
        if self.slices == "central10":
            chosen = central_slices(n_slices)
        else:
            chosen = brain_slices(arrays.brain, self.axis)
        if subject.label == 0:
            return [(subject_index, int(s), 0) for s in chosen]
        if arrays.mask is None:
            raise ValueError(
                f"subject {subject.subject_id} is pathological but has no mask; SliceDataset "
                "labels slices from the lesion mask, so add one to the manifest's mask column"
            )
        fractions = lesion_fractions(arrays.mask, self.axis)[chosen]
        pathological = fractions > self.min_lesion_fraction
        keep = ~(self.drop_ambiguous & (fractions > 0) & ~pathological)
        return [
            (subject_index, int(s), int(p))
            for s, p, k in zip(chosen, pathological, keep, strict=True)
            if k
        ]

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, key: int | SeededIndex) -> dict[str, Any]:
        index = self._resolve(key)
        subject_index, slice_index, label = (int(v) for v in self.table[index])
        arrays = self.subject_arrays(subject_index)
        axis = self.axis

        def cut(volume: np.ndarray, channel_first: bool) -> np.ndarray:
            return np.take(volume, slice_index, axis=axis + int(channel_first))

        mask = None if arrays.mask is None else cut(arrays.mask, False)
        item = self._item(
            context_stack(arrays.image, slice_index, self.context, axis),
            mask,
            cut(arrays.brain, False),
            label,
            self.subjects[subject_index],
            index,
        )
        item["slice"] = slice_index
        return item

    @property
    def item_labels(self) -> np.ndarray:
        """Label of every slice, ``(N,)`` int64."""
        return self.table[:, 2].copy()

    @property
    def item_subjects(self) -> np.ndarray:
        """Subject index (into ``self.subjects``) of every slice, ``(N,)`` int64."""
        return self.table[:, 0].copy()
