"""Exchange volumes between nibabel's RAS world and ANTs/ITK's LPS world, without files.

A NIfTI affine ``A`` maps voxel indices (i, j, k) to RAS millimetres; ITK stores the same grid as
origin, spacing and direction in LPS, so ``LPS = diag(-1, -1, 1) @ A``. Arrays keep nibabel's
index order (X, Y, Z) on both sides.
"""

from __future__ import annotations

import os

import numpy as np

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def set_ants_threads(n_threads: int) -> None:
    """Cap ITK's worker threads for this process (read by ANTs when it starts a filter)."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(n_threads)


def to_ants(data: np.ndarray, affine: np.ndarray):
    """(X, Y, Z) array + RAS affine → ``ants.ANTsImage`` (float32) on the same physical grid."""
    import ants

    if data.ndim != 3:
        raise ValueError(f"expected a 3-D array, got shape {data.shape}")
    linear = RAS_TO_LPS @ affine[:3, :3]
    spacing = np.linalg.norm(linear, axis=0)
    if np.any(spacing <= 0):
        raise ValueError(f"affine has a zero voxel size: {affine.tolist()}")
    direction = linear / spacing
    origin = RAS_TO_LPS @ affine[:3, 3]
    return ants.from_numpy(
        np.ascontiguousarray(data, dtype=np.float32),
        origin=tuple(float(v) for v in origin),
        spacing=tuple(float(v) for v in spacing),
        direction=direction,
    )


def from_ants(image) -> tuple[np.ndarray, np.ndarray]:
    """``ants.ANTsImage`` → ((X, Y, Z) float32 array, RAS affine)."""
    linear = np.asarray(image.direction, dtype=np.float64) * np.asarray(image.spacing)
    affine = np.eye(4)
    affine[:3, :3] = RAS_TO_LPS @ linear
    affine[:3, 3] = RAS_TO_LPS @ np.asarray(image.origin, dtype=np.float64)
    return image.numpy().astype(np.float32), affine
