"""Post-processing of lesion maps before they are written by ``explain``.

Raw gradient maps of a strided CNN are speckled at the stride's period (checkerboard), so a
voxel threshold cuts each lesion into fragments. Two optional, recorded filters:

* ``positive``: keep the evidence for pathology only (negative = healthy evidence → 0), so that
  smoothing does not average a lesion's evidence with the healthy evidence next to it;
* ``smooth_fwhm_mm``: an isotropic Gaussian in millimetres (FWHM = 2√(2 ln 2) σ), converted to
  voxels with the image's spacing, applied over the three spatial axes (a K-channel map is
  smoothed channel by channel).

The thesis describes no post-processing (spec 03 §2.3); lesionlens' defaults apply none.
Shapes: map (X, Y, Z) or (X, Y, Z, K), spacing (3,) in mm.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter

from .errors import LesionLensInputError

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def check_smoothing(smooth_fwhm_mm: float) -> None:
    """Refuse a negative or non-finite FWHM with one line."""
    if not math.isfinite(smooth_fwhm_mm) or smooth_fwhm_mm < 0:
        raise LesionLensInputError(
            f"--smooth-mm must be a FWHM ≥ 0 in mm (0 = no smoothing), got {smooth_fwhm_mm}"
        )


def filter_map(
    amap: np.ndarray, spacing, *, smooth_fwhm_mm: float = 0.0, positive: bool = False
) -> np.ndarray:
    """(X, Y, Z[, K]) map → the filtered map, float32, same shape (see module doc)."""
    check_smoothing(smooth_fwhm_mm)
    out = np.asarray(amap, dtype=np.float32)
    if positive:
        out = np.maximum(out, 0.0)
    if smooth_fwhm_mm > 0:
        spacing = np.asarray(spacing, dtype=np.float64)[:3]
        sigma = [smooth_fwhm_mm / FWHM_PER_SIGMA / s for s in spacing]
        sigma += [0.0] * (out.ndim - 3)
        out = gaussian_filter(out, sigma=sigma, mode="nearest").astype(np.float32)
    return out
