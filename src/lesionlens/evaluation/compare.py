"""``compare``: one table over several evaluated maps folders (thesis Tables 5.2–5.5).

Each input is a maps folder already scored by :func:`~lesionlens.evaluation.evaluate` (it holds
``metrics.json``), or a run folder whose ``explain/`` or ``maps/`` subfolder is one; the first
match of ``INPUT``, ``INPUT/explain``, ``INPUT/maps`` holding ``metrics.json`` is used, and the
method is named after ``INPUT``'s folder name, with as many parent folders as it takes to tell
the inputs apart.

Per-subject Dice of each method is compared with the reference method by a paired sign-flip
permutation test (10,000 permutations, seeded) on the subjects both scored, Bonferroni-corrected
across the comparisons; † marks p_adjusted < 0.05. When the inputs come from one cohort (given,
or recorded in their ``metrics.json``), the Pearson correlation of their maps over brain voxels
(Eq. 5.12) is reported as mean ± std over the common subjects (Tables 5.2/5.3).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..cohort import Cohort, read_manifest
from ..errors import LesionLensInputError
from ..io import atomic_file
from .files import load_subject, write_json
from .maps import map_correlation
from .significance import bonferroni, paired_permutation_test

TABLE_METRICS = ("auroc", "auroc10", "auprc", "tpr", "tnr")
OUTPUT_FILES = ("compare.csv", "compare.md", "compare.json")


def resolve_evaluated(path: str | Path) -> Path:
    """The maps folder holding ``metrics.json`` for a maps or run folder (see module doc)."""
    p = Path(path)
    for candidate in (p, p / "explain", p / "maps"):
        if (candidate / "metrics.json").is_file():
            return candidate
    raise LesionLensInputError(
        f"{p}: no metrics.json in it nor in its explain/ or maps/ subfolder; run "
        "`lesionlens evaluate` on it first"
    )


def _method_names(inputs: list[Path]) -> list[str]:
    """The shortest trailing parts of the input paths that tell them apart ("unsup/maps-test")."""
    parts = [p.resolve().parts for p in inputs]
    for depth in range(1, max(len(q) for q in parts) + 1):
        names = ["/".join(q[-depth:]) for q in parts]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in inputs]


def _read_metrics(folder: Path) -> dict:
    try:
        return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LesionLensInputError(f"{folder / 'metrics.json'}: unreadable ({exc})") from None


def _nan(x) -> float:
    return math.nan if x is None else float(x)


def significance_column(
    metrics: list[dict], reference: int, n_permutations: int, seed: int
) -> tuple[list[float], list[int]]:
    """p-values of each method's per-subject Dice against the reference → (p, n paired)."""
    ref = metrics[reference].get("dice_per_subject") or {}
    p_values, n_pairs = [], []
    for i, m in enumerate(metrics):
        dice = m.get("dice_per_subject") or {}
        common = sorted(set(ref) & set(dice))
        n_pairs.append(len(common))
        if i == reference or len(common) < 2:
            p_values.append(math.nan)
            continue
        a = [_nan(dice[s]) for s in common]
        b = [_nan(ref[s]) for s in common]
        p_values.append(paired_permutation_test(a, b, n_permutations, seed + i))
    return p_values, n_pairs


