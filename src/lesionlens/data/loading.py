"""Read one subject into memory: image channels, lesion mask, brain mask, background values.

Images are z-scored inside the brain with the background set to 0 (:func:`standardise`, as
``lesionlens preprocess`` does). The background of each channel is detected as the most frequent
value among the volume's minimum and its eight corner voxels (the brain never reaches a corner
after brain extraction), and the brain mask is every voxel that differs from the background in at
least one channel. This is cheap (a few comparisons per voxel) and needs no brain-mask file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import io
from ..cohort import SPLITS, Cohort, Subject, read_manifest
from .geometry import crop_or_pad


@dataclass(frozen=True)
class SubjectArrays:
    """One subject in memory. Spatial axes ``(X, Y, Z)`` follow the NIfTI voxel order."""

    image: np.ndarray  # (C, X, Y, Z) float32
    mask: np.ndarray | None  # (X, Y, Z) float32 in {0, 1}; None when the subject has no mask
    brain: np.ndarray  # (X, Y, Z) bool
    background: np.ndarray  # (C,) float32, the pad value of each channel
    original_shape: tuple[int, int, int]  # spatial shape on the subject's own grid


def select_subjects(
    cohort_or_subjects: Cohort | str | Path | Sequence[Subject], split: str | None = None
) -> list[Subject]:
    """Subjects of a cohort (manifest path, folder or :class:`Cohort`) or a list, in one split.

    Raises:
        TypeError: the first argument is none of the accepted types.
        ValueError: unknown split name, or no subject left.
    """
    if isinstance(cohort_or_subjects, str | Path):
        cohort_or_subjects = read_manifest(cohort_or_subjects)
    if isinstance(cohort_or_subjects, Cohort):
        subjects = list(cohort_or_subjects.subjects)
    elif isinstance(cohort_or_subjects, Sequence) and all(
        isinstance(s, Subject) for s in cohort_or_subjects
    ):
        subjects = list(cohort_or_subjects)
    else:
        raise TypeError(
            "expected a Cohort, a manifest path or a sequence of Subject, got "
            f"{type(cohort_or_subjects).__name__}"
        )
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
        subjects = [s for s in subjects if s.split == split]
    if not subjects:
        raise ValueError(f"no subjects in split {split!r}; check the manifest's split column")
    return subjects


def background_values(image: np.ndarray) -> np.ndarray:
    """Per-channel background of a ``(C, *spatial)`` image → ``(C,)`` float32.

    The most frequent value among the channel's minimum and its corner voxels.
    """
    spatial = image.shape[1:]
    corners = np.array(np.meshgrid(*[(0, n - 1) for n in spatial], indexing="ij")).reshape(
        len(spatial), -1
    )
    out = np.empty(image.shape[0], np.float32)
    for c, channel in enumerate(image):
        candidates = np.unique(np.append(channel[tuple(corners)], channel.min()))
        counts = [np.count_nonzero(channel == v) for v in candidates]
        out[c] = candidates[int(np.argmax(counts))]
    return out


def load_subject(subject: Subject) -> SubjectArrays:
    """Read a subject's channels (``io.read_image``) and mask (``io.read_volume``) once.

    Raises:
        ValueError: the mask is not on the image's grid.
    """
    image, _ = io.read_image(subject.images)
    mask = None
    if subject.mask is not None:
        raw, _ = io.read_volume(subject.mask)
        if raw.shape != image.shape[1:]:
            raise ValueError(
                f"subject {subject.subject_id}: mask shape {raw.shape} differs from the image's "
                f"{image.shape[1:]}; resample the mask onto the image grid"
            )
        mask = (raw > 0.5).astype(np.float32)
    image, brain = standardise(image)
    background = np.zeros(image.shape[0], np.float32)
    return SubjectArrays(image, mask, brain, background, tuple(image.shape[1:]))


def standardise(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thesis ch. 1 §III.2 step 5: z-score each channel of ``(C, *spatial)`` over the brain,
    background set to 0 → (image float32, brain bool ``(*spatial)``).

    The brain is every voxel differing from its channel's background (:func:`background_values`).
    Already-standardised images (``lesionlens preprocess`` output) come back unchanged, so raw
    phantoms and preprocessed scans reach the networks on the same scale.
    """
    background = background_values(image)
    brain = np.any(image != background.reshape((-1,) + (1,) * (image.ndim - 1)), axis=0)
    out = np.zeros(image.shape, np.float32)
    for c, channel in enumerate(image):
        values = channel[brain].astype(np.float64)
        if values.size:
            std = values.std()
            out[c][brain] = (values - values.mean()) / (std if std > 0 else 1.0)
    return out, brain


def crop_or_pad_subject(arrays: SubjectArrays, shape: Sequence[int | None] | None) -> SubjectArrays:
    """Crop/pad every array of a subject to ``shape`` (image padded with its background)."""
    if shape is None:
        return arrays
    channels = zip(arrays.image, arrays.background, strict=True)
    image = np.stack([crop_or_pad(c, shape, float(b)) for c, b in channels])
    mask = None if arrays.mask is None else crop_or_pad(arrays.mask, shape, 0.0)
    brain = crop_or_pad(arrays.brain, shape, False)
    return replace(arrays, image=image, mask=mask, brain=brain)
