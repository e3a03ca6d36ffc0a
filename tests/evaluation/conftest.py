"""A tiny synthetic cohort (16³, 4 mm voxels) and maps folders written with nibabel."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

AFFINE = np.diag([4.0, 4.0, 4.0, 1.0])
SHAPE = (16, 16, 16)
BACKGROUND = -2.5
SPLITS = {"val": (2, 2), "test": (3, 3)}  # (healthy, patients)


def _save(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data), affine), str(path))


def brain_of(shape=SHAPE) -> np.ndarray:
    grid = np.stack(np.meshgrid(*[np.arange(n) - (n - 1) / 2 for n in shape], indexing="ij"))
    return (grid**2).sum(0) < 6.5**2


def make_cohort(root: Path, seed: int = 0) -> Path:
    """Cohort with a sphere brain, constant background and one cube lesion per patient."""
    rng = np.random.default_rng(seed)
    brain = brain_of()
    rows = ["subject_id,image,label,mask,split"]
    for split, (n_healthy, n_patients) in SPLITS.items():
        for i in range(n_healthy + n_patients):
            label = int(i >= n_healthy)
            sid = f"{split}{i}"
            image = np.where(brain, rng.normal(size=SHAPE), BACKGROUND).astype(np.float32)
            mask = np.zeros(SHAPE, np.uint8)
            if label:
                c = rng.integers(5, 9, 3)
                size = 2 + i % 3
                mask[c[0] : c[0] + size, c[1] : c[1] + size, c[2] : c[2] + size] = 1
                mask &= brain
                image[mask > 0] += 3
            _save(root / "img" / f"{sid}.nii.gz", image)
            _save(root / "msk" / f"{sid}.nii.gz", mask)
            rows.append(f"{sid},img/{sid}.nii.gz,{label},msk/{sid}.nii.gz,{split}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root / "manifest.csv"


def write_maps(
    cohort_root: Path, out: Path, split: str, kind: str, seed: int = 0, channels: int = 0
) -> Path:
    """Maps for ``split``: ``good`` = lesion + small noise, ``random`` = noise only.

    ``channels=K`` writes 4-D maps whose channel 1 is the good map and the others noise.
    """
    rng = np.random.default_rng(seed)
    rows = ["subject_id,label,logit,prob,pred"]
    for line in (cohort_root / "manifest.csv").read_text().splitlines()[1:]:
        sid, _, label, _, s = line.split(",")
        if s != split:
            continue
        mask = np.asarray(nib.load(str(cohort_root / "msk" / f"{sid}.nii.gz")).dataobj) > 0
        noise = rng.normal(0, 0.2, SHAPE)
        good = mask + noise
        data = good if kind == "good" else noise
        if channels:
            data = np.stack([rng.normal(0, 1, SHAPE) for _ in range(channels)], axis=-1)
            data[..., 1] = good
        _save(out / "maps" / f"{sid}.nii.gz", data.astype(np.float32))
        logit = 2.0 if label == "1" else -2.0
        rows.append(f"{sid},{label},{logit},{1 / (1 + np.exp(-logit)):.4f},{label}")
    (out / "predictions.csv").write_text("\n".join(rows) + "\n")
    return out


@pytest.fixture
def synthetic(tmp_path: Path):
    """(cohort root, manifest) of the synthetic cohort."""
    root = tmp_path / "cohort"
    return root, make_cohort(root)
