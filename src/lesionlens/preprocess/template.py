"""The MNI152 template space that preprocessing maps every subject into (thesis ch. 1 §III.2).

nilearn ships the MNI152 2009 template, its brain mask and GM/WM maps inside the package, so
loading is offline. ``voxel`` selects the output grid (1 mm: 197×233×189, 2 mm: 99×117×95).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

VOXEL_SIZES = (1, 2, 4)


@dataclass(frozen=True)
class TemplateSpace:
    """MNI152 T1 template (intensities in [0, 1]) and brain mask on one RAS grid."""

    voxel: int
    image: np.ndarray  # (X, Y, Z) float32
    brain_mask: np.ndarray  # (X, Y, Z) bool
    affine: np.ndarray  # (4, 4) RAS

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.image.shape)  # type: ignore[return-value]


@functools.lru_cache(maxsize=4)
def load_template(voxel: int = 2) -> TemplateSpace:
    """MNI152 template space at ``voxel`` mm (1, 2 or 4; 4 mm is for fast tests)."""
    if voxel not in VOXEL_SIZES:
        raise ValueError(f"voxel must be one of {VOXEL_SIZES} (mm), got {voxel!r}")
    from nilearn import datasets

    t1 = datasets.load_mni152_template(resolution=voxel)
    mask = datasets.load_mni152_brain_mask(resolution=voxel)
    image = np.asarray(t1.dataobj, dtype=np.float32)
    brain = np.asarray(mask.dataobj) > 0.5
    if brain.shape != image.shape:
        raise RuntimeError(f"nilearn template {image.shape} and mask {brain.shape} differ")
    return TemplateSpace(voxel, image, brain, np.asarray(t1.affine, dtype=np.float64))
