"""MNI152 2009 anatomy on the phantom grid: tissue maps, ventricles and lesion-site candidates.

Source: the MNI152 template, GM/WM probability maps and brain mask shipped in nilearn (offline,
1 mm). CSF = brain mask − GM − WM. The 1 mm canvas (x 8:192, y 8:226, z 0:184 of the template,
MNI mm origin (−90, −126, −72)) is block-averaged to the voxel size, which gives partial volume;
8 mm yields 23×27×23 voxels, 2 mm 92×109×92. Maps are channels-first ``(C, X, Y, Z)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MAPS = ("gm", "wm", "brain", "near_csf", "cap", "choroid")
CANVAS = (slice(8, 192), slice(8, 226), slice(0, 184))
ORIGIN_MM = np.array([-90.0, -126.0, -72.0])  # corner of the canvas' first 1 mm voxel centre
ATLAS_MM = 2  # resolution at which ventricles, caps and lesion sites are derived


@dataclass(frozen=True)
class Anatomy:
    """Template maps on one grid plus lesion-site candidates (template space, mm).

    Attributes:
        voxel: voxel size (mm).
        affine: voxel → MNI mm.
        maps: ``(len(MAPS), X, Y, Z)`` float32 in [0, 1].
        support: voxels whose neighbourhood touches the brain (where sampling is needed).
        local_box: ``(2, 3)`` voxel bounds outside which the ``cap``/``choroid`` maps are 0.
        candidates: name → ``(N, 3)`` mm points: ``periventricular``, ``juxtacortical``,
            ``deep_wm``, ``brain``; ``brain_depth`` gives each brain point's depth (mm).
    """

    voxel: int
    affine: np.ndarray
    maps: np.ndarray
    support: np.ndarray
    candidates: dict[str, np.ndarray]
    brain_depth: np.ndarray
    local_box: np.ndarray  # (2, 3) voxel bounds of the cap/choroid maps (sampled only there)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.maps.shape[1:])  # type: ignore[return-value]

    def map(self, name: str) -> np.ndarray:
        return self.maps[MAPS.index(name)]

    @property
    def centre_mm(self) -> np.ndarray:
        idx = np.argwhere(self.map("brain") > 0.5).mean(0)
        return self.affine[:3, :3] @ idx + self.affine[:3, 3]


def grid_affine(voxel: int) -> np.ndarray:
    """Affine of the phantom grid: block ``i`` covers canvas voxels ``[i v, (i+1) v)``."""
    aff = np.eye(4)
    aff[:3, :3] *= voxel
    aff[:3, 3] = ORIGIN_MM + (voxel - 1) / 2
    return aff


def _block_mean(vol: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return vol.astype(np.float32)
    shape = [s // factor for s in vol.shape]
    vol = vol[: shape[0] * factor, : shape[1] * factor, : shape[2] * factor]
    return (
        vol.reshape(shape[0], factor, shape[1], factor, shape[2], factor)
        .mean(axis=(1, 3, 5), dtype=np.float64)
        .astype(np.float32)
    )


@functools.lru_cache(maxsize=1)
def _template_1mm() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GM, WM, brain mask on the 1 mm canvas (184×218×184), float32."""
    from nilearn import datasets

    def load(fn) -> np.ndarray:
        return np.asarray(fn(resolution=1).get_fdata(dtype=np.float32)[CANVAS])

    brain = load(datasets.load_mni152_brain_mask)
    gm = load(datasets.load_mni152_gm_template) * brain
    wm = load(datasets.load_mni152_wm_template) * brain
    excess = np.maximum(gm + wm - brain, 0)  # keep GM + WM <= brain so that CSF >= 0
    wm -= excess
    return gm, wm, brain


def _distance_mm(binary: np.ndarray) -> np.ndarray:
    """Distance (mm, at ATLAS_MM) of every voxel to the nearest voxel of ``binary``."""
    return ndimage.distance_transform_edt(~binary) * ATLAS_MM


