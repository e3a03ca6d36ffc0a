"""The ch. 5 science suite runs end to end (tiny settings) and scores both test modes."""

from __future__ import annotations

from pathlib import Path

from lesionlens.bench.science_constraint import FULL_METHODS, run_constraint_table


def test_constraint_table_rows(tmp_path: Path) -> None:
    methods = {"unsup-g": FULL_METHODS["unsup-g"]}
    rows = run_constraint_table(tmp_path, quick=True, training={"max_epochs": 1}, methods=methods)
    assert [(r["method"], r["test"]) for r in rows] == [
        (m, t) for m in ("intensity-threshold", *methods) for t in ("same-site", "swapped")
    ]
    for r in rows:
        assert 0.0 <= r["dice"] <= 1.0 and 0.0 <= r["auroc"] <= 1.0 and 0.0 <= r["bacc"] <= 1.0
    floor = rows[0]
    assert floor["dice"] > 0.1, "the intensity floor finds bright tumours on FLAIR phantoms"
