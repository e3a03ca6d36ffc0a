"""Torch datasets over a cohort (3-D volumes, 2-D slices) and the thesis' augmentation (§III.3).

The augmentation module imports MONAI and is loaded on first use of ``make_augmentation``.
"""

from __future__ import annotations

from typing import Any

from .datasets import (
    SeededIndex,
    SubjectDataset,
    VolumeDataset,
    class_weights,
    labels,
    load_split_arrays,
    subjects_of_items,
)
from .geometry import crop_or_pad, undo_crop_or_pad
from .loading import SubjectArrays, background_values, load_subject, select_subjects, standardise
from .slices import (
    SliceDataset,
    brain_slices,
    central_slices,
    centre_channels,
    context_stack,
    lesion_fractions,
)

__all__ = [
    "SeededIndex",
    "SliceDataset",
    "SubjectArrays",
    "SubjectDataset",
    "VolumeDataset",
    "background_values",
    "brain_slices",
    "central_slices",
    "centre_channels",
    "context_stack",
    "class_weights",
    "crop_or_pad",
    "labels",
    "lesion_fractions",
    "load_split_arrays",
    "load_subject",
    "make_augmentation",
    "select_subjects",
    "standardise",
    "subjects_of_items",
    "undo_crop_or_pad",
]


def __getattr__(name: str) -> Any:
    if name == "make_augmentation":
        from .augmentation import make_augmentation

        return make_augmentation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
