from pathlib import Path

import nibabel as nib
import numpy as np
import pytest


def write(path: Path, data: np.ndarray, affine=None, dtype=np.float32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data, dtype), np.eye(4) if affine is None else affine),
             str(path))  # fmt: skip
    return path


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    return lambda shape=(6, 6, 4): rng.random(shape).astype(np.float32)


REAL_T1 = Path(nib.__file__).parent / "tests" / "data" / "anatomical.nii"
