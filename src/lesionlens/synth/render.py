"""Deterministic rendering of one phantom subject from its sampled parameters.

``render_subject(anatomy, params, channels)`` is a pure function: the same parameters give the
same arrays. Pipeline (thesis Ch. 1 §III; acquisition model ``I_a = I_r B + N``):
warp the MNI152 tissue maps (random affine + elastic, tumour mass effect) → atrophy → tissue
intensities per contrast with the site's contrast → physiological hyperintensities (periventricular
caps, choroid plexus) → lesions with partial volume → bias field ``B`` → Rician noise → scale.
Arrays are ``(X, Y, Z)`` in the anatomy's grid; the background (outside the brain) is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anatomy import MAPS, Anatomy
from .contrast import lesion_level, tissue_level
from .fields import backward_coordinates, linear_part, random_field, trilinear
from .lesions import occupancy, push_coordinates
from .params import Lesion, SubjectParams

ELASTIC_SPACING_MM = 40.0
BIAS_SPACING_MM = 60.0
_STREAMS = {"elastic": 0, "bias": 1, "noise": 2}
TUMOUR_COMPARTMENTS = ("oedema", "bulk", "core")


@dataclass(frozen=True)
class Rendered:
    """One rendered subject: ``images`` per channel (float32), binary lesion ``mask`` (uint8),
    and the warped tissue fractions ``brain`` and ``csf`` (float32), all ``(X, Y, Z)``."""

    images: dict[str, np.ndarray]
    mask: np.ndarray
    brain: np.ndarray
    csf: np.ndarray


def _rng(params: SubjectParams, stream: str) -> np.random.Generator:
    return np.random.default_rng([params.render_seed, _STREAMS[stream]])


def _to_voxel(anatomy: Anatomy, mm: np.ndarray) -> np.ndarray:
    return (np.asarray(mm, dtype=np.float64) - anatomy.affine[:3, 3]) / anatomy.voxel


def _subject_centre(
    template_vox: np.ndarray, centre: np.ndarray, forward: np.ndarray, t: np.ndarray, elastic
) -> np.ndarray:
    """Invert the warp at one point by fixed-point iteration: ``i = c + t + A (p - c - e(i))``.

    All in voxel units; ``elastic`` is the ``(3, X, Y, Z)`` displacement (or None).
    """
    i = centre + t + forward @ (template_vox - centre)
    if elastic is None:
        return i
    shape = elastic.shape[1:]
    for _ in range(4):
        near = tuple(int(np.clip(round(x), 0, s - 1)) for x, s in zip(i, shape, strict=True))
        i = centre + t + forward @ (template_vox - centre - elastic[(slice(None), *near)])
    return i


def _sample_maps(anatomy: Anatomy, coords: np.ndarray) -> np.ndarray:
    """Trilinear samples of every anatomy map at ``coords`` ``(3, *box)`` (template voxels),
    computed only where the brain can land; returns ``(len(MAPS), *box)``."""
    shape = anatomy.shape
    strides = (shape[1] * shape[2], shape[2], 1)
    nearest = np.zeros(coords[0].size, dtype=np.intp)
    inside = np.ones(coords[0].size, dtype=bool)
    for k in range(3):
        c = coords[k].ravel()
        inside &= (c > -1) & (c < shape[k])
        nearest += np.clip((c + 0.5).astype(np.int32), 0, shape[k] - 1) * strides[k]
    idx = np.flatnonzero(anatomy.support.ravel().take(nearest) & inside)
    points = np.stack([coords[k].ravel().take(idx) for k in range(3)])
    out = np.zeros((len(MAPS), int(np.prod(coords.shape[1:]))), dtype=np.float32)
    n_global = MAPS.index("cap")  # cap and choroid are zero outside anatomy.local_box
    out[:n_global, idx] = trilinear(anatomy.maps[:n_global], points)
    lo, hi = anatomy.local_box
    local = np.flatnonzero(((points >= lo[:, None]) & (points <= hi[:, None])).all(0))
    out[n_global:, idx[local]] = trilinear(anatomy.maps[n_global:], points[:, local])
    return out.reshape(len(MAPS), *coords.shape[1:])


def _lesion_fractions(lesion: Lesion) -> tuple[float, ...]:
    if lesion.kind == "tumour":
        return (1.0, lesion.bulk_fraction, lesion.core_fraction)
    return (1.0,)


def render_subject(
    anatomy: Anatomy, params: SubjectParams, channels: tuple[str, ...] = ("flair",)
) -> Rendered:
    """Render ``params`` on ``anatomy``'s grid for each of ``channels`` (``flair``, ``t1``)."""
    shape, voxel = anatomy.shape, anatomy.voxel
    centre = _to_voxel(anatomy, anatomy.centre_mm)
    t = np.asarray(params.translation_mm) / voxel
    forward = linear_part(params.rotation_deg, params.zoom)
    inverse = np.linalg.inv(forward)
    elastic = None
    if params.elastic_mm > 0:
        rng = _rng(params, "elastic")
        elastic = np.stack(
            [random_field(rng, shape, voxel, ELASTIC_SPACING_MM) for _ in range(3)]
        ) * np.float32(params.elastic_mm / voxel)
    coords = backward_coordinates(shape, centre, forward, t, elastic)

    lesion_vox = [
        _subject_centre(_to_voxel(anatomy, les.centre_mm), centre, forward, t, elastic)
        for les in params.lesions
    ]
    for les, c in zip(params.lesions, lesion_vox, strict=True):
        if les.kind == "tumour":
            push_coordinates(coords, c, les.radius_mm / voxel, les.mass_effect, inverse)

    gm, wm, brain, near_csf, cap, choroid = _sample_maps(anatomy, coords)
    del coords
    keep = 1.0 - np.float32(params.atrophy) * near_csf
    gm *= keep
    wm *= keep
    csf = np.clip(brain - gm - wm, 0, None)

    supersample = min(4, max(2, voxel))
    occupancies = []
    lesion_total = np.zeros(shape, dtype=np.float32)
    for les, c in zip(params.lesions, lesion_vox, strict=True):
        occ = occupancy(les, c, voxel, shape, _lesion_fractions(les), supersample)
        if occ is None:
            continue
        crop, frac = occ
        frac *= np.clip(brain[crop], 0, 1)
        occupancies.append((les, crop, frac))
        lesion_total[crop] = np.maximum(lesion_total[crop], frac[0])

    images = {}
    brain_voxels = brain > 0.01
    for channel in channels:
        level = {
            k: tissue_level(channel, k, params.contrast)
            for k in ("csf", "gm", "wm", "cap", "choroid")
        }
        img = level["csf"] * csf + level["gm"] * gm + level["wm"] * wm
        img += params.cap_strength * (level["cap"] - level["wm"]) * cap
        img += params.choroid_strength * (level["choroid"] - level["csf"]) * choroid
        for les, crop, frac in occupancies:
            region = img[crop]
            if les.kind == "tumour":
                parts = [frac[0] - frac[1], frac[1] - frac[2], frac[2]]
                value = sum(
                    p * lesion_level(channel, name, les.level, params.contrast)
                    for p, name in zip(parts, TUMOUR_COMPARTMENTS, strict=True)
                )
            else:
                value = frac[0] * lesion_level(channel, "ms", les.level, params.contrast)
            img[crop] = region * (1 - frac[0]) + value
        img = _acquire(img, params, brain_voxels, voxel)
        images[channel] = img
    mask = _lesion_mask(lesion_total, occupancies, brain)
    return Rendered(images, mask, brain, csf)


