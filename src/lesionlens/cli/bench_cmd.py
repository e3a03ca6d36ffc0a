"""``lesionlens bench perf|quality|science [OUT]``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import user_errors_exit_2


@user_errors_exit_2
def bench(
    kind: str = typer.Argument(..., help="perf | quality | science."),
    out: Path = typer.Argument(None, help="Folder for <kind>.json (default: print only)."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    quick: bool = typer.Option(False, "--quick", help="Smaller sizes, for a smoke run."),
    suite: list[str] = typer.Option(None, help="Run only these suites (repeatable)."),
) -> None:
    """Measure speed or quality; prints one table per suite and writes JSON with the ratios."""
    from rich.console import Console
    from rich.table import Table

    from ..bench.run import run_benchmarks

    result = run_benchmarks(kind, out, device=device, quick=quick, only=suite or None)
    stdout = Console()
    for name, res in result["suites"].items():
        rows = res["rows"]
        table = Table(title=f"{kind}/{name} ({res['seconds']} s, {result['machine']['device']})")
        cols = list(dict.fromkeys(k for r in rows for k in r))
        for c in cols:
            table.add_column(c)
        for r in rows:
            table.add_row(*[_fmt(r.get(c, "")) for c in cols])
        stdout.print(table)
    if out is not None:
        stdout.print(f"written {Path(out) / f'{kind}.json'}")


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
