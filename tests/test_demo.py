"""The whole demo path (synth → train → explain → evaluate → compare → report), tiny cohort."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lesionlens.demo import DEMO_METHODS, demo
from lesionlens.errors import LesionLensInputError


def test_demo_runs_end_to_end_on_a_tiny_cohort(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = demo(out, cohort={"n": 12, "voxel": 8}, training={"max_epochs": 1, "width": 8},
               say=lambda _: None)
    assert res["report"].is_file() and res["preview"].is_file()
    for name in DEMO_METHODS:
        metrics = json.loads((out / "runs" / name / "maps-test" / "metrics.json").read_text())
        assert 0.0 <= metrics["dice_mean"] <= 1.0 and res[f"dice_{name}"] == round(
            metrics["dice_mean"], 3
        )
    assert 0.0 <= res["dice_intensity_floor"] <= 1.0
    compared = (out / "compare" / "compare.csv").read_text().splitlines()
    assert len(compared) == 1 + len(DEMO_METHODS) + 1  # header, methods, intensity floor
    with pytest.raises(LesionLensInputError, match="exists"):
        demo(out, cohort={"n": 12, "voxel": 8}, say=lambda _: None)
