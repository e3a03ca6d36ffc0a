"""Map post-processing: positive part and Gaussian smoothing in mm (lesionlens.map_filters)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.ndimage import gaussian_filter
from typer.testing import CliRunner

from lesionlens.cli import app
from lesionlens.errors import LesionLensInputError
from lesionlens.explain import explain
from lesionlens.map_filters import FWHM_PER_SIGMA, filter_map
from lesionlens.training import TrainConfig, train
from tests.conftest import make_cube_cohort


def test_fwhm_in_mm_becomes_sigma_in_voxels_per_axis() -> None:
    rng = np.random.default_rng(0)
    amap = rng.normal(size=(9, 10, 11)).astype(np.float32)
    out = filter_map(amap, (1.0, 2.0, 4.0), smooth_fwhm_mm=8.0)
    sigma = [8.0 / FWHM_PER_SIGMA / s for s in (1.0, 2.0, 4.0)]
    np.testing.assert_allclose(out, gaussian_filter(amap, sigma, mode="nearest"), rtol=1e-5)
    assert FWHM_PER_SIGMA == pytest.approx(2.3548, abs=1e-4)


def test_a_point_spreads_to_the_requested_fwhm() -> None:
    amap = np.zeros((41, 41, 41), np.float32)
    amap[20, 20, 20] = 1.0
    out = filter_map(amap, (2.0, 2.0, 2.0), smooth_fwhm_mm=12.0)  # FWHM 6 voxels
    profile = out[:, 20, 20] / out[20, 20, 20]
    above_half = np.flatnonzero(profile >= 0.5)
    assert above_half.size in (5, 6, 7)  # 6 voxels wide at half maximum, sampled on the grid
    assert out.sum() == pytest.approx(1.0, rel=1e-4)  # mass kept


def test_positive_part_then_channels_smoothed_separately() -> None:
    rng = np.random.default_rng(1)
    amap = rng.normal(size=(8, 8, 8, 3)).astype(np.float32)
    assert (filter_map(amap, (1, 1, 1), positive=True) == np.maximum(amap, 0)).all()
    out = filter_map(amap, (1, 1, 1), smooth_fwhm_mm=3.0, positive=True)
    for k in range(3):
        np.testing.assert_allclose(
            out[..., k], filter_map(np.maximum(amap[..., k], 0), (1, 1, 1), smooth_fwhm_mm=3.0),
            rtol=1e-6,
        )
    assert (out >= 0).all()
    np.testing.assert_array_equal(filter_map(amap, (1, 1, 1)), amap)  # defaults: untouched


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_fwhm_refused(bad: float) -> None:
    with pytest.raises(LesionLensInputError, match="--smooth-mm"):
        filter_map(np.zeros((2, 2, 2)), (1, 1, 1), smooth_fwhm_mm=bad)


def test_explain_filters_and_records_them(tmp_path: Path) -> None:
    cohort = make_cube_cohort(tmp_path / "cohort")
    fast = dict(width=8, batch_size=4, p_intensity=0.0, p_flip=0.0, min_epochs=1, max_epochs=1)
    run = train(cohort, tmp_path / "run", TrainConfig(**fast), progress=False)
    raw = explain(run, cohort, tmp_path / "raw")
    res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "smooth"),
                                   "--smooth-mm", "6", "--positive"])
    assert res.exit_code == 0, res.output
    sid = pd.read_csv(raw / "predictions.csv")["subject_id"][0]
    img = nib.load(raw / "maps" / f"{sid}.nii.gz")
    got = nib.load(tmp_path / "smooth" / "maps" / f"{sid}.nii.gz")
    spacing = np.linalg.norm(img.affine[:3, :3], axis=0)
    want = filter_map(img.get_fdata(), spacing, smooth_fwhm_mm=6.0, positive=True)
    np.testing.assert_allclose(got.get_fdata(), want, rtol=1e-5, atol=1e-9)
    assert np.allclose(got.affine, img.affine)
    recorded = yaml.safe_load((tmp_path / "smooth" / "explain.yaml").read_text())
    assert recorded["smooth_fwhm_mm"] == 6.0 and recorded["positive_part"] is True
    assert yaml.safe_load((raw / "explain.yaml").read_text())["smooth_fwhm_mm"] == 0.0
    res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "bad"),
                                   "--smooth-mm", "-2"])
    assert res.exit_code == 2 and "--smooth-mm" in res.stderr
    assert not (tmp_path / "bad").exists()


def test_explain_options_are_parsed_checked_and_recorded(tmp_path: Path) -> None:
    from lesionlens.explain import parse_options

    assert parse_options(["n_steps=30", "margin=-15", "lr=1e-2", "relu=true"]) == {
        "n_steps": 30, "margin": -15, "lr": 0.01, "relu": True,
    }
    with pytest.raises(LesionLensInputError, match="KEY=VALUE"):
        parse_options(["n_steps"])
    cohort = make_cube_cohort(tmp_path / "cohort")
    fast = dict(width=8, batch_size=4, p_intensity=0.0, p_flip=0.0, min_epochs=1, max_epochs=1)
    run = train(cohort, tmp_path / "run", TrainConfig(**fast), progress=False)
    res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "ig"),
                                   "--attribution", "ig", "--option", "n_steps=4"])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load((tmp_path / "ig" / "explain.yaml").read_text())["options"] == {
        "n_steps": 4
    }
    for bad in (["--option", "n_step=4"], ["--option", "seed=3"]):
        res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "bad"),
                                       "--attribution", "ig", *bad])
        assert res.exit_code == 2 and ("n_step" in res.stderr or "seed" in res.stderr)
        assert not (tmp_path / "bad").exists()
    res = CliRunner().invoke(app, ["explain", str(run), str(cohort), str(tmp_path / "bad"),
                                   "--attribution", "counterfactual", "--option", "margn=0"])
    assert res.exit_code == 2 and "margn" in res.stderr
