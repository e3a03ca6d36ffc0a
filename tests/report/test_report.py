"""End-to-end report on a tiny evaluated study, input matching and refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lesionlens.cohort import read_manifest
from lesionlens.errors import LesionLensInputError
from lesionlens.report import external_references, report, resolve_inputs
from lesionlens.report.build import cohort_summary, pick_subjects


@pytest.fixture(scope="module")
def built(study, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "out"
    return report([study["run"], study["good"], study["random"]], out, max_subjects=2)


def _cells(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [re.findall(r"<t[dh]>(.*?)</t[dh]>", r, re.S) for r in rows]


def test_comparison_table_shows_the_evaluated_metrics(study, built):
    html = built.read_text()
    rows = _cells(html, "comparison-table")[1:]
    assert [r[0] for r in rows] == ["run_unsup (g) (ref.)", "random"]
    for row, name in zip(rows, ("good", "random"), strict=True):
        m = json.loads((study[name] / "metrics.json").read_text())
        assert row[1].startswith(f"{m['dice_mean']:.2f} ± {m['dice_std']:.2f}")
        assert row[4] == f"{m['auprc']:.2f}"
    assert float(rows[0][1].split(" ")[0]) > 0.8 > float(rows[1][1].split(" ")[0])
    assert "correlation-table" in html  # two maps of one cohort: Eq. 5.12 matrix


def test_cohort_table_counts_subjects_per_split(built):
    rows = _cells(built.read_text(), "cohort-table")
    assert rows[0] == ["split", "site", "healthy", "pathological", "with lesion mask"]
    assert rows[1:] == [["val", "–", "2", "2", "4"], ["test", "–", "3", "3", "6"]]


def test_page_is_self_contained(built):
    html = built.read_text()
    assert external_references(html) == []
    assert html.count("data:image/png;base64,") >= 5  # curves, dice, histograms, 2 montages
    viewers = sorted((built.parent / "viewers").iterdir())
    assert len(viewers) == 4  # 2 subjects × 2 maps folders
    for v in viewers:
        assert f'src="viewers/{v.name}"' in html
        assert external_references(v.read_text()) == []


def test_montage_subjects_are_half_patients(study):
    subjects = read_manifest(study["manifest"]).split("test")
    chosen = pick_subjects(subjects, 4)
    assert [s.label for s in chosen] == [0, 0, 1, 1]  # manifest order: healthy rows first
    assert len(pick_subjects(subjects, 50)) == len(subjects)
    assert [s.label for s in pick_subjects(subjects, 1)] == [1]
    with pytest.raises(ValueError, match="max_subjects"):
        pick_subjects(subjects, -1)


def test_cohort_summary_splits_sites(tiny_cohort):
    table = cohort_summary(read_manifest(tiny_cohort))
    assert table.to_dict(orient="records") == [
        {"split": "train", "site": "site0", "healthy": 2, "pathological": 0, "with lesion mask": 2},
        {"split": "train", "site": "site1", "healthy": 0, "pathological": 1, "with lesion mask": 1},
        {"split": "val", "site": "site0", "healthy": 1, "pathological": 0, "with lesion mask": 1},
        {"split": "val", "site": "site1", "healthy": 0, "pathological": 1, "with lesion mask": 1},
        {"split": "test", "site": "site1", "healthy": 0, "pathological": 1, "with lesion mask": 1},
    ]


def test_maps_are_matched_to_their_run(study):
    found = resolve_inputs([study["random"], study["good"], study["run"]])
    good = next(m for m in found.maps if m.path == study["good"].resolve())
    random = next(m for m in found.maps if m.path == study["random"].resolve())
    assert good.run is found.runs[0] and good.label == "run_unsup (g)"
    assert random.run is None and random.label == "random"


def test_run_less_maps_with_a_generic_name_keep_their_parent(study, tmp_path):
    import shutil

    floor = tmp_path / "intensity-threshold" / "maps-test"
    shutil.copytree(study["random"], floor)
    found = resolve_inputs([floor, study["random"]])
    assert [m.label for m in found.maps] == ["intensity-threshold/maps-test", "random"]


def test_maps_saved_inside_a_run_are_found(study, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text((study["run"] / "config.yaml").read_text())
    (run / "explain" / "maps").mkdir(parents=True)
    found = resolve_inputs([run])
    assert [m.path for m in found.maps] == [(run / "explain").resolve()]
    assert found.maps[0].run is found.runs[0]


def test_refusals(study, tmp_path, built):
    with pytest.raises(LesionLensInputError, match="neither a run folder"):
        report([tmp_path], tmp_path / "out")
    with pytest.raises(LesionLensInputError, match="output exists"):
        report([study["good"]], built.parent)
    other = tmp_path / "other"
    other.mkdir()
    (other / "maps").mkdir()
    (other / "explain.yaml").write_text(f"cohort: {tmp_path}/elsewhere.csv\nsplit: test\n")
    with pytest.raises(LesionLensInputError, match="several cohorts"):
        report([study["good"], other], tmp_path / "out")
