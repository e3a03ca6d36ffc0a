"""Smooth random fields and the subject warp, evaluated cheaply on the voxel grid.

A coarse random grid upsampled with a cubic spline (``scipy.ndimage.zoom`` order 3) is separable,
so the 3-D upsampling is three small matrix products (the 1-D zoom operators) instead of a
full-grid spline: elastic displacements (nnU-Net-style, thesis Ch. 1 §III.3) and bias fields
(the multiplicative ``B`` of N4's model ``I_a = I_r B + N``, thesis Ch. 1 §III.2).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation


@functools.lru_cache(maxsize=64)
def zoom_operator(n_coarse: int, n_fine: int) -> np.ndarray:
    """``(n_fine, n_coarse)`` matrix equal to ``ndimage.zoom`` (order 3) of a 1-D signal."""
    eye = np.eye(n_coarse, dtype=np.float64)
    op = ndimage.zoom(eye, (n_fine / n_coarse, 1), order=3, mode="nearest", grid_mode=False)
    return op.astype(np.float32)


def upsample(coarse: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Cubic-spline upsampling of a ``(a, b, c)`` grid to ``shape`` (separable, exact zoom)."""
    op_x, op_y, op_z = (zoom_operator(n, s) for n, s in zip(coarse.shape, shape, strict=True))
    small = np.einsum("abc,zc->abz", coarse.astype(np.float32), op_z)  # (a, b, Z)
    small = np.einsum("yb,abz->ayz", op_y, small)  # (a, Y, Z)
    out = np.zeros(shape, dtype=np.float32)
    for a in range(len(small)):  # broadcasting, not BLAS: no thread pool on a busy machine
        out += op_x[:, a, None, None] * small[a][None]
    return out


def control_grid(shape: tuple[int, int, int], voxel: float, spacing_mm: float) -> tuple[int, ...]:
    """Number of control points per axis for a given spacing (at least 3)."""
    return tuple(max(3, round(s * voxel / spacing_mm) + 1) for s in shape)


def random_field(
    rng: np.random.Generator, shape: tuple[int, int, int], voxel: float, spacing_mm: float
) -> np.ndarray:
    """Smooth field with N(0, 1) values at control points ``spacing_mm`` apart."""
    coarse = rng.standard_normal(control_grid(shape, voxel, spacing_mm)).astype(np.float32)
    return upsample(coarse, shape)


def linear_part(rotation_deg, zoom) -> np.ndarray:
    """Forward template → subject linear map ``R · diag(zoom)``."""
    rot = Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix()
    return rot @ np.diag(np.asarray(zoom, dtype=np.float64))


def backward_coordinates(
    shape: tuple[int, int, int],
    centre: np.ndarray,
    forward: np.ndarray,
    translation: np.ndarray,
    elastic: np.ndarray | None,
) -> np.ndarray:
    """Template voxel coordinates ``(3, X, Y, Z)`` sampled by each subject voxel.

    All in voxel units: ``p = c + A^{-1} (i - c - t) + e(i)`` with ``A`` the forward linear map
    and ``e`` the elastic displacement ``(3, X, Y, Z)`` (or None).
    """
    inv = np.linalg.inv(forward).astype(np.float32)
    axes = [
        np.arange(s, dtype=np.float32) - np.float32(centre[k] + translation[k])
        for k, s in enumerate(shape)
    ]
    out = np.empty((3, *shape), dtype=np.float32)
    for k in range(3):
        out[k] = (
            inv[k, 0] * axes[0][:, None, None]
            + inv[k, 1] * axes[1][None, :, None]
            + inv[k, 2] * axes[2][None, None, :]
            + np.float32(centre[k])
        )
        if elastic is not None:
            out[k] += elastic[k]
    return out


def trilinear(volumes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Trilinear samples of ``(C, X, Y, Z)`` volumes at ``(3, N)`` voxel coordinates → ``(C, N)``.

    Equal to ``ndimage.map_coordinates(order=1)`` for points inside the grid (points outside
    are clamped to the border), with the corner indices and weights shared by all channels.
    """
    shape = volumes.shape[1:]
    low = np.empty((3, points.shape[1]), dtype=np.intp)
    weight = np.empty(points.shape, dtype=np.float32)
    for k in range(3):
        clipped = np.clip(points[k], 0, shape[k] - 1)
        low[k] = np.minimum(clipped.astype(np.intp), shape[k] - 2)
        weight[k] = clipped - low[k]
    strides = (shape[1] * shape[2], shape[2], 1)
    base = low[0] * strides[0] + low[1] * strides[1] + low[2]
    corners = []
    for dx in (0, 1):
        wx = weight[0] if dx else 1 - weight[0]
        for dy in (0, 1):
            wxy = wx * (weight[1] if dy else 1 - weight[1])
            for dz in (0, 1):
                w = wxy * (weight[2] if dz else 1 - weight[2])
                corners.append((base + dx * strides[0] + dy * strides[1] + dz, w))
    out = np.zeros((len(volumes), points.shape[1]), dtype=np.float32)
    for c, vol in enumerate(volumes):
        flat = vol.ravel()
        for index, w in corners:
            out[c] += w * flat.take(index)
    return out
