"""NIfTI reading/writing (nibabel) and atomic outputs.

Arrays follow nibabel's voxel order (x, y, z); multi-channel images are returned channels-first,
``(C, X, Y, Z)``, the layout the torch datasets use.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from .errors import LesionLensInputError


def load_nifti(path: str | Path) -> nib.Nifti1Image:
    """Open a NIfTI header (data stays on disk); unreadable files raise ``LesionLensInputError``."""
    path = Path(path)
    if not path.is_file():
        raise LesionLensInputError(f"{path}: file not found")
    try:
        img = nib.load(str(path))
    except Exception as exc:  # nibabel raises several types for corrupt files
        raise LesionLensInputError(f"{path}: not a readable NIfTI file ({exc})") from exc
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise LesionLensInputError(f"{path}: expected a NIfTI image, got {type(img).__name__}")
    return img


def read_volume(path: str | Path, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Read one 3-D volume (4-D with a single volume is squeezed) → (array (X,Y,Z), affine)."""
    img = load_nifti(path)
    try:
        data = np.asarray(img.dataobj, dtype=dtype)
    except Exception as exc:
        raise LesionLensInputError(f"{path}: voxel data cannot be read ({exc})") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise LesionLensInputError(
            f"{path}: expected a 3-D volume (or 4-D with one volume), got shape {data.shape}"
        )
    return data, img.affine.astype(np.float64)


def read_image(paths: Sequence[str | Path]) -> tuple[np.ndarray, np.ndarray]:
    """Read channels on one grid → (array (C, X, Y, Z) float32, affine of the first channel)."""
    vols, affine = [], None
    for p in paths:
        data, aff = read_volume(p)
        if affine is None:
            affine = aff
        vols.append(data)
    if affine is None:
        raise LesionLensInputError("no image path given")
    return np.stack(vols), affine


def write_nifti(
    path: str | Path, data: np.ndarray, affine: np.ndarray, dtype: type = np.float32
) -> Path:
    """Write ``data`` with ``affine`` atomically (temporary name beside it, then rename)."""
    path = Path(path)
    img = nib.Nifti1Image(np.asarray(data, dtype=dtype), np.asarray(affine, dtype=np.float64))
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(img.affine, code=1)
    img.set_sform(img.affine, code=1)
    with atomic_file(path) as tmp:
        nib.save(img, str(tmp))
    return path


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffixes); rename it to ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path``.

    An existing ``path`` is refused unless ``overwrite``; on error nothing is left behind.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise LesionLensInputError(
            f"{path}: output exists; choose another folder or pass --overwrite"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
