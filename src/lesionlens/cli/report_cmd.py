"""``lesionlens report``: thin layer over :func:`lesionlens.report.report`."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, user_errors_exit_2


@user_errors_exit_2
def report(
    inputs: list[Path] = typer.Argument(
        ...,
        help="Run folders (from train) and/or maps folders (from explain, ideally evaluated), "
        "then the output folder last.",
    ),
    cohort: Path | None = typer.Option(
        None, "--cohort", help="Manifest CSV or its folder (default: recorded by explain)."
    ),
    max_subjects: int = typer.Option(
        6, "--max-subjects", help="Subjects shown with montages and interactive viewers."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT folder."),
) -> None:
    """Write an HTML report (OUT/index.html): cohort, training curves, comparison table,
    Dice-vs-threshold, attribution histograms, per-subject montages and viewers."""
    from ..report import report as run_report

    if len(inputs) < 2:
        raise ValueError(
            f"report needs at least one RUN_OR_MAPS folder and the OUT folder, got {len(inputs)} "
            "path(s)"
        )
    *sources, out = inputs
    with console.status("writing the report"):
        index = run_report(
            sources, out, cohort=cohort, max_subjects=max_subjects, overwrite=overwrite
        )
    print(index)