def _acquire(
    img: np.ndarray, params: SubjectParams, brain_voxels: np.ndarray, voxel: int
) -> np.ndarray:
    """Bias field, Rician noise (σ relative to WM), intensity scale; zero background."""
    values = img[brain_voxels]
    if params.bias > 0:
        log_bias = random_field(_rng(params, "bias"), img.shape, voxel, BIAS_SPACING_MM)
        values *= np.exp(np.float32(params.bias) * log_bias[brain_voxels])
    if params.noise > 0:
        rng = _rng(params, "noise")
        sigma = np.float32(params.noise)
        real = values + sigma * rng.standard_normal(values.shape, dtype=np.float32)
        imag = sigma * rng.standard_normal(values.shape, dtype=np.float32)
        values = np.sqrt(real * real + imag * imag)
    out = np.zeros(img.shape, dtype=np.float32)
    out[brain_voxels] = values * np.float32(params.scale)
    return out


def _lesion_mask(total: np.ndarray, occupancies: list, brain: np.ndarray) -> np.ndarray:
    """Voxels at least half lesion; a lesion smaller than that still marks its fullest voxel."""
    mask = (total >= 0.5) & (brain >= 0.5)
    for _, crop, frac in occupancies:
        if frac[0].max() > 0 and not (frac[0] >= 0.5).any():
            peak = np.unravel_index(int(np.argmax(frac[0])), frac[0].shape)
            where = tuple(s.start + p for s, p in zip(crop, peak, strict=True))
            mask[where] = brain[where] >= 0.5
    return mask.astype(np.uint8)
