"""``--alpha auto``: the weight balancing ‖∇θ BCE‖ and ‖∇θ L_A‖ at initialisation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from lesionlens.constraints import create_constraint
from lesionlens.models import PatchGANClassifier
from lesionlens.training import TrainConfig, train
from lesionlens.training.balanced_alpha import balanced_alpha
from lesionlens.training.methods import METHODS
from lesionlens.training.trainer import _resolve_auto_alpha

FAST = dict(width=8, batch_size=4, p_intensity=0.0, p_flip=0.0, p_elastic=0.0, min_epochs=1)


def _batch(labels: list[int], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    n = len(labels)
    return {
        "image": torch.randn(n, 1, 32, 32, generator=g),
        "label": torch.tensor(labels),
        "mask": torch.zeros(n, 1, 32, 32),
        "has_mask": torch.zeros(n, dtype=torch.bool),
        "brain": torch.ones(n, 1, 32, 32),
    }


def _method(norm: str = "none", **cfg):
    method = METHODS.create("unsup", cfg=TrainConfig(method="unsup", dim=2, width=8, **cfg))
    torch.manual_seed(0)
    return method, PatchGANClassifier(spatial_dims=2, width=8, norm=norm)


def _norm(loss: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    return torch.sqrt(sum((g.double() ** 2).sum() for g in grads if g is not None))


def test_alpha_is_the_ratio_of_the_two_gradient_norms_times_the_factor() -> None:
    method, model = _method()
    batch = _batch([0, 1, 0, 1])
    x, y = batch["image"], batch["label"].float()
    # independent computation: BCE of the global (mean patch) logit, and the unweighted unsup loss
    bce = F.binary_cross_entropy_with_logits(model(x).reshape(-1), y)
    l_a, _ = create_constraint("unsup")(model, x, y, brain=batch["brain"])
    expected = float(_norm(bce, model) / _norm(l_a, model))
    found = balanced_alpha(model, method, [batch])
    assert found.alpha == pytest.approx(expected, rel=1e-5)
    assert balanced_alpha(model, method, [batch], factor=3.0).alpha == pytest.approx(
        3 * expected, rel=1e-5
    )
    # the median over batches, skipping a batch without a healthy image
    more = [batch, _batch([1, 1, 1, 1], 1), _batch([0, 0, 1, 1], 2), _batch([1, 0, 0, 1], 3)]
    several = balanced_alpha(model, method, more)
    assert len(several.ratios) == 3
    assert several.alpha == pytest.approx(sorted(several.ratios)[1])


def test_calibration_leaves_the_model_as_it_was() -> None:
    method, model = _method(norm="batch")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    balanced_alpha(model, method, [_batch([0, 1, 0, 1]), _batch([0, 1, 1, 0], 1)])
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats restored
    assert all(p.grad is None for p in model.parameters())


def test_batches_without_a_healthy_image_are_refused() -> None:
    method, model = _method()
    with pytest.raises(ValueError, match="--alpha auto: the constraint has no gradient"):
        balanced_alpha(model, method, [_batch([1, 1, 1, 1])])


def test_alpha_option_values() -> None:
    assert TrainConfig(alpha="auto").constraint_weight is None
    assert TrainConfig(alpha="auto", alpha_resolved=7.0).constraint_weight == 7.0
    assert TrainConfig(alpha="1e8").alpha == 1e8  # YAML reads 1e8 as a string
    assert TrainConfig(alpha=3.0).constraint_weight == 3.0
    for bad in ("often", -1.0, float("nan")):
        with pytest.raises(ValueError, match="--alpha must be a number ≥ 0 or 'auto'"):
            TrainConfig(alpha=bad)
    with pytest.raises(ValueError, match="--alpha-factor scales --alpha auto"):
        TrainConfig(alpha=2.0, alpha_factor=3.0)
    with pytest.raises(ValueError, match="--alpha-factor must be > 0"):
        TrainConfig(alpha="auto", alpha_factor=0.0)


def test_a_resolved_alpha_is_kept_not_recomputed() -> None:
    """--resume reloads config.yaml with alpha_resolved: no calibration (no data needed)."""
    cfg = TrainConfig(method="unsup", alpha="auto", alpha_resolved=5.0)
    method = METHODS.create("unsup", cfg=cfg)
    _resolve_auto_alpha(cfg, method, module=None, train_ds=None)
    assert method.constraint.weight == 5.0


def test_train_resolves_records_and_uses_the_weight(cube_cohort: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(method="unsup", alpha="auto", alpha_factor=2.0, max_epochs=1, **FAST)
    run = train(cube_cohort, tmp_path / "run", cfg, progress=False)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["alpha"] == "auto" and saved["alpha_factor"] == 2.0
    assert saved["alpha_resolved"] > 0
    assert "--alpha auto: α_A = " in (run / "train.log").read_text()
    reloaded = TrainConfig.load(run / "config.yaml")
    assert reloaded.constraint_weight == saved["alpha_resolved"]
    # same seed, same weight
    again = train(cube_cohort, tmp_path / "again", cfg, progress=False)
    assert yaml.safe_load((again / "config.yaml").read_text())["alpha_resolved"] == (
        saved["alpha_resolved"]
    )
    with pytest.raises(ValueError, match="--alpha auto weighs an attribution constraint"):
        train(cube_cohort, tmp_path / "none", TrainConfig(alpha="auto", **FAST), progress=False)
    assert not (tmp_path / "none").exists()


def test_cli_reads_auto_and_refuses_a_bad_value(cube_cohort: Path, tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "lesionlens", "train", str(cube_cohort)]
    opts = ["--method", "unsup", "--width", "8", "--batch-size", "4", "--max-epochs", "1"]
    bad = subprocess.run([*cli, str(tmp_path / "bad"), *opts, "--alpha", "lots"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--alpha must be a number ≥ 0 or 'auto'" in bad.stderr
    assert not (tmp_path / "bad").exists()
