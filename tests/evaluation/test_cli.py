"""CLI ``evaluate`` / ``compare`` through typer's CliRunner on a local app."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from lesionlens.cli.evaluate_cmd import compare, evaluate

from .conftest import write_maps


@pytest.fixture
def app():
    app = typer.Typer()
    app.command("evaluate")(evaluate)
    app.command("compare")(compare)
    return app


def test_evaluate_and_compare_commands(app, synthetic, tmp_path):
    root, manifest = synthetic
    runner = CliRunner()
    test = write_maps(root, tmp_path / "a", "test", "good", seed=1)
    val = write_maps(root, tmp_path / "a-val", "val", "good", seed=2)
    result = runner.invoke(
        app, ["evaluate", str(test), str(root), "--val-maps", str(val), "--no-hd95"]
    )
    assert result.exit_code == 0, result.output
    assert "dice_mean" in result.output and "val-f1" in result.output
    assert json.loads((test / "metrics.json").read_text())["threshold_rule"] == "val-f1"

    other = write_maps(root, tmp_path / "b", "test", "random", seed=3)
    fixed = runner.invoke(app, ["evaluate", str(other), str(manifest), "--threshold", "0.5"])
    assert fixed.exit_code == 0, fixed.output
    assert json.loads((other / "metrics.json").read_text())["threshold"] == 0.5

    out = tmp_path / "cmp"
    cmp = runner.invoke(app, ["compare", str(test), str(other), "--out", str(out),
                              "--n-permutations", "500"])  # fmt: skip
    assert cmp.exit_code == 0, cmp.output
    assert "a (ref.)" in cmp.output and "Pearson" in cmp.output
    assert (out / "compare.md").is_file()


def test_user_errors_exit_2_with_one_line(app, synthetic, tmp_path):
    root, manifest = synthetic
    test = write_maps(root, tmp_path / "a", "test", "good", seed=1)
    result = CliRunner().invoke(app, ["evaluate", str(test), str(manifest), "--threshold", "f1"])
    assert result.exit_code == 2
    assert "threshold rule must be one of" in result.output
    result = CliRunner().invoke(
        app, ["evaluate", str(test), str(manifest), "--subject-threshold", "val-bacc"]
    )
    assert result.exit_code == 2 and "--val-maps" in result.output
    assert not (test / "metrics.json").exists()
    result = CliRunner().invoke(app, ["compare", str(tmp_path)])
    assert result.exit_code == 2 and "lesionlens evaluate" in result.output
