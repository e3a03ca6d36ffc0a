"""``lesionlens demo [OUT]``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, user_errors_exit_2


@user_errors_exit_2
def demo(
    out: Path = typer.Argument(Path("demo-out"), help="Folder to write everything into."),
    overwrite: bool = typer.Option(
        True, "--overwrite/--no-overwrite", help="Replace OUT if it exists."
    ),
) -> None:
    """Run the whole path on an embedded phantom cohort (minutes on a laptop CPU)."""
    from ..demo import demo as demo_fn

    result = demo_fn(out, overwrite=overwrite, say=console.print)
    for key, value in result.items():
        console.print(f"{key}: [bold]{value}[/bold]")
