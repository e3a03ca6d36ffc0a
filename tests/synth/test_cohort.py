"""``synth`` end to end: files, reproducibility, manifest, cohort.json, sites, CLI."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lesionlens.cli import app
from lesionlens.cohort import read_manifest, validate_cohort
from lesionlens.io import read_volume
from lesionlens.synth import SubjectParams, SynthConfig, load_anatomy, sample_cohort, synth


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kw = dict(kind="ms", n=6, voxel=8, contrast="both")
    a = _files(synth(tmp_path / "a", seed=7, **kw))
    b = _files(synth(tmp_path / "b", seed=7, **kw, jobs=2))
    c = _files(synth(tmp_path / "c", seed=8, **kw))
    assert a == b
    assert a.keys() == c.keys()
    assert a["images/sub-0000_flair.nii.gz"] != c["images/sub-0000_flair.nii.gz"]


def test_manifest_validates_with_balanced_classes_in_every_split(tmp_path):
    out = synth(tmp_path / "c", kind="tumour", n=10, voxel=8, seed=0, contrast="both")
    report = validate_cohort(out)
    assert report.warnings == []
    subjects = report.cohort.subjects
    assert sum(s.label for s in subjects) == 5
    for split in ("train", "val", "test"):
        assert {s.label for s in report.cohort.split(split)} == {0, 1}
    assert all(s.site == "site0" and s.mask is not None for s in subjects)
    assert [p.name for p in subjects[0].images] == ["sub-0000_flair.nii.gz", "sub-0000_t1.nii.gz"]
    for s in subjects:
        mask, _ = read_volume(s.mask)
        image, _ = read_volume(s.images[0])
        assert mask.any() == bool(s.label)
        assert (image[mask > 0] > 0).all()


def test_cohort_json_records_config_and_subject_parameters(tmp_path):
    out = synth(tmp_path / "c", kind="ms", n=6, voxel=8, seed=3, sites=2, atrophy=0.3)
    record = json.loads((out / "cohort.json").read_text())
    config = SynthConfig(**{**record["config"], "ratios": tuple(record["config"]["ratios"])})
    assert config == SynthConfig(kind="ms", n=6, voxel=8, seed=3, sites=2, atrophy=0.3)
    assert record["grid"]["shape"] == [23, 27, 23]
    subjects = [SubjectParams.from_dict(d) for d in record["subjects"]]
    anatomy = load_anatomy(8)
    assert subjects == sample_cohort(config, anatomy)[1]  # cohort.json replays the sampling
    manifest = {s.subject_id: s for s in read_manifest(out).subjects}
    for params in subjects:
        assert manifest[params.subject_id].label == params.label
        assert manifest[params.subject_id].site == params.site.name
        if params.label:
            assert 5 <= len(params.lesions) <= 25
            assert all(len(les.centre_mm) == 3 and les.radius_mm > 0 for les in params.lesions)


def test_separate_sites_and_swapped_test_sites(tmp_path):
    out = synth(
        tmp_path / "c", kind="ms", n=20, voxel=8, seed=1, sites=2, site_mode="separate",
        swap_test_sites=True,
    )  # fmt: skip
    sites = {}
    for s in read_manifest(out).subjects:
        sites.setdefault((s.split, s.label), set()).add(s.site)
    for split in ("train", "val"):
        assert sites[(split, 0)] == {"site0"} and sites[(split, 1)] == {"site1"}
    assert sites[("test", 0)] == {"site1"} and sites[("test", 1)] == {"site0"}
    record = json.loads((out / "cohort.json").read_text())
    signatures = {s["name"]: s for s in record["sites"]}
    for d in record["subjects"]:
        assert d["noise"] == pytest.approx(signatures[d["site"]["name"]]["noise"], rel=0.11)


def test_existing_output_refused_and_bad_options_rejected(tmp_path):
    out = synth(tmp_path / "c", kind="ms", n=6, voxel=8, seed=0)
    with pytest.raises(ValueError, match="overwrite"):
        synth(out, kind="ms", n=6, voxel=8, seed=0)
    synth(out, kind="ms", n=6, voxel=8, seed=0, overwrite=True)
    with pytest.raises(ValueError, match="voxel"):
        synth(tmp_path / "d", kind="ms", n=6, voxel=3, seed=0)
    with pytest.raises(ValueError, match="separate"):
        synth(tmp_path / "d", kind="ms", n=6, voxel=8, seed=0, swap_test_sites=True)
    assert not (tmp_path / "d").exists()


def test_cli_writes_cohort_and_preview(tmp_path):
    runner = CliRunner()
    args = ["synth", str(tmp_path / "c"), "--kind", "tumour", "--n", "6", "--voxel", "8"]
    result = runner.invoke(app, [*args, "--seed", "2", "--contrast", "t1", "--preview"])
    assert result.exit_code == 0, result.output
    png = (tmp_path / "c" / "preview.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(read_manifest(tmp_path / "c").subjects) == 6
    bad = runner.invoke(app, [*args, "--seed", "2", "--contrast", "t2"])
    assert bad.exit_code == 2
    assert "contrast" in bad.output


def test_perf_suite_registered():
    from lesionlens.bench import PERF, load_suites

    load_suites()
    assert "synth" in PERF
