"""Phantom round trip: a template-derived head with a planted lesion, moved to a random scanner
pose with a bias field, is brought back by preprocess (mask Dice vs the original lesion)."""

import numpy as np
import pytest

from lesionlens.cohort import Subject, read_manifest, write_manifest
from lesionlens.io import read_volume
from lesionlens.preprocess import load_template, preprocess
from lesionlens.preprocess.pose import scanner_pose

from .conftest import write


def _dice(a, b):
    return 2 * (a & b).sum() / (a.sum() + b.sum())


@pytest.mark.parametrize("seed", [1])
def test_moved_phantom_is_brought_back(tmp_path, seed):
    template = load_template(4)
    centre = np.array([28, 36, 28])
    lesion = np.linalg.norm(np.indices(template.shape) - centre[:, None, None, None], axis=0) < 4
    lesion &= template.brain_mask
    head = template.image * 1000.0
    head[lesion] *= 1.6
    image, mask, header, pose = scanner_pose(head, lesion, template.affine, seed=seed,
                                             voxel_mm=(3.0, 3.0, 6.0))  # fmt: skip
    img_path = write(tmp_path / "raw" / "p_t1.nii.gz", image, header)
    mask_path = write(tmp_path / "raw" / "p_mask.nii.gz", mask, header, np.uint8)
    write_manifest([Subject("p", (img_path,), 1, "train", mask_path)], tmp_path / "c.csv")
    result = preprocess(tmp_path / "c.csv", tmp_path / "out", voxel=4, n4=True)
    assert result.done == ["p"], result.failures
    subject = read_manifest(result.manifest).subjects[0]
    back = read_volume(subject.mask)[0] > 0.5
    assert _dice(back, lesion) >= 0.7, pose
    out_image = read_volume(subject.images[0])[0]
    brain = read_volume(tmp_path / "out" / subject.extra["brain"])[0] > 0.5
    assert _dice(brain, template.brain_mask) > 0.85
    assert abs(out_image[brain].mean()) < 1e-3 and abs(out_image[brain].std() - 1) < 1e-3
    assert np.all(out_image[~brain] == 0.0)
