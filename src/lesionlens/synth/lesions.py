"""Lesion shapes rendered on local crops: partial-volume occupancy and tumour mass effect.

A lesion is a star-shaped irregular ellipsoid (see :class:`~lesionlens.synth.params.Lesion`).
Occupancy (the fraction of each voxel inside the lesion) is exact at voxel centres far from the
border and super-sampled near it, so borders show partial volume. Only the crop around each
lesion is touched, never a full-grid array per lesion.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from .params import Lesion


def extent_mm(lesion: Lesion) -> float:
    """Upper bound of the lesion's outer radius (mm)."""
    lobe = math.exp(sum(abs(lb[3]) for lb in lesion.lobes))
    return lesion.radius_mm * max(lesion.axes) * lobe


def crop_around(
    centre: np.ndarray, half: float, shape: tuple[int, ...]
) -> tuple[slice, ...] | None:
    """Slices of the box ``centre ± half`` (voxel units) clipped to ``shape``; None if empty."""
    lo = [max(0, int(math.floor(c - half))) for c in centre]
    hi = [min(s, int(math.ceil(c + half)) + 1) for c, s in zip(centre, shape, strict=True)]
    if any(h <= lo_ for lo_, h in zip(lo, hi, strict=True)):
        return None
    return tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))


def _relative_radius(lesion: Lesion, offsets_mm: np.ndarray) -> np.ndarray:
    """``rho / r(direction)`` for ``(N, 3)`` offsets: < 1 inside the outer boundary."""
    rot = Rotation.from_euler("xyz", lesion.angles_deg, degrees=True).as_matrix()
    local = (offsets_mm @ rot) / np.asarray(lesion.axes)
    rho = np.linalg.norm(local, axis=1)
    unit = local / np.maximum(rho, 1e-6)[:, None]
    log_r = np.zeros(len(local))
    for ux, uy, uz, amp in lesion.lobes:
        log_r += amp * (unit @ np.array([ux, uy, uz]))
    return rho / (lesion.radius_mm * np.exp(log_r))


def occupancy(
    lesion: Lesion,
    centre_vox: np.ndarray,
    voxel: float,
    shape: tuple[int, int, int],
    fractions: tuple[float, ...] = (1.0,),
    supersample: int = 3,
) -> tuple[tuple[slice, ...], np.ndarray] | None:
    """Fraction of each crop voxel inside the lesion scaled by each of ``fractions``.

    Returns the crop slices and a ``(len(fractions), *crop)`` float32 array, or None when the
    lesion falls outside the grid.
    """
    crop = crop_around(centre_vox, extent_mm(lesion) / voxel + 1, shape)
    if crop is None:
        return None
    grids = np.meshgrid(*[np.arange(s.start, s.stop) for s in crop], indexing="ij")
    offsets = (np.stack([g.ravel() for g in grids], 1) - centre_vox) * voxel
    ratio = _relative_radius(lesion, offsets)
    rho_local_margin = 1.5 * voxel * math.sqrt(3) / 2 / (min(lesion.axes) * lesion.radius_mm)
    sub = (np.arange(supersample) + 0.5) / supersample - 0.5
    sub = np.stack(np.meshgrid(sub, sub, sub, indexing="ij"), -1).reshape(-1, 3) * voxel
    out = np.empty((len(fractions), len(offsets)), dtype=np.float32)
    for k, frac in enumerate(fractions):
        inside = (ratio < frac).astype(np.float32)
        border = np.flatnonzero(np.abs(ratio - frac) < rho_local_margin * max(1.0, 1 / frac))
        if len(border):
            pts = (offsets[border, None, :] + sub[None]).reshape(-1, 3)
            fine = _relative_radius(lesion, pts).reshape(len(border), -1) < frac
            inside[border] = fine.mean(1)
        out[k] = inside
    return crop, out.reshape(len(fractions), *grids[0].shape)


def push_coordinates(
    coords: np.ndarray,
    centre_vox: np.ndarray,
    radius_vox: float,
    mass_effect: float,
    inverse: np.ndarray,
) -> None:
    """Mass effect, in place: tissue is pushed radially away from a tumour.

    Incompressible model: tissue first at distance ``rho0`` ends at ``rho = (rho0³ + k R³)^(1/3)``,
    so each subject voxel at ``rho`` samples the template where ``rho0 = (rho³ − k R³)^(1/3)``.
    The displacement decays as ``k R³ / (3 rho²)``; it is applied within ``3 R``. ``coords`` is the
    ``(3, X, Y, Z)`` backward map; ``inverse`` turns a subject-voxel shift into a template shift.
    """
    if mass_effect <= 0:
        return
    crop = crop_around(centre_vox, 3 * radius_vox, coords.shape[1:])
    if crop is None:
        return
    grids = np.meshgrid(
        *[np.arange(s.start, s.stop, dtype=np.float32) for s in crop], indexing="ij"
    )
    d = np.stack([g - np.float32(c) for g, c in zip(grids, centre_vox, strict=True)])
    rho = np.sqrt((d**2).sum(0))
    rho0 = np.cbrt(np.maximum(rho**3 - mass_effect * radius_vox**3, 0))
    shift = d * (rho0 / np.maximum(rho, 1e-6) - 1)  # subject-space backward shift
    shift *= rho <= 3 * radius_vox
    coords[(slice(None), *crop)] += np.einsum("kj,j...->k...", inverse.astype(np.float32), shift)
