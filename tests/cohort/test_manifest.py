"""Cohort contract: every refusal names the line, column and file; good cohorts round-trip."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lesionlens.cli import app
from lesionlens.cohort import read_manifest, validate_cohort, write_manifest
from lesionlens.errors import CohortError
from tests.conftest import write

runner = CliRunner()


def edit_row(root: Path, line: int, **changes: str) -> None:
    """Change columns of manifest line ``line`` (header = 1)."""
    lines = (root / "manifest.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    for k, v in changes.items():
        cells[header.index(k)] = v
    lines[line - 1] = ",".join(cells)
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")


def refusal(root: Path) -> str:
    with pytest.raises(CohortError) as err:
        validate_cohort(root)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_good_cohort_reads_and_round_trips(tiny_cohort: Path, tmp_path: Path) -> None:
    report = validate_cohort(tiny_cohort)
    c = report.cohort
    assert [s.subject_id for s in c.split("train")] == ["s0", "s1", "s3"]
    assert c.subjects[3].mask is not None and c.subjects[3].site == "site1"
    assert report.info["s0"].shape == (10, 12, 8) and report.info["s0"].voxel == (4.0, 4.0, 4.0)
    out = write_manifest(c.subjects, tiny_cohort / "copy.csv")
    again = read_manifest(out)
    assert [(s.subject_id, s.images, s.label, s.mask, s.split, s.site) for s in again.subjects] == [
        (s.subject_id, s.images, s.label, s.mask, s.split, s.site) for s in c.subjects
    ]


def test_folder_argument_and_extra_columns(tiny_cohort: Path) -> None:
    text = (tiny_cohort / "manifest.csv").read_text().splitlines()
    text = [text[0] + ",age"] + [r + ",42" for r in text[1:]]
    (tiny_cohort / "manifest.csv").write_text("\n".join(text) + "\n")
    c = read_manifest(tiny_cohort)
    assert c.subjects[0].extra == {"age": "42"}


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"image": "img/nope.nii.gz"}, "column 'image', file 'img/nope.nii.gz': file not found"),
        ({"mask": "msk/nope.nii.gz"}, "column 'mask', file 'msk/nope.nii.gz': file not found"),
        ({"label": "2"}, "column 'label': label '2' is not 0 or 1"),
        ({"split": "training"}, "column 'split': split 'training' is not one of train, val, test"),
        ({"subject_id": "s 1/x"}, "column 'subject_id': 's 1/x' is not a valid subject_id"),
        ({"subject_id": "s0"}, "duplicate subject_id, already on line 2"),
        ({"image": "../outside.nii.gz"}, "path escapes the manifest's folder"),
        ({"image": "img/s2.nii.gz;"}, "column 'image': empty path"),
    ],
)
def test_table_refusals_name_line_and_column(tiny_cohort, changes, needle) -> None:
    write(tiny_cohort.parent / "outside.nii.gz", np.zeros((10, 12, 8), np.float32))
    edit_row(tiny_cohort, 4, **changes)
    msg = refusal(tiny_cohort)
    assert "manifest.csv line 4" in msg and needle in msg


def test_missing_required_column(tiny_cohort: Path) -> None:
    text = (tiny_cohort / "manifest.csv").read_text().replace("split", "fold", 1)
    (tiny_cohort / "manifest.csv").write_text(text)
    assert "missing required column(s) split" in refusal(tiny_cohort)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(CohortError, match="cohort manifest not found"):
        read_manifest(tmp_path)


def test_corrupt_nifti(tiny_cohort: Path) -> None:
    (tiny_cohort / "img" / "s2.nii.gz").write_bytes(gzip.compress(b"not a nifti at all" * 30))
    msg = refusal(tiny_cohort)
    assert "line 4 (subject s2), column 'image', file 's2.nii.gz'" in msg
    assert "unreadable or corrupt NIfTI" in msg


def test_truncated_nifti(tiny_cohort: Path) -> None:
    p = tiny_cohort / "img" / "s2.nii.gz"
    p.write_bytes(p.read_bytes()[:200])
    assert "unreadable or corrupt NIfTI" in refusal(tiny_cohort)


def test_not_3d(tiny_cohort: Path) -> None:
    write(tiny_cohort / "img" / "s2.nii.gz", np.zeros((10, 12, 8, 3), np.float32))
    assert "expected 3-D (or 4-D with one volume)" in refusal(tiny_cohort)


def test_4d_with_one_volume_is_accepted(tiny_cohort: Path) -> None:
    write(tiny_cohort / "img" / "s2.nii.gz", np.zeros((10, 12, 8, 1), np.float32))
    validate_cohort(tiny_cohort)


def test_nan_voxels(tiny_cohort: Path) -> None:
    data = np.zeros((10, 12, 8), np.float32)
    data[1, 2, 3] = np.nan
    data[2, 2, 3] = np.inf
    write(tiny_cohort / "img" / "s2.nii.gz", data)
    msg = refusal(tiny_cohort)
    assert "line 4" in msg and "2 NaN/Inf voxel(s)" in msg


def test_mask_on_other_shape(tiny_cohort: Path) -> None:
    write(tiny_cohort / "msk" / "s4.nii.gz", np.zeros((10, 12, 9), np.uint8))
    msg = refusal(tiny_cohort)
    assert "line 6 (subject s4), column 'mask', file 's4.nii.gz'" in msg
    assert "shape (10, 12, 9) differs" in msg


def test_mask_on_other_affine(tiny_cohort: Path) -> None:
    write(tiny_cohort / "msk" / "s4.nii.gz", np.zeros((10, 12, 8), np.uint8), np.diag([2, 2, 2, 1]))
    assert "affine differs from the image's" in refusal(tiny_cohort)


def test_channel_on_other_grid(tiny_cohort: Path) -> None:
    write(tiny_cohort / "img" / "t1.nii.gz", np.zeros((9, 12, 8), np.float32))
    edit_row(tiny_cohort, 2, image="img/s0.nii.gz;img/t1.nii.gz")
    for line in range(3, 8):
        edit_row(tiny_cohort, line, image=f"img/s{line - 2}.nii.gz;img/s{line - 2}.nii.gz")
    msg = refusal(tiny_cohort)
    assert "line 2 (subject s0), column 'image', file 't1.nii.gz'" in msg and "shape" in msg


def test_inconsistent_channel_count(tiny_cohort: Path) -> None:
    edit_row(tiny_cohort, 3, image="img/s1.nii.gz;img/s1.nii.gz")
    assert "2 channel(s) where line 2 has 1" in refusal(tiny_cohort)


def test_mask_not_binary(tiny_cohort: Path) -> None:
    m = np.zeros((10, 12, 8), np.float32)
    m[2:4, 2:4, 2:4] = 0.5
    write(tiny_cohort / "msk" / "s5.nii.gz", m)
    msg = refusal(tiny_cohort)
    assert "line 7" in msg and "mask is not binary (values 0, 0.5" in msg


def test_single_class_split_warns(tiny_cohort: Path) -> None:
    edit_row(tiny_cohort, 6, split="test")  # val keeps only s2 (healthy)
    report = validate_cohort(tiny_cohort, training=True)
    assert report.warnings == [
        "split 'val' holds only healthy subjects; training needs both classes"
    ]


def test_cli_validate_ok_and_refusal(tiny_cohort: Path) -> None:
    ok = runner.invoke(app, ["validate", str(tiny_cohort)])
    assert ok.exit_code == 0, ok.output
    assert "train" in ok.output and "site1" in ok.output and "6 subjects" in ok.output
    edit_row(tiny_cohort, 3, label="yes")
    bad = runner.invoke(app, ["validate", str(tiny_cohort / "manifest.csv")])
    assert bad.exit_code == 2
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "line 3 (subject s1), column 'label'" in lines[0]


def test_cli_version() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("lesionlens ")
