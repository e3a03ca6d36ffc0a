"""Table 6.2's tabular task with the ``monotonic-nn`` package as an outside reference (issue #5).

``monotonic-nn`` (airt ``MonoDense``; Runje & Shankaranarayana, ICML 2023) is Keras/TensorFlow
and pins NumPy < 2, so it lives in its own interpreter, named by the environment variable
``LESIONLENS_MONOTONIC_NN_PYTHON`` (e.g. ``python -m venv /tmp/mnn && /tmp/mnn/bin/pip install
monotonic-nn``). The task is handed over as an ``.npz`` file and the result read back as JSON; the
script is :mod:`lesionlens.bench.airt_mlp_script`.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ENV_VAR = "LESIONLENS_MONOTONIC_NN_PYTHON"
SCRIPT = Path(__file__).with_name("airt_mlp_script.py")


def monotonic_nn_python() -> str | None:
    """The interpreter named by ``LESIONLENS_MONOTONIC_NN_PYTHON``, or None when unset."""
    return os.environ.get(ENV_VAR) or None


def run_monotonic_nn_mlp(
    data: Any, *, python: str, depth: int, width: int, epochs: int, lr: float,
    batch_size: int, seed: int = 0, timeout_s: float = 3600.0,
) -> dict[str, Any]:
    """Train airt's fully monotone MLP on ``data`` (a ``TaskData``) in ``python``.

    Returns ``{"test_accuracy", "best_epoch", "diverged", "seconds"}``.

    Raises:
        FileNotFoundError: ``python`` does not exist.
        RuntimeError: the script failed (its last stderr line is in the message).
    """
    if not Path(python).is_file():
        raise FileNotFoundError(f"{ENV_VAR}={python}: no such interpreter")
    with tempfile.TemporaryDirectory(prefix="lesionlens-monotonic-nn-") as tmp:
        task, result = Path(tmp) / "task.npz", Path(tmp) / "result.json"
        arrays = {}
        for split in ("train", "val", "test"):
            x, y = getattr(data, split)
            arrays[f"x_{split}"] = np.asarray(x, dtype=np.float32)
            arrays[f"y_{split}"] = np.asarray(y, dtype=np.int64)
        np.savez(task, depth=depth, width=width, epochs=epochs, lr=lr, batch_size=batch_size,
                 seed=seed, **arrays)
        done = subprocess.run(
            [python, str(SCRIPT), str(task), str(result)],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )
        if done.returncode != 0 or not result.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"monotonic-nn run failed (exit {done.returncode}): {last}")
        return json.loads(result.read_text())