@functools.lru_cache(maxsize=1)
def _atlas() -> dict[str, np.ndarray]:
    """Derived maps and candidates at 2 mm (92×109×92)."""
    gm, wm, brain = (_block_mean(m, ATLAS_MM) for m in _template_1mm())
    csf = np.clip(brain - gm - wm, 0, 1)
    depth = ndimage.distance_transform_edt(brain > 0.5) * ATLAS_MM
    deep_csf = (csf > 0.5) & (depth > 14)
    labels, n = ndimage.label(deep_csf)
    sizes = ndimage.sum(deep_csf, labels, range(1, n + 1))
    ventricles = np.isin(labels, 1 + np.flatnonzero(sizes >= 0.1 * sizes.max()))
    d_vent = _distance_mm(ventricles)
    d_gm = _distance_mm(gm > 0.5)
    wm_core = (wm > 0.5) & (brain > 0.5)

    # periventricular caps: WM rim at the anterior and posterior ends of the lateral ventricles
    vy = np.argwhere(ventricles)[:, 1]
    y_lo, y_hi = np.percentile(vy, 15), np.percentile(vy, 85)
    yy = np.arange(csf.shape[1])[None, :, None]
    horns = (yy <= y_lo) | (yy >= y_hi)
    cap = wm * np.exp(-((np.maximum(d_vent - ATLAS_MM, 0) / 3.0) ** 2)) * horns * (d_vent > 0)
    # choroid plexus: blobs in the atria (posterior, lateral part of the lateral ventricles)
    vent_idx = np.argwhere(ventricles)
    mid_x = (csf.shape[0] - 1) / 2
    choroid = np.zeros_like(csf)
    post = vent_idx[vent_idx[:, 1] <= np.median(vent_idx[:, 1])]
    for side in (post[post[:, 0] < mid_x - 3], post[post[:, 0] > mid_x + 3]):
        if len(side):
            blob = np.zeros_like(csf)
            blob[tuple(np.round(side.mean(0)).astype(int))] = 1.0
            blob = ndimage.gaussian_filter(blob, 5.0 / ATLAS_MM)
            choroid += blob / blob.max()
    choroid = np.clip(choroid, 0, 1) * np.clip(2 * csf, 0, 1)
    cap[cap < 0.02] = 0  # compact support: these maps are sampled only in their bounding box
    choroid[choroid < 0.02] = 0
    near = ndimage.gaussian_filter(csf, 2.0 / ATLAS_MM)
    near = np.clip(near / np.percentile(near[brain > 0.5], 99), 0, 1) * (gm + wm)

    def mm(mask: np.ndarray) -> np.ndarray:
        return np.argwhere(mask) * ATLAS_MM + ORIGIN_MM + (ATLAS_MM - 1) / 2

    in_brain = brain > 0.5
    return {
        "near_csf": near.astype(np.float32),
        "cap": cap.astype(np.float32),
        "choroid": choroid.astype(np.float32),
        "periventricular": mm(wm_core & (d_vent >= 2) & (d_vent <= 8)),
        "juxtacortical": mm(wm_core & (d_gm <= 4) & (d_vent > 10)),
        "deep_wm": mm(wm_core & (d_gm > 4) & (d_vent > 8)),
        "brain": mm(in_brain),
        "brain_depth": depth[in_brain].astype(np.float32),
    }


def _atlas_to_grid(vol: np.ndarray, voxel: int, shape: tuple[int, int, int]) -> np.ndarray:
    if voxel == 1:
        out = ndimage.zoom(vol, ATLAS_MM, order=1)
    else:
        out = _block_mean(vol, voxel // ATLAS_MM)
    pad = [(0, max(0, s - o)) for s, o in zip(shape, out.shape, strict=True)]
    return np.pad(out, pad)[: shape[0], : shape[1], : shape[2]].astype(np.float32)


@functools.lru_cache(maxsize=4)
def load_anatomy(voxel: int) -> Anatomy:
    """The MNI152 anatomy on the ``voxel`` mm grid (cached per process)."""
    if voxel not in (1, 2, 4, 8):
        raise ValueError(f"voxel must be one of 1, 2, 4, 8 (mm), got {voxel!r}")
    gm, wm, brain = (_block_mean(m, voxel) for m in _template_1mm())
    atlas = _atlas()
    extra = [_atlas_to_grid(atlas[name], voxel, gm.shape) for name in MAPS[3:]]
    maps = np.stack([gm, wm, brain, *extra]).astype(np.float32)
    maps.setflags(write=False)
    support = ndimage.binary_dilation(brain > 0, iterations=1)
    candidates = {k: atlas[k] for k in ("periventricular", "juxtacortical", "deep_wm", "brain")}
    local = np.argwhere((maps[MAPS.index("cap")] > 0) | (maps[MAPS.index("choroid")] > 0))
    local_box = np.stack([local.min(0) - 1, local.max(0) + 1]).astype(np.float32)
    return Anatomy(
        voxel, grid_affine(voxel), maps, support, candidates, atlas["brain_depth"], local_box
    )
