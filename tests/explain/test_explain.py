"""explain: maps on each subject's own grid and affine, predictions.csv per the contract."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from lesionlens.cli import app
from lesionlens.explain import explain
from lesionlens.training import TrainConfig, train
from tests.conftest import make_cube_cohort

FAST = dict(width=8, batch_size=4, p_intensity=0.0, p_flip=0.0, min_epochs=1, max_epochs=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("explain")
    cohort = make_cube_cohort(root / "cohort")
    run = train(cohort, root / "run", TrainConfig(**FAST), progress=False)
    return cohort, run


@pytest.mark.parametrize("attribution", ["g", "ig", "eg", "ieg", "gradcam", "occlusion"])
def test_maps_follow_the_contract(trained, tmp_path: Path, attribution: str) -> None:
    cohort, run = trained
    out = explain(run, cohort, tmp_path / "maps", split="test", attribution=attribution)
    pred = pd.read_csv(out / "predictions.csv")
    assert list(pred.columns) == ["subject_id", "label", "logit", "prob", "pred"]
    assert len(pred) == 2
    np.testing.assert_allclose(pred["prob"], 1 / (1 + np.exp(-pred["logit"])), rtol=1e-4)
    assert (pred["pred"] == (pred["logit"] > 0)).all()
    for sid in pred["subject_id"]:
        m = nib.load(out / "maps" / f"{sid}.nii.gz")
        img = nib.load(cohort / "img" / f"{sid}.nii.gz")
        assert m.shape == img.shape and np.allclose(m.affine, img.affine)
        assert m.get_data_dtype() == np.float32
        assert np.isfinite(m.get_fdata()).all()


def test_2d_model_is_run_slice_by_slice(tmp_path: Path) -> None:
    cohort = make_cube_cohort(tmp_path / "cohort")
    run = train(cohort, tmp_path / "run", TrainConfig(dim=2, **FAST), progress=False)
    out = explain(run, cohort, tmp_path / "maps", split="test")
    sid = pd.read_csv(out / "predictions.csv")["subject_id"][0]
    assert nib.load(out / "maps" / f"{sid}.nii.gz").shape == (12, 14, 10)


def test_existing_output_refused_and_cli_exit_2(trained, tmp_path: Path) -> None:
    cohort, run = trained
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "keep.txt").write_text("x")
    res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "maps")])
    assert res.exit_code == 2 and "output exists" in res.stderr
    assert (tmp_path / "maps" / "keep.txt").exists()
    res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "m2"),
                                   "--attribution", "grad"])
    assert res.exit_code == 2 and "did you mean" in res.stderr.lower()
    assert not (tmp_path / "m2").exists()


def test_supervised_unet_maps_are_its_segmentation(tmp_path: Path) -> None:
    cohort = make_cube_cohort(tmp_path / "cohort", n=8, shape=(30, 30, 30))
    run = train(cohort, tmp_path / "run", TrainConfig(method="supervised-unet", **FAST),
                progress=False)
    out = explain(run, cohort, tmp_path / "maps", split="test")
    pred = pd.read_csv(out / "predictions.csv")
    m = nib.load(out / "maps" / f"{pred['subject_id'][0]}.nii.gz")
    assert m.shape == (30, 30, 30)


def test_intensity_floor_maps_are_the_standardised_image(tmp_path: Path) -> None:
    from lesionlens.data import standardise
    from lesionlens.explain import intensity_maps

    cohort = make_cube_cohort(tmp_path / "cohort")
    out = intensity_maps(cohort, tmp_path / "maps", split="test")
    sid = pd.read_csv(out / "predictions.csv")["subject_id"][0]
    img = np.asarray(nib.load(cohort / "img" / f"{sid}.nii.gz").dataobj, np.float32)[None]
    np.testing.assert_allclose(nib.load(out / "maps" / f"{sid}.nii.gz").get_fdata(),
                               standardise(img)[0][0], rtol=1e-6)


def test_bf16_precision_maps_match_fp32_and_are_recorded(trained, tmp_path: Path) -> None:
    import yaml

    cohort, run = trained
    full = explain(run, cohort, tmp_path / "fp32", split="test")
    res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "bf16"),
                                   "--precision", "bf16"])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load((tmp_path / "bf16" / "explain.yaml").read_text())["precision"] == "bf16"
    assert yaml.safe_load((full / "explain.yaml").read_text())["precision"] == "fp32"
    pd.testing.assert_frame_equal(  # subject decisions stay float32
        pd.read_csv(full / "predictions.csv"), pd.read_csv(tmp_path / "bf16" / "predictions.csv")
    )
    for sid in pd.read_csv(full / "predictions.csv")["subject_id"]:
        a = nib.load(full / "maps" / f"{sid}.nii.gz").get_fdata().ravel()
        b = nib.load(tmp_path / "bf16" / "maps" / f"{sid}.nii.gz")
        assert b.get_data_dtype() == np.float32
        assert np.corrcoef(a, b.get_fdata().ravel())[0, 1] > 0.98


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--precision", "fp16"], "fp32, bf16"),
     (["--precision", "bf16", "--attribution", "counterfactual"], "counterfactual")],
)
def test_bad_precision_refused_before_any_work(trained, tmp_path: Path, args, message) -> None:
    cohort, run = trained
    res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "m"), *args])
    assert res.exit_code == 2 and message in res.stderr
    assert not (tmp_path / "m").exists()


def test_2_5d_model_sees_neighbour_slices_and_maps_its_centre_slice(tmp_path: Path) -> None:
    from lesionlens.attributions import attribution_map
    from lesionlens.data import context_stack, crop_or_pad, standardise, undo_crop_or_pad
    from lesionlens.io import read_image
    from lesionlens.training import load_run

    cohort = make_cube_cohort(tmp_path / "cohort")
    run = train(cohort, tmp_path / "run", TrainConfig(dim=2, slice_context=1, **FAST),
                progress=False)
    cfg, model = load_run(run)
    assert cfg.slice_context == 1 and cfg.model_in_channels == 3
    out = explain(run, cohort, tmp_path / "maps", split="test")
    sid = pd.read_csv(out / "predictions.csv")["subject_id"][0]
    amap = nib.load(out / "maps" / f"{sid}.nii.gz").get_fdata()
    assert amap.shape == (12, 14, 10)
    image, _ = standardise(read_image([cohort / "img" / f"{sid}.nii.gz"])[0])
    for z in (0, 4, 9):  # both edges (repeated slices) and the middle
        x = torch.from_numpy(crop_or_pad(context_stack(image, z, 1), tuple(cfg.shape), 0.0))
        grad = attribution_map(model, x[None], method="g")[0]  # (3, *shape): below, centre, above
        assert grad[0].abs().sum() > 0 and grad[2].abs().sum() > 0  # the neighbours are read
        expected = undo_crop_or_pad(grad[1:2].detach().numpy(), (1, 12, 14))[0]
        np.testing.assert_allclose(amap[..., z], expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--slice-context", "1"], "needs --dim 2"),
     (["--slice-context", "1", "--dim", "2", "--method", "sup"], "centre slice only")],
)
def test_slice_context_refusals_exit_2(tmp_path: Path, options, message) -> None:
    cohort = make_cube_cohort(tmp_path / "cohort")
    res = CliRunner().invoke(app, ["train", str(cohort), str(tmp_path / "run"), *options])
    assert res.exit_code == 2 and message in res.stderr
    assert not (tmp_path / "run").exists()


def test_dark_intensity_floor_is_the_negated_image(tmp_path: Path) -> None:
    """Hypointense lesions (T1): the floor thresholds −z, and scores subjects on −z too."""
    from lesionlens.data import standardise
    from lesionlens.explain import intensity_maps

    cohort = make_cube_cohort(tmp_path / "cube")
    bright = intensity_maps(cohort, tmp_path / "bright", split="test")
    dark = intensity_maps(cohort, tmp_path / "dark", split="test", polarity="dark")
    for sid in pd.read_csv(bright / "predictions.csv")["subject_id"]:
        np.testing.assert_array_equal(nib.load(dark / "maps" / f"{sid}.nii.gz").get_fdata(),
                                      -nib.load(bright / "maps" / f"{sid}.nii.gz").get_fdata())
    img = np.asarray(nib.load(cohort / "img" / f"{sid}.nii.gz").dataobj, np.float32)[None]
    z, brain = standardise(img)
    score = pd.read_csv(dark / "predictions.csv").set_index("subject_id").loc[sid]
    assert score["logit"] == pytest.approx(np.percentile(-z[0][brain], 99.9), rel=1e-5)
    with pytest.raises(ValueError, match="polarity"):
        intensity_maps(cohort, tmp_path / "x", polarity="grey")
