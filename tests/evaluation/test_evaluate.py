"""``evaluate`` end to end on a tiny synthetic cohort, and its refusals."""

from __future__ import annotations

import csv
import json
import math

import nibabel as nib
import numpy as np
import pytest

from lesionlens.evaluation import evaluate

from .conftest import AFFINE, SHAPE, write_maps

CONTRACT_KEYS = {
    "threshold", "threshold_rule", "dice_mean", "dice_std", "dice_per_subject", "auroc",
    "auroc10", "auprc", "tpr", "tnr", "balanced_accuracy", "n_subjects",
}  # fmt: skip


def _maps(synthetic, tmp_path, kind, **kw):
    root, _ = synthetic
    test = write_maps(root, tmp_path / f"{kind}-test", "test", kind, seed=1, **kw)
    val = write_maps(root, tmp_path / f"{kind}-val", "val", kind, seed=2, **kw)
    return test, val


def test_good_maps_score_high_and_write_contract_files(synthetic, tmp_path):
    root, manifest = synthetic
    test, val = _maps(synthetic, tmp_path, "good")
    m = evaluate(test, manifest, val_maps=val, threshold="val-f1")
    assert CONTRACT_KEYS <= set(m)
    assert m["dice_mean"] > 0.8 and m["auroc"] > 0.95 and m["auprc"] > 0.8
    assert m["tpr"] == m["tnr"] == m["balanced_accuracy"] == 1.0
    assert m["n_subjects"] == 6 and m["n_dice_subjects"] == 3
    assert set(m["dice_per_subject"]) == {"test3", "test4", "test5"}
    assert 0 < m["hd95_mean"] < 20 and m["threshold_rule"] == "val-f1"
    assert m["threshold_optimistic"] is False
    on_disk = json.loads((test / "metrics.json").read_text())
    assert on_disk["dice_mean"] == pytest.approx(m["dice_mean"])
    with open(test / "per_subject.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["subject_id"] for r in rows] == [f"test{i}" for i in range(6)]
    assert rows[0]["dice"] == "" and float(rows[3]["dice"]) > 0.5
    with open(test / "dice_vs_threshold.csv") as fh:
        curve = list(csv.DictReader(fh))
    chosen = [r for r in curve if float(r["threshold"]) == pytest.approx(m["threshold"])]
    assert float(chosen[0]["dice_mean"]) == pytest.approx(m["dice_mean"])


def test_random_maps_score_low(synthetic, tmp_path):
    _, manifest = synthetic
    test, val = _maps(synthetic, tmp_path, "random")
    m = evaluate(test, manifest, val_maps=val, threshold="healthy-fpr:0.01", hd95=False)
    assert m["dice_mean"] < 0.3 and abs(m["auroc"] - 0.5) < 0.1
    assert math.isnan(m["hd95_mean"])
    assert m["healthy_predicted_fraction"] < 0.05


def test_label_free_best_and_fixed_rules(synthetic, tmp_path):
    _, manifest = synthetic
    test, val = _maps(synthetic, tmp_path, "good")
    fpr = evaluate(test, manifest, val_maps=val, threshold="healthy-fpr:0.01")
    best = evaluate(test, manifest, threshold="best", overwrite=True)
    fixed = evaluate(test, manifest, threshold=0.5, overwrite=True)
    assert best["threshold_optimistic"] is True
    assert best["dice_mean"] >= max(fpr["dice_mean"], fixed["dice_mean"]) - 1e-12
    assert fpr["dice_mean"] > 0.6 and fixed["threshold"] == 0.5


def test_multichannel_maps_pick_the_good_channel(synthetic, tmp_path):
    _, manifest = synthetic
    test, val = _maps(synthetic, tmp_path, "good", channels=3)
    m = evaluate(test, manifest, val_maps=val)
    assert m["channel"] == 1 and m["dice_mean"] > 0.8
    forced = evaluate(test, manifest, val_maps=val, channel=0, overwrite=True)
    assert forced["channel"] == 0 and forced["dice_mean"] < 0.3


def test_refusals_name_subject_and_file(synthetic, tmp_path):
    _, manifest = synthetic
    test, val = _maps(synthetic, tmp_path, "good")
    with pytest.raises(ValueError, match="val_maps"):
        evaluate(test, manifest, threshold="val-f1")
    evaluate(test, manifest, threshold="best")
    with pytest.raises(ValueError, match="exists"):
        evaluate(test, manifest, threshold="best")
    (test / "metrics.json").unlink()
    (test / "maps" / "test2.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"subject test2: map file .*test2\.nii\.gz not found"):
        evaluate(test, manifest, threshold="best")
    nib.save(
        nib.Nifti1Image(np.zeros((8, 8, 8), np.float32), AFFINE),
        str(test / "maps" / "test2.nii.gz"),
    )
    with pytest.raises(ValueError, match=r"subject test2: map file .*shape \(8, 8, 8\)"):
        evaluate(test, manifest, threshold="best")
    moved = AFFINE.copy()
    moved[0, 3] = 10
    nib.save(
        nib.Nifti1Image(np.zeros(SHAPE, np.float32), moved), str(test / "maps" / "test2.nii.gz")
    )
    with pytest.raises(ValueError, match="subject test2: .*affine"):
        evaluate(test, manifest, threshold="best")
    with pytest.raises(ValueError, match="no 'maps/' folder"):
        evaluate(tmp_path, manifest, threshold="best")


def _shift_logits(maps_dir, shift: float) -> None:
    """Every logit + ``shift`` (a model whose subject logits are biased upwards); pred stays
    ``logit > 0`` as explain writes it."""
    path = maps_dir / "predictions.csv"
    rows = list(csv.DictReader(path.open()))
    lines = ["subject_id,label,logit,prob,pred"]
    for r in rows:
        logit = float(r["logit"]) + shift
        lines.append(f"{r['subject_id']},{r['label']},{logit},{1 / (1 + math.exp(-logit))},"
                     f"{int(logit > 0)}")
    path.write_text("\n".join(lines) + "\n")


def test_subject_threshold_calibrated_on_val_predictions(synthetic, tmp_path):
    _, manifest = synthetic
    test, val = _maps(synthetic, tmp_path, "good")
    for folder in (test, val):
        _shift_logits(folder, 3.0)  # healthy +1, patients +5: all called pathological at 0
    zero = evaluate(test, manifest, val_maps=val, hd95=False)
    assert (zero["tpr"], zero["tnr"], zero["subject_threshold_rule"]) == (1.0, 0.0, "zero")
    assert zero["subject_threshold"] == 0.0
    calibrated = evaluate(
        test, manifest, val_maps=val, hd95=False, subject_threshold="val-bacc", overwrite=True
    )
    assert calibrated["subject_threshold"] == pytest.approx(3.0)  # midpoint of 1 and 5
    assert calibrated["tpr"] == calibrated["tnr"] == 1.0
    assert calibrated["dice_mean"] == pytest.approx(zero["dice_mean"])  # maps untouched
    with open(test / "per_subject.csv") as fh:
        assert [int(float(r["pred"])) for r in csv.DictReader(fh)] == [0, 0, 0, 1, 1, 1]
    (test / "predictions.csv").unlink()  # maps without a classifier: nothing to calibrate
    bare = evaluate(test, manifest, val_maps=val, hd95=False, subject_threshold="val-bacc",
                    overwrite=True)  # fmt: skip
    assert math.isnan(bare["subject_threshold"]) and math.isnan(bare["tpr"])
    with pytest.raises(ValueError, match="val-bacc.*--val-maps"):
        evaluate(test, manifest, threshold="best", subject_threshold="val-bacc", overwrite=True)
    with pytest.raises(ValueError, match="zero, val-bacc"):
        evaluate(test, manifest, val_maps=val, subject_threshold="youden", overwrite=True)


def test_tpr_by_lesion_volume_bins_patients_by_millilitres(synthetic, tmp_path):
    from lesionlens.evaluation.evaluate import tpr_by_lesion_volume

    rows = [
        {"lesion_ml": 1.1, "pred": 0.0}, {"lesion_ml": 2.9, "pred": 1.0},
        {"lesion_ml": 3.0, "pred": 1.0}, {"lesion_ml": 64.0, "pred": 1.0},
        {"lesion_ml": 5.0, "pred": None},  # no decision: not counted
        {"label": 0, "pred": 1.0},  # healthy: not counted
    ]  # fmt: skip
    bins = tpr_by_lesion_volume(rows)
    assert [(b["low_ml"], b["high_ml"], b["n"], b["detected"]) for b in bins] == [
        (0.0, 3.0, 2, 1), (3.0, 10.0, 1, 1), (10.0, 30.0, 0, 0), (30.0, None, 1, 1)
    ]  # fmt: skip
    assert bins[0]["tpr"] == 0.5 and math.isnan(bins[2]["tpr"])
    _, manifest = synthetic
    test, val = _maps(synthetic, tmp_path, "good")
    m = evaluate(test, manifest, val_maps=val, hd95=False)
    with open(test / "per_subject.csv") as fh:
        per = [r for r in csv.DictReader(fh) if r["lesion_ml"]]
    voxel_ml = abs(np.linalg.det(AFFINE[:3, :3])) / 1000
    assert [float(r["lesion_ml"]) for r in per] == pytest.approx(
        [int(r["lesion_voxels"]) * voxel_ml for r in per]
    )
    assert sum(b["n"] for b in m["tpr_by_lesion_volume"]) == m["n_dice_subjects"] == 3
    assert sum(b["detected"] for b in m["tpr_by_lesion_volume"]) == 3  # m["tpr"] is 1.0
