"""``compare``: thesis-style table, permutation tests vs the reference, map correlations."""

from __future__ import annotations

import json

import pytest

from lesionlens.evaluation import compare, evaluate
from lesionlens.evaluation.compare import _method_names, to_markdown

from .conftest import write_maps


@pytest.fixture
def evaluated(synthetic, tmp_path):
    root, manifest = synthetic
    folders = []
    for name, kind, seed in [("good", "good", 1), ("good2", "good", 2), ("random", "random", 3)]:
        run = tmp_path / name
        maps = write_maps(root, run / "explain", "test", kind, seed=seed)
        evaluate(maps, manifest, threshold="best", hd95=False)
        folders.append(run)
    return manifest, folders


def test_compare_table_significance_and_correlation(evaluated, tmp_path):
    manifest, runs = evaluated
    out = tmp_path / "cmp"
    table = compare(runs, reference=0, n_permutations=2000, seed=0, out=out)
    assert list(table.method) == ["good", "good2", "random"]
    assert table.reference.tolist() == [True, False, False]
    assert table.n_paired.tolist() == [3, 3, 3]
    assert table.loc[2, "dice_mean"] < table.loc[0, "dice_mean"]
    # three patients: the exact test's smallest two-sided p is 2/8, so nothing is significant
    assert table.loc[2, "p_value"] == pytest.approx(0.25)
    assert not table.significant.any()
    corr = table.attrs["correlation_mean"]
    # healthy subjects' maps are independent noise, so the mean over subjects stays modest
    assert corr.loc["good", "good2"] > abs(corr.loc["good", "random"]) + 0.05
    assert corr.loc["good", "good"] == 1.0
    md = (out / "compare.md").read_text()
    assert "| **good** (ref.) |" in md and "Pearson" in md
    data = json.loads((out / "compare.json").read_text())
    assert data["n_permutations"] == 2000 and len(data["table"]) == 3
    with pytest.raises(ValueError, match="exists"):
        compare(runs, out=out)


def test_compare_marks_significant_difference(evaluated, tmp_path):
    manifest, runs = evaluated
    for run, value in [(runs[0], 0.8), (runs[2], 0.3)]:
        path = run / "explain" / "metrics.json"
        m = json.loads(path.read_text())
        m["dice_per_subject"] = {f"s{i}": value + 0.01 * (i % 3) for i in range(12)}
        path.write_text(json.dumps(m))
    table = compare([runs[0], runs[2]], n_permutations=2000)
    assert table.loc[1, "significant"] and table.loc[1, "p_adjusted"] < 0.01
    assert "†" in to_markdown(table, None)


def test_compare_refuses_unevaluated_folder(tmp_path):
    with pytest.raises(ValueError, match="run `lesionlens evaluate`"):
        compare([tmp_path])


def test_method_names_take_parent_folders_only_when_needed(tmp_path):
    runs = tmp_path / "runs"
    same_leaf = [runs / "unsup" / "maps-test", runs / "none" / "maps-test"]
    assert _method_names(same_leaf) == ["unsup/maps-test", "none/maps-test"]
    assert _method_names([tmp_path / "a", tmp_path / "b"]) == ["a", "b"]
