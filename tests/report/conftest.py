"""Fixtures: a tiny cohort (16³, sphere brain, cube lesions), two evaluated maps folders
(``good`` = lesion + noise from a fake run, ``random`` = noise) and a fake run folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lesionlens.evaluation import evaluate
from tests.evaluation.conftest import make_cohort, write_maps


def write_run(run: Path, epochs: int = 4) -> Path:
    """A run folder as `train` leaves it, without weights: config.yaml and metrics.csv."""
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("method: unsup\nattribution: g\nmodel: patchgan\nseed: 0\n")
    pd.DataFrame(
        {
            "epoch": range(epochs),
            "train_loss": [1e4 / 10**e for e in range(epochs)],
            "train_bce": [0.7 - 0.1 * e for e in range(epochs)],
            "train_constraint": [1e4 / 10**e for e in range(epochs)],
            "val_loss": [2e4 / 10**e for e in range(epochs)],
            "val_bce": [0.75 - 0.1 * e for e in range(epochs)],
            "val_bacc": [0.5 + 0.1 * e for e in range(epochs)],
        }
    ).to_csv(run / "metrics.csv", index=False)
    return run


def write_evaluated_maps(root: Path, manifest: Path, name: str, kind: str, run: Path | None):
    maps, val = root / name, root / f"{name}_val"
    for folder, split, seed in ((maps, "test", 1), (val, "val", 2)):
        write_maps(manifest.parent, folder, split, kind, seed=seed)
        recorded = f"run: {run}\n" if run is not None else ""
        (folder / "explain.yaml").write_text(
            f"{recorded}cohort: {manifest}\nsplit: {split}\nattribution: g\nseed: 0\n"
        )
    evaluate(maps, manifest, val_maps=val, hd95=False)
    return maps


@pytest.fixture(scope="session")
def study(tmp_path_factory) -> dict[str, Path]:
    """{"manifest", "run", "good", "random"}: shared by the tests (read-only)."""
    root = tmp_path_factory.mktemp("study")
    manifest = make_cohort(root / "cohort")
    run = write_run(root / "run_unsup")
    good = write_evaluated_maps(root, manifest, "good", "good", run)
    random = write_evaluated_maps(root, manifest, "random", "random", None)
    return {"manifest": manifest, "run": run, "good": good, "random": random, "root": root}
