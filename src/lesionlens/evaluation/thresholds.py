"""Thresholds that turn an attribution map into a lesion mask (thesis ch. 5 §2).

A voxel is predicted pathological when ``map >= threshold``. Rules (strings, as on the CLI):

- ``val-f1``: the threshold of maximal F1 on the pooled brain voxels of the **validation
  patients** with a mask (argmax F1 over scikit-learn's ``precision_recall_curve``, as the thesis
  and Silva-Rodríguez's code do).
- ``healthy-fpr:<q>`` (e.g. ``healthy-fpr:0.01``): label-free; the smallest threshold exceeded by
  at most a fraction ``q`` of the **healthy validation** brain voxels. No lesion mask is needed
  (field anchors §5: report Dice at a threshold fixed on healthy data only).
- ``best``: oracle, the threshold of maximal mean test Dice on the Dice-vs-threshold curve
  (⌈DSC⌉ in the field's tables); flagged optimistic in ``metrics.json``.
- a number: a fixed threshold.

Shape convention: pooled inputs are flat ``(N,)`` arrays of brain voxels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import as_binary, as_scores, same_shape

RULES = ("val-f1", "healthy-fpr:<q>", "best", "<float>")


@dataclass(frozen=True)
class ThresholdRule:
    """A parsed threshold rule; ``param`` is q for ``healthy-fpr`` and the value for ``fixed``."""

    kind: str  # "val-f1" | "healthy-fpr" | "best" | "fixed"
    param: float | None = None

    @property
    def text(self) -> str:
        if self.kind == "healthy-fpr":
            return f"healthy-fpr:{self.param:g}"
        if self.kind == "fixed":
            return f"{self.param:g}"
        return self.kind

    @property
    def needs_validation(self) -> bool:
        return self.kind in ("val-f1", "healthy-fpr")

    @property
    def optimistic(self) -> bool:
        """True for the test-set oracle: its Dice is an upper bound, not a result."""
        return self.kind == "best"


def parse_threshold_rule(rule: str | float) -> ThresholdRule:
    """Parse ``val-f1``, ``healthy-fpr:0.01``, ``best`` or a number → :class:`ThresholdRule`."""
    if isinstance(rule, int | float) and not isinstance(rule, bool):
        if not math.isfinite(rule):
            raise ValueError(f"a fixed threshold must be finite, got {rule}")
        return ThresholdRule("fixed", float(rule))
    if not isinstance(rule, str):
        raise TypeError(f"threshold rule must be a string or a number, got {type(rule).__name__}")
    text = rule.strip().lower()
    if text in ("val-f1", "best"):
        return ThresholdRule(text)
    if text.startswith("healthy-fpr"):
        _, _, q_text = text.partition(":")
        try:
            q = float(q_text) if q_text else 0.01
        except ValueError:
            q = math.nan
        if not 0 <= q < 1:
            raise ValueError(f"healthy-fpr needs a fraction in [0, 1) such as 0.01, got {q_text!r}")
        return ThresholdRule("healthy-fpr", q)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"threshold rule must be one of {', '.join(RULES)}, got {rule!r}"
        ) from None
    return parse_threshold_rule(value)


def max_f1_threshold(scores, target) -> tuple[float, float]:
    """``(threshold, F1)`` maximising voxel F1 of ``scores >= threshold`` against ``target``.

    Raises ValueError when ``target`` holds no positive voxel (F1 undefined).
    """
    from sklearn.metrics import precision_recall_curve

    s = as_scores(scores, "scores").reshape(-1)
    t = as_binary(target, "target").reshape(-1)
    same_shape(s, t, "scores", "target")
    if not t.any():
        raise ValueError("val-f1 needs lesion voxels in the validation masks, got none")
    precision, recall, thresholds = precision_recall_curve(t, s)
    p, r = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


def healthy_fpr_threshold(healthy_scores, fpr: float = 0.01) -> float:
    """Smallest threshold t with ``mean(healthy_scores >= t) <= fpr`` (label-free rule).

    >>> healthy_fpr_threshold(np.arange(100, dtype=np.float32), 0.05) > 94
    True
    """
    h = as_scores(healthy_scores, "healthy_scores").reshape(-1).astype(np.float32)
    if h.size == 0:
        raise ValueError("healthy-fpr needs healthy validation brain voxels, got none")
    if not 0 <= fpr < 1:
        raise ValueError(f"fpr must be in [0, 1), got {fpr}")
    allowed = int(math.floor(fpr * h.size))
    ordered = np.sort(h)
    below = ordered[h.size - allowed - 1]  # every voxel strictly above it may be positive
    return float(np.nextafter(below, np.float32(np.inf)))


def threshold_grid(scores, n: int = 81, min_fraction: float = 1e-4) -> np.ndarray:
    """Thresholds for Dice-vs-threshold curves: quantiles of ``scores`` exceeded by a
    log-spaced fraction in [``min_fraction``, 1] of the voxels (dense where lesions live)."""
    s = as_scores(scores, "scores").reshape(-1)
    if s.size == 0:
        raise ValueError("threshold_grid needs at least one score")
    fractions = np.logspace(math.log10(min_fraction), 0, n)
    return np.unique(np.quantile(s, 1 - fractions).astype(np.float64))


def dice_curve(scores, target, thresholds) -> np.ndarray:
    """Dice of ``scores >= t`` against ``target`` for each t, shape ``(len(thresholds),)``.

    One subject's flat brain voxels; exact (one sort, then binary searches).
    Both empty at a threshold → 1.0, as :func:`~lesionlens.evaluation.lesion_dice`.
    """
    s = as_scores(scores, "scores").reshape(-1)
    t = as_binary(target, "target").reshape(-1)
    same_shape(s, t, "scores", "target")
    thr = np.asarray(thresholds, dtype=s.dtype)
    all_sorted, lesion_sorted = np.sort(s), np.sort(s[t])
    n_pred = s.size - np.searchsorted(all_sorted, thr, side="left")
    inter = lesion_sorted.size - np.searchsorted(lesion_sorted, thr, side="left")
    total = n_pred + lesion_sorted.size
    return np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0)
