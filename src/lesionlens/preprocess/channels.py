"""Reading raw subject channels: RAS reorientation, refusal of 4-D series, modality names."""

from __future__ import annotations

import re
from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import LesionLensInputError
from ..io import load_nifti

_MODALITY = [  # (pattern on the lower-case file name, canonical name); first match wins
    (r"flair", "flair"),
    (r"t1[-_]?(ce|gd|c\b|post|contrast)", "t1ce"),
    (r"t1", "t1"),
    (r"t2", "t2"),
    (r"(^|[-_.])pd([-_.]|$)", "pd"),
]


def modality_name(path: str | Path) -> str | None:
    """Guess the modality from a file name (``..._FLAIR.nii.gz`` → ``flair``), or None."""
    name = Path(path).name.lower()
    for pattern, modality in _MODALITY:
        if re.search(pattern, name):
            return modality
    return None


def channel_names(paths: tuple[Path, ...]) -> list[str]:
    """Unique output names per channel: the modality when recognised, else ``c<i>``."""
    names: list[str] = []
    for i, p in enumerate(paths):
        name = modality_name(p) or f"c{i}"
        names.append(name if name not in names else f"{name}{i}")
    return names


def reference_channel(paths: tuple[Path, ...], requested: int | None = None) -> int:
    """Index of the channel registered to the template: ``requested``, else the T1, else 0."""
    if requested is not None:
        if not 0 <= requested < len(paths):
            raise ValueError(f"reference channel must be in [0, {len(paths) - 1}], got {requested}")
        return requested
    names = [modality_name(p) for p in paths]
    return names.index("t1") if "t1" in names else 0


def read_ras(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One 3-D scan reoriented to RAS (nibabel ``as_closest_canonical``) → (array, affine).

    A 4-D series with several volumes is refused (one channel per file), as are non-finite
    voxels.
    """
    img = load_nifti(path)
    if len(img.shape) == 4 and img.shape[3] == 1:
        img = img.slicer[..., 0]
    if len(img.shape) != 3:
        raise LesionLensInputError(
            f"{Path(path).name}: {len(img.shape)}-D image of shape {img.shape}; expected one 3-D "
            "volume per channel (split the series, e.g. with fslsplit)"
        )
    img = nib.as_closest_canonical(img)
    try:
        data = np.asarray(img.dataobj, dtype=np.float32)
    except Exception as exc:
        raise LesionLensInputError(f"{Path(path).name}: voxel data unreadable ({exc})") from exc
    if not np.isfinite(data).all():
        raise LesionLensInputError(
            f"{Path(path).name}: {int((~np.isfinite(data)).sum())} NaN/Inf voxels"
        )
    return data, img.affine.astype(np.float64)
