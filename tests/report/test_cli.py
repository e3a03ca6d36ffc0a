"""``lesionlens report`` CLI: writes the page, user errors → one line and exit code 2."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from lesionlens.cli.report_cmd import report

app = typer.Typer()
app.command()(report)
app.command("noop")(lambda: None)  # two commands: typer keeps the subcommand name


def test_cli_writes_the_report(study, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["report", str(study["good"]), str(out), "--max-subjects", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file() and str(out / "index.html") in result.output
    assert len(list((out / "viewers").iterdir())) == 1


def test_cli_user_errors_exit_2(study, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "OUT folder" in result.output
    result = runner.invoke(app, ["report", str(tmp_path), str(tmp_path / "out")])
    assert result.exit_code == 2 and "neither a run folder" in result.output
