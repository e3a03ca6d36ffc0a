"""Importers on miniature fake layouts with tiny NIfTI files."""

import numpy as np
import pytest

from lesionlens.cohort import read_manifest, validate_cohort
from lesionlens.io import read_volume
from lesionlens.preprocess import import_cohort
from lesionlens.preprocess.splits import stratified_split

from .conftest import write


def test_brats_whole_tumour_mask_is_union_of_labels(tmp_path, tiny):
    for grade, sid in (("HGG", "BraTS19_A_1"), ("LGG", "BraTS19_B_2")):
        d = tmp_path / "src" / grade / sid
        for mod in ("flair", "t1", "t1ce", "t2"):
            write(d / f"{sid}_{mod}.nii.gz", tiny())
        seg = np.zeros((6, 6, 4), np.uint8)
        seg[1, 1, 1], seg[2, 2, 2], seg[3, 3, 3] = 1, 2, 4
        write(d / f"{sid}_seg.nii.gz", seg, dtype=np.uint8)
    res = import_cohort("brats", tmp_path / "src", tmp_path / "out", ratios=(1, 0, 0))
    cohort = validate_cohort(res.manifest).cohort
    assert [s.site for s in cohort.subjects] == ["HGG", "LGG"]
    assert all(s.label == 1 and s.images[0].name.endswith("_flair.nii.gz") for s in cohort.subjects)
    assert read_volume(cohort.subjects[0].mask)[0].sum() == 3
    assert cohort.subjects[0].images[0].is_relative_to(tmp_path / "src")  # no copies


def test_ixi_site_from_name_and_copy_mode(tmp_path, tiny):
    for sid, site in (("IXI002", "Guys"), ("IXI012", "HH"), ("IXI013", "IOP")):
        write(tmp_path / "src" / f"{sid}-{site}-0828-T1.nii.gz", tiny())
    res = import_cohort("ixi", tmp_path / "src", tmp_path / "out", files="copy")
    cohort = read_manifest(res.manifest)
    assert {s.subject_id: s.site for s in cohort.subjects} == {
        "IXI002": "Guys", "IXI012": "HH", "IXI013": "IOP"}  # fmt: skip
    assert all(s.images[0].is_relative_to((tmp_path / "out").resolve()) for s in cohort.subjects)


def test_msseg_consensus_and_bids_labels(tmp_path, tiny):
    pat = tmp_path / "ms" / "Center_01" / "Patient_01"
    write(pat / "Preprocessed_Data" / "FLAIR_preprocessed.nii.gz", tiny())
    write(pat / "Preprocessed_Data" / "T1_preprocessed.nii.gz", tiny())
    write(pat / "Masks" / "Consensus.nii.gz", tiny() > 0.5, dtype=np.uint8)
    res = import_cohort("msseg", tmp_path / "ms", tmp_path / "o1")
    (s,) = read_manifest(res.manifest).subjects
    assert s.site == "Center_01" and s.mask is not None and len(s.images) == 2

    bids = tmp_path / "bids"
    (bids).mkdir()
    (bids / "participants.tsv").write_text("participant_id\tgroup\nsub-01\tcontrol\nsub-02\tms\n")
    write(bids / "sub-01" / "anat" / "sub-01_T1w.nii.gz", tiny())
    write(bids / "sub-02" / "ses-1" / "anat" / "sub-02_ses-1_T1w.nii.gz", tiny())
    res = import_cohort("bids", bids, tmp_path / "o2", label_column="group",
                        label_map={"control": 0, "ms": 1})  # fmt: skip
    assert {s.subject_id: s.label for s in read_manifest(res.manifest).subjects} == {
        "sub-01": 0, "sub-02_ses-1": 1}  # fmt: skip
    with pytest.raises(ValueError, match="label-map"):
        import_cohort("bids", bids, tmp_path / "o3", label_column="group")


def test_tiny_source_warns_about_empty_splits(tmp_path, tiny):
    write(tmp_path / "src" / "healthy" / "h.nii.gz", tiny())
    write(tmp_path / "src" / "pathological" / "p.nii.gz", tiny())
    with pytest.warns(UserWarning, match="split 'val' is empty"):
        res = import_cohort("folder", tmp_path / "src", tmp_path / "out")
    assert {s.split for s in res.subjects} == {"train"}
    with pytest.raises(ValueError, match="Did you mean"):
        import_cohort("bratz", tmp_path / "src", tmp_path / "o")


def test_split_is_stratified_and_deterministic():
    ids = [f"s{i:02d}" for i in range(20)]
    labels = [i % 2 for i in range(20)]
    a = stratified_split(ids, labels, (0.6, 0.2, 0.2), seed=3)
    assert a == stratified_split(ids[::-1], labels[::-1], (0.6, 0.2, 0.2), seed=3)
    for label in (0, 1):
        splits = [a[i] for i, lb in zip(ids, labels, strict=True) if lb == label]
        assert (splits.count("train"), splits.count("val"), splits.count("test")) == (6, 2, 2)
    assert a != stratified_split(ids, labels, (0.6, 0.2, 0.2), seed=4)
