"""``lesionlens validate``: check a cohort and print its summary."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, user_errors_exit_2


@user_errors_exit_2
def validate(
    cohort: Path = typer.Argument(..., help="Manifest CSV, or the folder holding manifest.csv."),
    training: bool = typer.Option(
        True, "--training/--no-training", help="Warn about train/val splits with a single class."
    ),
) -> None:
    """Check every row and file of a cohort; print subjects per split × label × site.

    Exits with code 2 and one line naming the row, column and file on the first refusal.
    """
    from rich.table import Table

    from ..cohort import summary_rows, validate_cohort

    report = validate_cohort(cohort, training=training)
    table = Table(title=f"cohort {report.cohort.manifest}")
    for col in ("split", "label", "site", "subjects"):
        table.add_column(col, justify="right" if col == "subjects" else "left")
    for split, label, site, n in summary_rows(report):
        table.add_row(split, label, site, str(n))
    out = console.__class__()  # stdout
    out.print(table)
    shapes = sorted({i.shape for i in report.info.values()})
    voxels = sorted({tuple(round(v, 3) for v in i.voxel) for i in report.info.values()})
    out.print(
        f"channels: {report.cohort.n_channels}   shapes: {shapes}   voxel sizes (mm): {voxels}"
    )
    for w in report.warnings if training else []:
        console.print(f"[yellow]warning:[/yellow] {w}")
    out.print(f"[green]ok[/green]: {len(report.cohort)} subjects")
