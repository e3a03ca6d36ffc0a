"""The ``lesionlens`` command line: a thin typer layer over Python functions of the same name.

Each command lives in ``cli/<command>.py`` and imports its stage lazily, so ``--help`` is fast.
"""

from __future__ import annotations

import typer

from .. import __version__
from . import (
    bench_cmd,
    cohort_cmds,
    demo_cmd,
    evaluate_cmd,
    preprocess_cmd,
    report_cmd,
    synth_cmd,
    train_cmd,
)

app = typer.Typer(
    name="lesionlens",
    help="Healthy-vs-pathological brain MRI classifiers whose explanations segment the lesions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lesionlens {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """lesionlens command line."""


app.command("synth")(synth_cmd.synth)
app.command("validate")(cohort_cmds.validate)
app.command("import")(preprocess_cmd.import_)
app.command("preprocess")(preprocess_cmd.preprocess)
app.command("slices")(preprocess_cmd.slices)
app.command("train")(train_cmd.train)
app.command("explain")(train_cmd.explain)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("compare")(evaluate_cmd.compare)
app.command("report")(report_cmd.report)
app.command("bench")(bench_cmd.bench)
app.command("demo")(demo_cmd.demo)
