"""2-D BraTS slice cohort (thesis ch. 5, after Silva-Rodríguez et al., 2021): the 10 central
axial slices of each volume; healthy when the slice has no tumour, pathological when tumour
covers more than 0.1 % of it (slices in between are dropped); intensities matched to the CDF of
one healthy reference slice drawn with ``seed``; resized to 224². Slices are written as NIfTI of
shape (224, 224, 1) and keep their volume's split (no subject leaks across splits).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..cohort import Subject, read_manifest, write_manifest
from ..io import atomic_dir, read_image, read_volume, write_nifti


def match_histogram(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Map ``image`` values so that their empirical CDF follows ``reference``'s (numpy only)."""
    values, inverse, counts = np.unique(image.ravel(), return_inverse=True, return_counts=True)
    ref_values, ref_counts = np.unique(reference.ravel(), return_counts=True)
    quantiles = np.cumsum(counts) / image.size
    ref_quantiles = np.cumsum(ref_counts) / reference.size
    matched = np.interp(quantiles, ref_quantiles, ref_values)
    return matched[inverse].reshape(image.shape).astype(np.float32)


def _resize(slice2d: np.ndarray, size: int, order: int) -> np.ndarray:
    factors = (size / slice2d.shape[0], size / slice2d.shape[1])
    return ndimage.zoom(slice2d, factors, order=order, grid_mode=True, mode="nearest")


def export_slices(
    cohort, out, *, n_slices: int = 10, min_fraction: float = 0.001, size: int = 224,
    seed: int = 0, overwrite: bool = False,
) -> list[Subject]:  # fmt: skip
    """Write the 2-D slice cohort of a 3-D ``cohort`` (manifest or folder) into ``out``."""
    if n_slices < 1 or size < 8:
        raise ValueError(f"n_slices must be >= 1 and size >= 8, got {n_slices}, {size}")
    source = read_manifest(cohort)
    picked = []  # (subject, z, image (C, X, Y), mask (X, Y), label)
    for s in source.subjects:
        image, _ = read_image(s.images)
        mask = read_volume(s.mask)[0] > 0.5 if s.mask else np.zeros(image.shape[1:], bool)
        z0 = image.shape[3] // 2 - n_slices // 2
        for z in range(max(z0, 0), min(z0 + n_slices, image.shape[3])):
            fraction = float(mask[:, :, z].mean())
            label = 0 if fraction == 0 else (1 if fraction > min_fraction else None)
            if label is not None:
                picked.append((s, z, image[:, :, :, z], mask[:, :, z], label))
    healthy = [k for k, p in enumerate(picked) if p[4] == 0]
    if not healthy:
        raise ValueError("no healthy slice to use as histogram reference")
    reference = picked[int(np.random.default_rng(seed).choice(healthy))][2]
    rows = []
    with atomic_dir(out, overwrite=overwrite) as tmp:
        for s, z, image, mask, label in picked:
            sid = f"{s.subject_id}_z{z:03d}"
            channels = [match_histogram(c, r) for c, r in zip(image, reference, strict=True)]
            affine = np.diag([image.shape[1] / size, image.shape[2] / size, 1.0, 1.0])
            paths = tuple(
                write_nifti(
                    tmp / "images" / f"{sid}_{k}.nii.gz", _resize(c, size, 1)[..., None], affine
                )  # fmt: skip
                for k, c in enumerate(channels)
            )
            mask_path = write_nifti(tmp / "masks" / f"{sid}_mask.nii.gz",
                                    _resize(mask.astype(np.float32), size, 0)[..., None] > 0.5,
                                    affine, np.uint8)  # fmt: skip
            rows.append(Subject(sid, paths, label, s.split, mask_path, s.site))
        write_manifest(rows, tmp / "manifest.csv")
    return rows
