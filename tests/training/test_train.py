"""Training: run directory, resume after SIGKILL, weights-only checkpoints, NaN stop, DDP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import load_file

from lesionlens.errors import LesionLensInputError
from lesionlens.training import TrainConfig, load_run, train

FAST = dict(width=8, batch_size=4, p_intensity=0.0, p_flip=0.0, p_elastic=0.0, min_epochs=1)


# fast `lesionlens train` options shared by the tests that go through the CLI
CLI_FAST = ["--width", "8", "--batch-size", "4", "--max-epochs", "1", "--p-flip", "0",
            "--p-intensity", "0"]


def _train_app():
    """A typer app holding only `lesionlens train` (plus a no-op that keeps it a subcommand)."""
    import typer

    from lesionlens.cli.train_cmd import train as train_cmd

    app = typer.Typer()
    app.command("train")(train_cmd)
    app.command("noop")(lambda: None)
    return app


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model.safetensors"))


def assert_same_weights(a: Path, b: Path, atol: float = 0.0) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=atol, rtol=0), k


def test_run_directory_contract(cube_cohort: Path, tmp_path: Path) -> None:
    run = train(cube_cohort, tmp_path / "run", TrainConfig(max_epochs=2, **FAST), progress=False)
    for name in ("config.yaml", "model.safetensors", "metrics.csv", "train.log"):
        assert (run / name).is_file(), name
    assert (run / "checkpoints" / "last.ckpt").is_file()
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["method"] == "none" and cfg["shape"] == [16, 16, 16] and cfg["in_channels"] == 1
    assert set(TrainConfig().to_dict()) == set(cfg)
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics["epoch"]) == [0, 1]
    assert {"train_bce", "val_bce", "val_bacc"} <= set(metrics.columns)
    _, model = load_run(run)
    assert not model.training
    with pytest.raises(LesionLensInputError, match="run directory exists"):
        train(cube_cohort, run, TrainConfig(max_epochs=1, **FAST), progress=False)


def test_last_checkpoint_is_the_last_epoch(cube_cohort: Path, tmp_path: Path) -> None:
    """--resume restarts from the last epoch, not from the best one: with a learning rate too
    small to change the validation accuracy, best.ckpt stays at epoch 0 and last.ckpt moves on."""
    cfg = TrainConfig(**FAST | dict(max_epochs=3, min_epochs=3, optimizer="sgd", lr=1e-12))
    run = train(cube_cohort, tmp_path / "run", cfg, progress=False)
    epoch = {
        name: torch.load(run / "checkpoints" / f"{name}.ckpt", weights_only=True)["epoch"]
        for name in ("best", "last")
    }
    assert epoch == {"best": 0, "last": 2}


def test_same_seed_same_weights(cube_cohort: Path, tmp_path: Path) -> None:
    cfg = dict(max_epochs=2, **FAST | {"p_flip": 0.5, "p_intensity": 0.5})
    a = train(cube_cohort, tmp_path / "a", TrainConfig(**cfg), progress=False)
    b = train(cube_cohort, tmp_path / "b", TrainConfig(**cfg), progress=False)
    assert_same_weights(a, b)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lesionlens", *args]


def test_resume_after_sigkill_matches_uninterrupted(cube_cohort: Path, tmp_path: Path) -> None:
    opts = [
        "--width",
        "8",
        "--batch-size",
        "4",
        "--max-epochs",
        "4",
        "--p-flip",
        "0.5",
        "--p-intensity",
        "0.5",
        "--seed",
        "3",
    ]
    full = tmp_path / "full"
    subprocess.run(
        _cli("train", str(cube_cohort), str(full), *opts), check=True, capture_output=True
    )
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _cli("train", str(cube_cohort), str(killed), *opts),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = killed / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not last.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # checkpoints are written atomically (fsspec transaction)
    proc.wait()
    assert not (killed / "model.safetensors").exists(), "killed too late: run already finished"
    res = subprocess.run(
        _cli("train", str(cube_cohort), str(killed), *opts, "--resume"),
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert_same_weights(full, killed)


def test_checkpoint_with_pickled_code_is_refused(cube_cohort: Path, tmp_path: Path) -> None:
    run = train(cube_cohort, tmp_path / "run", TrainConfig(max_epochs=1, **FAST), progress=False)
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {}, "evil": Evil(str(marker))}, run / "checkpoints" / "last.ckpt")
    with pytest.raises(LesionLensInputError, match="checkpoint refused"):
        train(cube_cohort, run, TrainConfig(max_epochs=2, **FAST), resume=True, progress=False)
    assert not marker.exists()


class Evil:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_nan_loss_stops_with_clear_message(cube_cohort: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(max_epochs=3, optimizer="sgd", lr=1e30, **FAST)
    with pytest.raises(FloatingPointError, match="non-finite training loss"):
        train(cube_cohort, tmp_path / "run", cfg, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    "method",
    [
        # BatchNorm (the PatchGAN's default) normalises with the global batch's statistics
        ["--method", "none"],
        # Adam: with the constrained methods' default Yogi at lr 1 this toy run diverges (loss
        # 1e6 by epoch 2) and amplifies the float reassociation of the all-reduce beyond 1e-5.
        # BatchNorm: the thesis' G maps through the batch statistics, by double backprop
        ["--method", "unsup-tv", "--alpha", "auto", "--optimizer", "adam"],
        # no norm: one process' IEG pass on a batch's only healthy image would meet train-mode
        # BatchNorm on a 1×1×1 map of this toy cohort (the ranks' pass is tested with threads)
        ["--method", "unsup", "--attribution", "ieg", "--alpha", "10", "--norm", "none",
         "--optimizer", "adam"],
        # SGD: Adam's first step, g / (|g| + 1e-8), turns the all-reduce's float noise on the
        # encoder weights whose gradient is ~0 under these augmentation draws into updates of
        # ~1e-4 (max |dw| 5.6e-5 after one step with Adam, 1.5e-8 with SGD)
        ["--method", "monotone", "--depth", "2", "--optimizer", "sgd"],
    ],
    ids=lambda m: m[1] + (f"-{m[3]}" if m[2:3] == ["--attribution"] else ""),
)
def test_ddp_two_processes_match_one(cube_cohort: Path, tmp_path: Path, method: list[str]) -> None:
    """Same seed, same global batch: 2 gloo processes end with one process' weights. With a
    constraint or the monotone losses, the ranks hold different numbers of healthy images; the
    losses' means and histograms are pooled over the global batch (``rank_pooling``), IEG draws
    its references and α for the global batch, ``--alpha auto`` resolves the same weight, and
    every item is augmented as in one process, and BatchNorm normalises with the global batch's
    statistics in every derivative (``models.global_batch_norm``)."""
    opts = [
        *method,
        "--width",
        "8",
        "--batch-size",
        "4",
        "--max-epochs",
        "2",
        # random augmentation on (flip and intensity by default, noise and bias added): each
        # item's transform is seeded by its position in the epoch's global draw
        "--p-noise",
        "0.5",
        "--p-bias",
        "0.5",
        "--seed",
        "1",
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    for run, devices in ((one, "1"), (two, "2")):
        res = subprocess.run(
            _cli("train", str(cube_cohort), str(run), *opts, "--devices", devices),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr[-3000:]
    configs = [yaml.safe_load((r / "config.yaml").read_text()) for r in (one, two)]
    assert configs[0]["alpha_resolved"] == configs[1]["alpha_resolved"]
    if "auto" in method:
        assert configs[0]["alpha_resolved"] > 0
    # the last checkpoint: the best one also depends on DDP's padded validation split
    last = [
        torch.load(r / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
        for r in (one, two)
    ]
    assert last[0].keys() == last[1].keys()
    for k in last[0]:
        assert torch.allclose(last[0][k], last[1][k], atol=1e-5, rtol=1e-4), k


def test_patchgan_depth_and_pool_reach_the_model_and_the_saved_run(
    cube_cohort: Path, tmp_path: Path
) -> None:
    cfg = TrainConfig(max_epochs=1, depth=2, pool="lse", **FAST)
    run = train(cube_cohort, tmp_path / "run", cfg, progress=False)
    _, model = load_run(run)
    assert model.depth == 2 and model.pool == "lse"
    assert yaml.safe_load((run / "config.yaml").read_text())["pool"] == "lse"
    with pytest.raises(ValueError, match="options of patchgan and patchcnn"):
        TrainConfig(model="resnet18", depth=2)
    small = TrainConfig(model="patchcnn", depth=1, pool="mean", dim=2)
    from lesionlens.training.methods import METHODS

    net = METHODS.create("none", cfg=small).build_model(1)
    assert type(net).__name__ == "PatchCNNClassifier" and (net.depth, net.pool) == (1, "mean")


def test_scale_free_option_reaches_the_constraint_and_is_refused_without_one(
    cube_cohort: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    app = _train_app()
    opts = [*CLI_FAST, "--alpha", "1"]
    runner = CliRunner()
    ok = runner.invoke(
        app, ["train", str(cube_cohort), str(tmp_path / "run"), "--method", "unsup",
              "--scale-free", "--p-noise", "0.5", "--p-zoom", "0.25", *opts]
    )
    assert ok.exit_code == 0, ok.output
    cfg = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert cfg["method_options"] == {"scale_free": True}
    assert (cfg["p_noise"], cfg["p_zoom"], cfg["p_blur"]) == (0.5, 0.25, 0.0)  # site/size cues
    refused = runner.invoke(
        app, ["train", str(cube_cohort), str(tmp_path / "none"), "--scale-free", *opts]
    )
    assert refused.exit_code == 2 and "--scale-free applies to attribution constraints" in (
        refused.output
    )
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("optimizer", ["adam", "yogi", "adadelta", "sgd"])
def test_weight_decay_reaches_every_optimiser(optimizer: str) -> None:
    from lesionlens.training.methods import METHODS
    from lesionlens.training.module import ClassifierModule

    cfg = TrainConfig(optimizer=optimizer, weight_decay=0.05, **FAST)
    module = ClassifierModule(cfg, METHODS.create("none", cfg=cfg), 1)
    assert [g["weight_decay"] for g in module.configure_optimizers().param_groups] == [0.05]
    for bad in (-1e-3, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="--weight-decay must be a finite number"):
            TrainConfig(weight_decay=bad)


def test_weight_decay_option_is_saved_with_the_run(cube_cohort: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    app, opts = _train_app(), CLI_FAST
    runner = CliRunner()
    ok = runner.invoke(
        app, ["train", str(cube_cohort), str(tmp_path / "run"), "--weight-decay", "0.01", *opts]
    )
    assert ok.exit_code == 0, ok.output
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["weight_decay"] == 0.01
    refused = runner.invoke(
        app, ["train", str(cube_cohort), str(tmp_path / "bad"), "--weight-decay", "-1", *opts]
    )
    assert refused.exit_code == 2 and "--weight-decay must be a finite number" in refused.output
    assert not (tmp_path / "bad").exists()


def test_bf16_mixed_precision_trains_a_constrained_run(cube_cohort: Path, tmp_path: Path) -> None:
    """--precision bf16-mixed reaches Lightning (bf16 autocast, float32 weights), is recorded,
    and reproduces itself with the same seed; weights differ from the float32 run's."""
    cfg = dict(max_epochs=1, method="unsup", **FAST)
    a = train(cube_cohort, tmp_path / "a", TrainConfig(precision="bf16-mixed", **cfg),
              progress=False)
    b = train(cube_cohort, tmp_path / "b", TrainConfig(precision="bf16-mixed", **cfg),
              progress=False)
    full = train(cube_cohort, tmp_path / "f", TrainConfig(**cfg), progress=False)
    assert yaml.safe_load((a / "config.yaml").read_text())["precision"] == "bf16-mixed"
    assert_same_weights(a, b)
    wa, wf = weights(a), weights(full)
    floats = {k: w for k, w in wa.items() if not k.endswith("num_batches_tracked")}
    assert all(w.dtype == torch.float32 and torch.isfinite(w).all() for w in floats.values())
    assert any(not torch.equal(wa[k], wf[k]) for k in wa)
    assert load_run(a)[0] is not None
    with pytest.raises(ValueError, match="--precision must be one of 32-true, bf16-mixed"):
        TrainConfig(precision="16-mixed")
