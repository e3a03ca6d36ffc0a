"""2-D slice export and numpy CDF matching."""

import numpy as np
from scipy import stats

from lesionlens.cohort import Subject, validate_cohort, write_manifest
from lesionlens.preprocess import export_slices, match_histogram

from .conftest import write


def test_match_histogram_follows_reference_distribution():
    rng = np.random.default_rng(0)
    image, reference = rng.normal(0, 1, (32, 32)), rng.gamma(2.0, 3.0, (40, 40))
    matched = match_histogram(image, reference)
    assert stats.ks_2samp(matched.ravel(), reference.ravel()).statistic < 0.02
    assert stats.spearmanr(matched.ravel(), image.ravel()).statistic > 0.999


def test_export_central_slices_labels_and_shape(tmp_path):
    rng = np.random.default_rng(0)
    vol = rng.random((16, 16, 20)).astype(np.float32)
    mask = np.zeros((16, 16, 20), np.uint8)
    mask[4:10, 4:10, 10:13] = 1  # tumour in 3 of the 10 central slices (z 5..14)
    subjects = [
        Subject("t", (write(tmp_path / "t.nii.gz", vol),), 1, "train",
                write(tmp_path / "tm.nii.gz", mask, dtype=np.uint8)),
        Subject("h", (write(tmp_path / "h.nii.gz", vol),), 0, "test"),
    ]  # fmt: skip
    write_manifest(subjects, tmp_path / "manifest.csv")
    rows = export_slices(tmp_path, tmp_path / "slices", size=32)
    assert len(rows) == 20
    assert sorted(r.subject_id for r in rows if r.label == 1) == ["t_z010", "t_z011", "t_z012"]
    report = validate_cohort(tmp_path / "slices")
    assert report.info["h_z005"].shape == (32, 32, 1)
    assert {r.split for r in rows if r.subject_id.startswith("h")} == {"test"}
