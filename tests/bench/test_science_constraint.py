"""The ch. 5 science suite runs end to end (tiny settings) and scores both test modes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from lesionlens.bench.science_constraint import FULL_METHODS, METHODS_2D, run_constraint_table


def test_constraint_table_rows(tmp_path: Path) -> None:
    methods = {"unsup-g": FULL_METHODS["unsup-g"]}
    rows = run_constraint_table(tmp_path, quick=True, training={"max_epochs": 1}, methods=methods)
    assert [(r["method"], r["test"]) for r in rows] == [
        (m, t) for m in ("intensity-threshold", *methods) for t in ("same-site", "swapped")
    ]
    for r in rows:
        assert 0.0 <= r["dice"] <= 1.0 and 0.0 <= r["auroc"] <= 1.0 and 0.0 <= r["bacc"] <= 1.0
    floor = rows[0]
    assert floor["dice"] > 0.1, "the intensity floor finds bright tumours on FLAIR phantoms"


def test_constraint_table_2d_setting(tmp_path: Path) -> None:
    """The 2-D recipe: slice models with the augmentation, the scale-free unsup, calibrated cut."""
    methods = {"unsup-g": METHODS_2D["unsup-g"]}
    assert methods["unsup-g"]["method_options"] == {"scale_free": True}
    rows = run_constraint_table(tmp_path, quick=True, setting="2d", training={"max_epochs": 1},
                                methods=methods)
    assert [(r["method"], r["test"]) for r in rows][2:] == [
        ("unsup-g", "same-site"), ("unsup-g", "swapped")
    ]
    for r in rows[2:]:
        assert 0.0 <= r["dice"] <= 1.0 and 0.0 <= r["subject_auc"] <= 1.0
    config = yaml.safe_load((tmp_path / "runs" / "unsup-g" / "config.yaml").read_text())
    assert (config["dim"], config["slices"], config["p_noise"], config["alpha"]) == (
        2, "brain", 0.5, 1.0
    )
    metrics = json.loads((tmp_path / "unsup-g" / "same" / "metrics.json").read_text())
    assert metrics["subject_threshold_rule"] == "val-bacc"


def test_diverged_run_is_a_row_not_a_crash(tmp_path: Path, monkeypatch) -> None:
    import lesionlens.training as training

    def diverge(*args, **kwargs):
        raise FloatingPointError("non-finite training loss (nan) at epoch 0; lower --alpha")

    monkeypatch.setattr(training, "train", diverge)
    rows = run_constraint_table(tmp_path, quick=True, methods={"ross": FULL_METHODS["ross"]})
    assert [(r["method"], r["test"]) for r in rows][2:] == [
        ("ross", "same-site"), ("ross", "swapped")
    ]
    assert all(math.isnan(r["dice"]) and "non-finite" in r["error"] for r in rows[2:])


def test_cohort_variants_reach_the_table(monkeypatch) -> None:
    """constraint-2d-t1 / -ms hand their cohort to the table; quick mode keeps the 8 mm grid."""
    import lesionlens.bench.science_constraint as sc
    from lesionlens.bench import SCIENCE, load_suites

    load_suites()
    seen: dict[str, dict] = {}

    def record(root, *, quick, device, setting, cohort):
        seen["args"] = dict(quick=quick, setting=setting, cohort=cohort)
        return []

    monkeypatch.setattr(sc, "run_constraint_table", record)
    SCIENCE.get("constraint-2d-ms")("cpu", False)
    assert seen["args"]["setting"] == "2d"
    assert {k: seen["args"]["cohort"][k] for k in ("kind", "voxel", "n", "site_mode")} == {
        "kind": "ms", "voxel": 2, "n": 80, "site_mode": "separate"}
    SCIENCE.get("constraint-2d-ms")("cpu", True)
    assert (seen["args"]["cohort"]["kind"], seen["args"]["cohort"]["voxel"]) == ("ms", 8)
    SCIENCE.get("constraint-2d-t1")("cpu", False)
    assert (seen["args"]["cohort"]["contrast"], seen["args"]["cohort"]["voxel"]) == ("t1", 4)
    SCIENCE.get("constraint-2d")("cpu", False)
    assert seen["args"]["cohort"] == sc.cohort_options(False)
