"""The monotonic-nn reference of Table 6.2 (tabular task): task hand-over, result, failures.

TensorFlow is not installed in the test environment, so a stand-in interpreter reads the task file
the real script would read and answers the majority-class accuracy, which the test recomputes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lesionlens.bench import monotonic_nn
from lesionlens.bench.science_monotone import tabular_rows, tabular_task

FAKE = """#!{python}
import json, sys
import numpy as np
task = np.load(sys.argv[2])
assert sys.argv[1].endswith("airt_mlp_script.py")
majority = np.bincount(task["y_train"]).argmax()
acc = float((task["y_test"] == majority).mean())
json.dump({{"test_accuracy": acc, "best_epoch": int(task["epochs"]), "diverged": False,
           "seconds": 0.0, "depth": int(task["depth"]), "n_test": int(len(task["x_test"]))}},
          open(sys.argv[3], "w"))
"""


def _interpreter(tmp_path: Path, body: str) -> str:
    path = tmp_path / "python"
    path.write_text(body.format(python=sys.executable))
    path.chmod(0o755)
    return str(path)


def test_task_goes_over_and_result_comes_back(tmp_path: Path) -> None:
    data = tabular_task(n=300, seed=1)
    python = _interpreter(tmp_path, FAKE)
    result = monotonic_nn.run_monotonic_nn_mlp(
        data, python=python, depth=3, width=8, epochs=2, lr=1e-3, batch_size=16
    )
    y_train, y_test = data.train[1].numpy(), data.test[1].numpy()
    expected = float((y_test == np.bincount(y_train).argmax()).mean())
    assert result["test_accuracy"] == pytest.approx(expected)
    assert result["depth"] == 3 and result["n_test"] == len(y_test) and result["best_epoch"] == 2


def test_failing_or_missing_interpreter_is_reported(tmp_path: Path) -> None:
    data = tabular_task(n=300, seed=1)
    kwargs = dict(depth=3, width=8, epochs=1, lr=1e-3, batch_size=16)
    with pytest.raises(FileNotFoundError, match="LESIONLENS_MONOTONIC_NN_PYTHON"):
        monotonic_nn.run_monotonic_nn_mlp(data, python=str(tmp_path / "nope"), **kwargs)
    broken = _interpreter(tmp_path, "#!{python}\nraise SystemExit('no module named airt')\n")
    with pytest.raises(RuntimeError, match="no module named airt"):
        monotonic_nn.run_monotonic_nn_mlp(data, python=broken, **kwargs)


def test_tabular_rows_add_the_package_row_only_when_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "lesionlens.bench.science_monotone.run_task", lambda *a, **k: [{"variant": "ours"}]
    )
    monkeypatch.delenv(monotonic_nn.ENV_VAR, raising=False)
    assert [r["variant"] for r in tabular_rows(quick=True)] == ["ours"]
    monkeypatch.setenv(monotonic_nn.ENV_VAR, _interpreter(tmp_path, FAKE))
    rows = tabular_rows(quick=True)
    assert rows[-1]["variant"].startswith("monotonic-nn") and rows[-1]["epochs"] == 15
    assert 0.0 <= rows[-1]["test_accuracy"] <= 1.0
