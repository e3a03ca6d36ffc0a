"""Deterministic stratified train/val/test split (per label, largest remainder)."""

from __future__ import annotations

import numpy as np

from ..cohort import SPLITS


def check_ratios(ratios: tuple[float, float, float]) -> tuple[float, float, float]:
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(f"ratios must be three non-negative numbers summing to 1, got {ratios}")
    return tuple(float(r) for r in ratios)  # type: ignore[return-value]


def stratified_split(
    ids: list[str], labels: list[int], ratios: tuple[float, float, float], seed: int
) -> dict[str, str]:
    """subject_id → split. Each label is shuffled with ``seed`` (ids sorted first, so the result
    does not depend on input order) and cut by ``ratios``, rounding by largest remainder; a
    class with a single subject goes to train."""
    ratios = check_ratios(ratios)
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} ids but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    out: dict[str, str] = {}
    for label in sorted(set(labels)):
        group = sorted(i for i, lb in zip(ids, labels, strict=True) if lb == label)
        group = [group[k] for k in rng.permutation(len(group))]
        exact = np.asarray(ratios) * len(group)
        counts = np.floor(exact).astype(int)
        for k in np.argsort(-(exact - counts), kind="stable")[: len(group) - counts.sum()]:
            counts[k] += 1
        start = 0
        for split, n in zip(SPLITS, counts, strict=True):
            out.update({sid: split for sid in group[start : start + n]})
            start += n
    return out
