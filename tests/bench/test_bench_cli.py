"""``lesionlens bench``: runs a suite, prints its table, writes JSON with the machine."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lesionlens.bench import KINDS, load_suites
from lesionlens.cli import app


def test_every_issue_suite_is_registered() -> None:
    load_suites()
    assert {"synth", "train_step", "monotone_init", "preprocess"} <= set(KINDS["perf"].names())
    assert {"constraint", "monotone"} <= set(KINDS["science"].names())


def test_bench_perf_synth_writes_json(tmp_path: Path, monkeypatch) -> None:
    from lesionlens.bench import PERF

    load_suites()
    calls = []

    def tiny(device: str, quick: bool) -> list[dict]:
        calls.append((device, quick))
        return [{"voxel_mm": 8, "subjects_per_s": 12.5}]

    monkeypatch.setitem(PERF._entries, "synth", tiny)
    res = CliRunner().invoke(app, ["bench", "perf", str(tmp_path), "--suite", "synth", "--quick"])
    assert res.exit_code == 0, res.output
    assert calls == [("cpu", True)] and "subjects_per_s" in res.output
    data = json.loads((tmp_path / "perf.json").read_text())
    assert data["suites"]["synth"]["rows"] == [{"voxel_mm": 8, "subjects_per_s": 12.5}]
    assert data["machine"]["device"] == "cpu" and "torch" in data["machine"]
    bad = CliRunner().invoke(app, ["bench", "speed"])
    assert bad.exit_code == 2 and "perf" in bad.stderr


def test_anomaly_map_rows_time_fp32_and_bf16_with_their_agreement() -> None:
    from lesionlens.bench.train_step import _map_rows

    rows = _map_rows(8, (16, 16, 16), "cpu", repeats=1)
    assert [r["precision"] for r in rows] == ["fp32", "bf16"]
    assert all(r["map_s"] > 0 for r in rows)
    assert rows[0]["corr_with_fp32"] == 1.0 and 0.98 < rows[1]["corr_with_fp32"] < 1.0
