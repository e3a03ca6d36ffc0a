"""Tiny NIfTI cohorts for the data tests, written with nibabel and ``write_manifest``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lesionlens.cohort import Subject, read_manifest, write_manifest

AFFINE = np.diag([8.0, 8.0, 8.0, 1.0])
GRID = (12, 14, 10)
BRAIN = (slice(2, 10), slice(3, 11), slice(1, 9))
LESION = (slice(3, 6), slice(4, 7), slice(3, 6))
BACKGROUNDS = (0.0, -3.0)  # one background per channel (z-scored brain, constant outside)


@dataclass
class Row:
    subject_id: str
    label: int
    split: str
    channels: list[np.ndarray]
    mask: np.ndarray | None = None


def _save(path: Path, data: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data), AFFINE), str(path))
    return path


def build_cohort(root: Path, rows: list[Row]) -> Path:
    """Write ``rows`` as NIfTI files under ``root`` and return the manifest path."""
    subjects = []
    for row in rows:
        images = tuple(
            _save(root / "img" / f"{row.subject_id}_c{c}.nii.gz", ch.astype(np.float32))
            for c, ch in enumerate(row.channels)
        )
        mask = None
        if row.mask is not None:
            mask = _save(root / "msk" / f"{row.subject_id}.nii.gz", row.mask.astype(np.uint8))
        subjects.append(Subject(row.subject_id, images, row.label, row.split, mask))
    return write_manifest(subjects, root / "manifest.csv")


def brain_volume(
    rng: np.random.Generator, background: float, shape=GRID, brain=BRAIN
) -> np.ndarray:
    """Gaussian values inside the brain box, a constant ``background`` outside."""
    volume = np.full(shape, background, np.float32)
    volume[brain] = rng.normal(5.0, 1.0, size=volume[brain].shape)
    return volume


def lesion_mask(shape=GRID, lesion=LESION) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[lesion] = 1
    return mask


@pytest.fixture
def cohort_path(tmp_path: Path) -> Path:
    """Six two-channel subjects on a 12×14×10 grid; pathological ones carry a 3³ lesion cube."""
    rng = np.random.default_rng(0)
    rows = []
    for sid, label, split, with_mask in [
        ("h0", 0, "train", True),
        ("p0", 1, "train", True),
        ("h1", 0, "train", False),
        ("p1", 1, "val", True),
        ("h2", 0, "val", False),
        ("p2", 1, "test", True),
    ]:
        channels = [brain_volume(rng, bg) for bg in BACKGROUNDS]
        mask = lesion_mask() if label else np.zeros(GRID, np.uint8)
        channels[0][mask > 0] += 3.0
        rows.append(Row(sid, label, split, channels, mask if with_mask else None))
    return build_cohort(tmp_path, rows)


@pytest.fixture
def cohort(cohort_path: Path):
    return read_manifest(cohort_path)
