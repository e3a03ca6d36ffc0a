"""Real scan through import + preprocess, and bad inputs isolated in failures.csv (4 mm grid)."""

import csv
import shutil

import numpy as np
import pytest

from lesionlens.cohort import validate_cohort
from lesionlens.preprocess import import_cohort, preprocess

from .conftest import REAL_T1, write


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    src = root / "src"
    (src / "healthy").mkdir(parents=True)
    shutil.copyfile(REAL_T1, src / "healthy" / "anat.nii")
    rng = np.random.default_rng(0)
    write(src / "pathological" / "noise.nii.gz", rng.random((40, 48, 40)), np.diag([2, 2, 2, 1]))
    write(src / "pathological" / "series.nii.gz", rng.random((8, 8, 8, 3)))
    (src / "pathological" / "broken.nii.gz").write_bytes(b"not a nifti")
    imported = import_cohort("folder", src, root / "cohort", ratios=(1, 0, 0))
    result = preprocess(imported.manifest, root / "out", voxel=4, jobs=1, rotations=False)
    return root, result


def test_real_scan_never_worse_than_header(run):
    root, result = run
    assert result.done == ["anat"]
    with open(root / "out" / "qc.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    assert float(row["ncc"]) >= float(row["ncc_header"]) > 0.4
    report = validate_cohort(root / "out")
    assert [s.subject_id for s in report.cohort.subjects] == ["anat"]
    assert (root / "out" / "qc" / "anat.png").stat().st_size > 1000


def test_bad_inputs_are_isolated_with_reasons(run):
    root, result = run
    with open(root / "out" / "failures.csv") as fh:
        reasons = {r["subject_id"]: r["reason"] for r in csv.DictReader(fh)}
    assert set(reasons) == {"noise", "series", "broken"}
    assert "NCC" in reasons["noise"]
    assert "4-D" in reasons["series"]
    assert "not a readable NIfTI" in reasons["broken"]
    assert not (root / "out" / "images" / "noise_c0.nii.gz").exists()


def test_rerun_skips_done_subjects(run):
    root, _ = run
    again = preprocess(root / "cohort", root / "out", voxel=4, jobs=1, rotations=False)
    assert again.skipped == ["anat"] and again.done == []
    with pytest.raises(ValueError, match="other options"):
        preprocess(root / "cohort", root / "out", voxel=4, n4=True, rotations=False)


def test_missing_channel_is_reported_for_that_subject_only(tmp_path):
    """A subject whose second channel is missing fails alone, with the file named."""
    write(tmp_path / "a_t1.nii.gz", np.ones((8, 8, 8)), np.diag([4, 4, 4, 1]))
    (tmp_path / "manifest.csv").write_text(
        "subject_id,image,label,split\na,a_t1.nii.gz;a_flair.nii.gz,0,train\n"
    )
    result = preprocess(tmp_path / "manifest.csv", tmp_path / "out", voxel=4, rotations=False)
    assert result.done == []
    with open(tmp_path / "out" / "failures.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["subject_id"] == "a" and "a_flair.nii.gz" in row["reason"]