def correlation_matrix(
    folders: list[Path], names: list[str], cohort: Cohort, split: str, channels: list
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Pearson map correlation over brain voxels for every pair of methods → (mean, std, n)."""
    subjects = cohort.split(split)
    values: dict[tuple[int, int], list[float]] = {
        pair: [] for pair in itertools.combinations(range(len(folders)), 2)
    }
    for s in subjects:
        vols = [load_subject(f, s, c) for f, c in zip(folders, channels, strict=True)]
        brain = vols[0].brain
        for i, j in values:
            values[i, j].append(map_correlation(vols[i].attribution, vols[j].attribution, brain))
    mean = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    std = pd.DataFrame(np.zeros((len(names),) * 2), index=names, columns=names)
    for (i, j), v in values.items():
        arr = np.array([x for x in v if math.isfinite(x)])
        mu, sd = (arr.mean(), arr.std()) if arr.size else (math.nan, math.nan)
        mean.iloc[i, j] = mean.iloc[j, i] = mu
        std.iloc[i, j] = std.iloc[j, i] = sd
    return mean, std, len(subjects)


def _fmt(x: float, digits: int = 2) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def to_markdown(table: pd.DataFrame, corr: tuple[pd.DataFrame, pd.DataFrame] | None) -> str:
    """Thesis-style table: Dice mean±std with †, then AUROC … TNR; plus the correlation matrix."""
    head = ["method", "Dice", "AUROC", "AUROC10", "AUPRC", "TPR", "TNR", "p (Bonferroni)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        dice = f"{_fmt(r.dice_mean)}±{_fmt(r.dice_std)}{'†' if r.significant else ''}"
        name = f"**{r.method}** (ref.)" if r.reference else r.method
        cells = [name, dice, *(_fmt(r[m]) for m in TABLE_METRICS), _fmt(r.p_adjusted, 4)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("† significantly different from the reference (paired permutation test on "
                 "per-subject Dice, Bonferroni-corrected, α = 0.05).")  # fmt: skip
    if corr is not None:
        mean, std = corr
        lines += ["", "Pearson correlation of the maps over brain voxels (mean±std):", ""]
        lines.append("| | " + " | ".join(mean.columns) + " |")
        lines.append("|" + "---|" * (len(mean.columns) + 1))
        for a in mean.index:
            cells = [f"{_fmt(mean.loc[a, b])}±{_fmt(std.loc[a, b])}" for b in mean.columns]
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def compare(
    inputs: list[str | Path],
    cohort: str | Path | Cohort | None = None,
    reference: int = 0,
    n_permutations: int = 10_000,
    seed: int = 0,
    out: str | Path | None = None,
    alpha: float = 0.05,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Compare evaluated maps folders (see module doc) → one row per method.

    Columns: method, dice_mean, dice_std, auroc, auroc10, auprc, tpr, tnr, threshold_rule,
    n_paired, p_value, p_adjusted, significant, reference. ``df.attrs`` holds the correlation
    matrices (``correlation_mean``, ``correlation_std``) when they were computed. With ``out``,
    writes compare.csv, compare.md and compare.json there (refused if present unless
    ``overwrite``).
    """
    if not inputs:
        raise LesionLensInputError("compare needs at least one maps or run folder")
    if not -len(inputs) <= reference < len(inputs):
        raise LesionLensInputError(
            f"reference must index one of {len(inputs)} inputs, got {reference}"
        )
    reference %= len(inputs)
    if out is not None and not overwrite:
        existing = [f for f in OUTPUT_FILES if (Path(out) / f).exists()]
        if existing:
            raise LesionLensInputError(f"{out}: {existing[0]} exists; pass --overwrite")
    folders = [resolve_evaluated(p) for p in inputs]
    names = _method_names([Path(p) for p in inputs])
    metrics = [_read_metrics(f) for f in folders]

    p_values, n_pairs = significance_column(metrics, reference, n_permutations, seed)
    p_adjusted = bonferroni(p_values)
    table = pd.DataFrame(
        {
            "method": names,
            "dice_mean": [_nan(m.get("dice_mean")) for m in metrics],
            "dice_std": [_nan(m.get("dice_std")) for m in metrics],
            **{k: [_nan(m.get(k)) for m in metrics] for k in TABLE_METRICS},
            "threshold_rule": [m.get("threshold_rule") for m in metrics],
            "n_paired": n_pairs,
            "p_value": p_values,
            "p_adjusted": p_adjusted,
            "significant": [bool(p < alpha) for p in p_adjusted],
            "reference": [i == reference for i in range(len(names))],
        }
    )

    corr = None
    cohort_paths = {m.get("cohort") for m in metrics}
    splits = {m.get("split", "test") for m in metrics}
    if cohort is None and len(cohort_paths) == 1 and None not in cohort_paths:
        candidate = Path(cohort_paths.pop())
        cohort = candidate if candidate.is_file() else None
    if cohort is not None and len(folders) > 1 and len(splits) == 1:
        cohort = cohort if isinstance(cohort, Cohort) else read_manifest(cohort)
        channels = [m.get("channel") for m in metrics]
        mean, std, _ = correlation_matrix(folders, names, cohort, splits.pop(), channels)
        corr = (mean, std)
        table.attrs["correlation_mean"] = mean
        table.attrs["correlation_std"] = std

    if out is not None:
        _write_outputs(Path(out), table, corr, n_permutations, seed, alpha)
    return table


def _write_outputs(out: Path, table: pd.DataFrame, corr, n_permutations, seed, alpha) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plain = table.copy()
    plain.attrs = {}
    with atomic_file(out / "compare.csv") as tmp:
        plain.to_csv(tmp, index=False)
    with atomic_file(out / "compare.md") as tmp:
        tmp.write_text(to_markdown(table, corr), encoding="utf-8")
    payload = {
        "table": plain.to_dict(orient="records"),
        "test": "paired sign-flip permutation test on per-subject Dice, Bonferroni",
        "n_permutations": n_permutations,
        "seed": seed,
        "alpha": alpha,
    }
    if corr is not None:
        payload["correlation_mean"] = corr[0].to_dict()
        payload["correlation_std"] = corr[1].to_dict()
    write_json(out / "compare.json", payload)
