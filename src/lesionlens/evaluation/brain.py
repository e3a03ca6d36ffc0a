"""Brain mask of a preprocessed image (thesis ch. 1 §III.2: z-score inside the brain, background
set to a constant), used to pool voxel metrics over the brain only.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_scores


def background_value(volume: np.ndarray) -> float:
    """The most frequent value on the six faces of a 3-D volume (the constant background).

    The faces are used rather than one corner so that a brain touching a corner, or a few
    noisy border voxels, do not change the answer; ties go to the smallest value.
    """
    v = as_scores(volume, "volume")
    if v.ndim != 3:
        raise ValueError(f"volume must be 3-D (X, Y, Z), got shape {v.shape}")
    faces = np.concatenate([np.take(v, i, axis=ax).reshape(-1) for ax in range(3) for i in (0, -1)])
    values, counts = np.unique(faces, return_counts=True)
    return float(values[int(np.argmax(counts))])


def brain_mask(image: np.ndarray) -> np.ndarray:
    """Voxels of ``image`` (C, X, Y, Z) — or (X, Y, Z) — that differ from the background value
    in any channel → bool (X, Y, Z).

    The background of each channel is :func:`background_value` (mode of its border voxels).
    A brain voxel whose z-scored intensity equals the background constant exactly is missed;
    with float intensities this does not happen in practice.
    """
    img = as_scores(image, "image")
    if img.ndim == 3:
        img = img[None]
    if img.ndim != 4:
        raise ValueError(f"image must be (C, X, Y, Z) or (X, Y, Z), got shape {img.shape}")
    mask = np.zeros(img.shape[1:], dtype=bool)
    for channel in img:
        mask |= channel != background_value(channel)
    return mask
