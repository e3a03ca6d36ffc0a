"""Shared fixtures: tiny NIfTI cohorts written with nibabel (no downloads)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

AFFINE = np.diag([4.0, 4.0, 4.0, 1.0])


def write(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data), affine), str(path))
    return path


@pytest.fixture
def tiny_cohort(tmp_path: Path) -> Path:
    """Six subjects (3 healthy, 3 pathological with a cube lesion) on a 10×12×8 grid."""
    rng = np.random.default_rng(0)
    rows = ["subject_id,image,label,mask,split,site"]
    splits = ["train", "train", "val", "train", "val", "test"]
    for i in range(6):
        label = int(i >= 3)
        img = rng.normal(size=(10, 12, 8)).astype(np.float32)
        mask = np.zeros((10, 12, 8), np.uint8)
        if label:
            mask[3:6, 4:7, 2:5] = 1
            img[mask > 0] += 3
        write(tmp_path / "img" / f"s{i}.nii.gz", img)
        write(tmp_path / "msk" / f"s{i}.nii.gz", mask)
        rows.append(f"s{i},img/s{i}.nii.gz,{label},msk/s{i}.nii.gz,{splits[i]},site{label}")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    return tmp_path
