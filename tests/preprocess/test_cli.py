"""CLI layer: import via typer, user errors as one line and exit code 2."""

import typer
from typer.testing import CliRunner

from lesionlens.cli.preprocess_cmd import import_, preprocess

from .conftest import write

app = typer.Typer()
app.command("import")(import_)
app.command("preprocess")(preprocess)


def test_import_command_and_user_errors(tmp_path, tiny):
    write(tmp_path / "src" / "healthy" / "a.nii.gz", tiny())
    write(tmp_path / "src" / "pathological" / "b.nii.gz", tiny())
    runner = CliRunner()
    ok = runner.invoke(app, ["import", "folder", str(tmp_path / "src"), str(tmp_path / "o")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "o" / "manifest.csv").is_file()
    bad = runner.invoke(app, ["import", "folder", str(tmp_path / "src"), str(tmp_path / "o")])
    assert bad.exit_code == 2 and "--overwrite" in bad.output
    hd = runner.invoke(app, ["preprocess", str(tmp_path / "o"), str(tmp_path / "p"),
                             "--brain-extraction", "hd-bet"])  # fmt: skip
    assert hd.exit_code == 2 and "hd-bet" in hd.output
