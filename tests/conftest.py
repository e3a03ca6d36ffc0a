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


def make_cube_cohort(root: Path, n: int = 12, shape=(12, 14, 10), seed: int = 0) -> Path:
    """``n`` subjects, half pathological with a bright cube; splits train/val/test 50/25/25 %."""
    rng = np.random.default_rng(seed)
    rows = ["subject_id,image,label,mask,split,site"]
    for i in range(n):
        label = i % 2
        split = ["train", "train", "val", "test"][(i // 2) % 4]
        img = rng.normal(size=shape).astype(np.float32)
        mask = np.zeros(shape, np.uint8)
        if label:
            c = rng.integers(2, np.array(shape) - 5)
            mask[c[0] : c[0] + 3, c[1] : c[1] + 3, c[2] : c[2] + 3] = 1
            img[mask > 0] += 3.0
        write(root / "img" / f"c{i:02d}.nii.gz", img)
        write(root / "msk" / f"c{i:02d}.nii.gz", mask)
        rows.append(f"c{i:02d},img/c{i:02d}.nii.gz,{label},msk/c{i:02d}.nii.gz,{split},s{label}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture
def cube_cohort(tmp_path: Path) -> Path:
    return make_cube_cohort(tmp_path / "cohort")
