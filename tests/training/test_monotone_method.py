"""Monotone methods train through the same trainer; counterfactual maps are 4-D, channels last."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from torch import nn

from lesionlens.explain import explain
from lesionlens.monotone import check_monotone
from lesionlens.training import TrainConfig, load_run, train
from tests.conftest import make_cube_cohort

FAST = dict(width=8, batch_size=4, p_intensity=0.0, p_flip=0.0, min_epochs=1, max_epochs=1)


@pytest.mark.parametrize("method", ["monotone", "monotone-baseline", "monotone-baseline-c"])
def test_monotone_methods_train(tmp_path: Path, method: str) -> None:
    cohort = make_cube_cohort(tmp_path / "c", n=8, shape=(30, 30, 30))
    run = train(cohort, tmp_path / "run", TrainConfig(method=method, **FAST), progress=False)
    cfg, model = load_run(run)
    report = check_monotone(model.head, (8, *cfg.shape))
    assert report.ok is (method == "monotone"), report.reasons


def test_monotone_options_are_saved_reloaded_and_refused_elsewhere(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lesionlens.cli import app

    cohort = make_cube_cohort(tmp_path / "c", n=8, shape=(32, 32, 32))
    args = ["train", str(cohort), str(tmp_path / "run"), "--method", "monotone", "--width", "8",
            "--max-epochs", "1", "--batch-size", "4", "--depth", "2", "--pool", "max",
            "--encoder-norm", "none", "--no-encoder-last-activation", "--encoder-bias",
            "--patch-support", "brain"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    cfg, model = load_run(tmp_path / "run")
    assert cfg.depth == 2 and cfg.pool == "max"
    assert cfg.method_options == {
        "encoder_norm": "none", "encoder_last_activation": False, "encoder_bias": True,
        "patch_support": "brain",
    }
    assert model.patch_support == "brain"
    assert all(c.bias is not None for c in model.encoder.modules() if isinstance(c, nn.Conv3d))
    assert model.head.pool == "max" and model.get_config()["encoder_last_activation"] is False
    assert check_monotone(model.head, (8, *cfg.shape)).ok
    res = CliRunner().invoke(app, ["train", str(cohort), str(tmp_path / "r2"), "--method",
                                   "none", "--encoder-norm", "none"])
    assert res.exit_code == 2 and "--encoder-norm" in res.stderr
    assert not (tmp_path / "r2").exists()
    res = CliRunner().invoke(app, ["train", str(cohort), str(tmp_path / "r3"), "--method",
                                   "monotone", "--patch-support", "lesion"])
    assert res.exit_code == 2 and "--patch-support must be one of all, brain" in res.stderr
    assert not (tmp_path / "r3").exists()


def test_counterfactual_maps_are_4d_channels_last(tmp_path: Path) -> None:
    cohort = make_cube_cohort(tmp_path / "c", n=8, shape=(30, 30, 30))
    run = train(cohort, tmp_path / "run", TrainConfig(method="monotone", **FAST), progress=False)
    out = explain(run, cohort, tmp_path / "maps", split="test", attribution="counterfactual",
                  options={"steps": 20, "lr": 1e-2})
    sid = sorted((out / "maps").iterdir())[0]
    m = nib.load(sid)
    assert m.shape == (30, 30, 30, 8)
    assert (np.asarray(m.dataobj) >= 0).all()
