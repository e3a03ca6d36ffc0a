"""``lesionlens evaluate`` and ``lesionlens compare``: thin layers over
:func:`lesionlens.evaluation.evaluate` and :func:`lesionlens.evaluation.compare`."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from ._common import user_errors_exit_2

SCALAR_ORDER = (
    "threshold_rule", "threshold", "threshold_optimistic", "channel", "dice_mean", "dice_std",
    "hd95_mean", "auroc", "auroc10", "auprc", "relevance_mass_accuracy", "pointing_game",
    "subject_threshold_rule", "subject_threshold", "tpr", "tnr", "balanced_accuracy", "auc",
    "n_subjects", "n_dice_subjects", "n_voxels",
)  # fmt: skip


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _stdout():
    from rich.console import Console

    return Console()


@user_errors_exit_2
def evaluate(
    maps: Path = typer.Argument(..., help="Output folder of `explain` (maps/, predictions.csv)."),
    cohort: Path = typer.Argument(..., help="Manifest CSV, or the folder holding manifest.csv."),
    val_maps: Path | None = typer.Option(
        None, "--val-maps", help="Maps folder of the val split (for val-f1 / healthy-fpr)."
    ),
    split: str = typer.Option("test", "--split", help="Split of the cohort to score."),
    threshold: str = typer.Option(
        "val-f1",
        "--threshold",
        help="val-f1 | healthy-fpr:0.01 (label-free) | best (test oracle) | a number.",
    ),
    channel: int | None = typer.Option(
        None, "--channel", help="Channel of 4-D maps; default: best validation AUPRC."
    ),
    hd95: bool = typer.Option(
        True, "--hd95/--no-hd95", help="Compute the 95 % Hausdorff distance."
    ),
    subject_threshold: str = typer.Option(
        "zero",
        "--subject-threshold",
        help="Subject decision for TPR/TNR: zero (logit > 0) | val-bacc (threshold with the best "
        "balanced accuracy on --val-maps' predictions).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing metrics.json."),
) -> None:
    """Score lesion maps against the cohort; writes metrics.json, per_subject.csv and
    dice_vs_threshold.csv into MAPS and prints the metrics."""
    from rich.table import Table

    from ..evaluation import evaluate as run_evaluate

    parsed: str | float = threshold
    try:
        parsed = float(threshold)
    except ValueError:
        pass
    metrics = run_evaluate(
        maps, cohort, split=split, val_maps=val_maps, threshold=parsed, channel=channel,
        hd95=hd95, overwrite=overwrite, subject_threshold=subject_threshold,
    )  # fmt: skip
    table = Table(title=f"{maps / 'metrics.json'}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in SCALAR_ORDER:
        if key in metrics:
            table.add_row(key, _fmt(metrics[key]))
    for b in metrics.get("tpr_by_lesion_volume", []):
        if b["n"]:
            upper = f"{b['high_ml']:g} mL" if b["high_ml"] is not None else "∞"
            table.add_row(f"tpr, lesion {b['low_ml']:g}–{upper}", f"{b['detected']}/{b['n']}")
    _stdout().print(table)


@user_errors_exit_2
def compare(
    inputs: list[Path] = typer.Argument(
        ..., help="Evaluated maps folders, or run folders holding an explain/ or maps/ one."
    ),
    cohort: Path | None = typer.Option(
        None, "--cohort", help="Cohort for the map correlations (default: from metrics.json)."
    ),
    reference: int = typer.Option(0, "--reference", help="Index of the reference method."),
    n_permutations: int = typer.Option(
        10_000, "--n-permutations", help="Permutations of the paired sign-flip test."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutation test."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for compare.csv, compare.md, compare.json."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing compare files."),
) -> None:
    """Compare evaluated methods in one table (Dice ± std, AUROC, AUROC10, AUPRC, TPR, TNR);
    † marks a significant Dice difference from the reference (Bonferroni)."""
    from rich.table import Table

    from ..evaluation import compare as run_compare

    df = run_compare(
        inputs, cohort=cohort, reference=reference, n_permutations=n_permutations, seed=seed,
        out=out, overwrite=overwrite,
    )  # fmt: skip
    table = Table(title="compare († significant vs reference)")
    for col in ("method", "Dice", "AUROC", "AUROC10", "AUPRC", "TPR", "TNR", "p (Bonf.)"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for _, r in df.iterrows():
        dice = f"{_fmt(r.dice_mean)}±{_fmt(r.dice_std)}{'†' if r.significant else ''}"
        name = f"{r.method} (ref.)" if r.reference else str(r.method)
        metrics = (_fmt(r[k]) for k in ("auroc", "auroc10", "auprc", "tpr", "tnr"))
        table.add_row(name, dice, *metrics, _fmt(r.p_adjusted))
    console = _stdout()
    console.print(table)
    if "correlation_mean" in df.attrs:
        mean, std = df.attrs["correlation_mean"], df.attrs["correlation_std"]
        corr = Table(title="Pearson map correlation over brain voxels (mean±std)")
        corr.add_column("")
        for name in mean.columns:
            corr.add_column(str(name), justify="right")
        for a in mean.index:
            cells = [f"{_fmt(mean.loc[a, b])}±{_fmt(std.loc[a, b])}" for b in mean.columns]
            corr.add_row(str(a), *cells)
        console.print(corr)
