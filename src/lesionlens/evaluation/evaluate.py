"""``evaluate``: score a maps directory against the cohort (thesis ch. 5 §2, Table 5.4 columns).

Voxel AUROC / AUROC10 / AUPRC pool the brain voxels of every test subject whose voxels carry a
label: healthy subjects (all voxels negative, or their mask if they have one) and pathological
subjects with a mask; pathological subjects without a mask are left out. Dice, HD95 and the
localisation metrics are per pathological subject with a mask. The predicted lesion is
``(map >= threshold) ∧ brain`` — the thesis describes no brain masking, lesionlens restricts
every metric to the brain so that thresholds and scores see the same voxels **[inferred]**.
Lesion-mask voxels outside the brain mask are ignored.

Brain mask: :func:`~lesionlens.evaluation.brain.brain_mask` of the subject's image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cohort import Cohort, Subject, read_manifest
from ..errors import LesionLensInputError
from .classification import (
    SUBJECT_THRESHOLD_RULES,
    balanced_accuracy_threshold,
    classification_metrics,
)
from .files import load_subject, map_channels, read_predictions, write_csv, write_json
from .localisation import pointing_game, relevance_mass_accuracy, relevance_rank_accuracy
from .maps import total_variation
from .segmentation import dice_from_counts, hausdorff95
from .thresholds import (
    ThresholdRule,
    dice_curve,
    healthy_fpr_threshold,
    max_f1_threshold,
    parse_threshold_rule,
    threshold_grid,
)
from .voxel import PooledVoxelScores, voxel_auprc

PER_SUBJECT_COLUMNS = [
    "subject_id", "label", "has_mask", "dice", "hd95", "relevance_mass", "relevance_rank",
    "pointing_game", "lesion_voxels", "lesion_ml", "predicted_voxels", "predicted_fraction",
    "total_variation", "pred", "prob",
]  # fmt: skip


LESION_VOLUME_BINS_ML = (0.0, 3.0, 10.0, 30.0, math.inf)  # subject TPR reported per bin


@dataclass
class ScoredSubject:
    """One subject's brain voxels: scores (N,) or (N, K), target (N,) bool or None (unlabelled)."""

    subject: Subject
    scores: np.ndarray
    target: np.ndarray | None
    brain_bits: np.ndarray  # np.packbits of the (X, Y, Z) brain mask, for HD95
    shape: tuple[int, ...]
    spacing: tuple[float, ...]
    total_variation: float

    @property
    def has_dice(self) -> bool:
        return self.subject.label == 1 and self.target is not None

    def brain(self) -> np.ndarray:
        n = int(np.prod(self.shape))
        return np.unpackbits(self.brain_bits, count=n).astype(bool).reshape(self.shape)


def score_subject(maps_dir: str | Path, subject: Subject, channel: int | None) -> ScoredSubject:
    """Load a subject and keep only its brain voxels (see module doc for the labelling)."""
    vol = load_subject(maps_dir, subject, channel)
    if not vol.brain.any():
        raise LesionLensInputError(
            f"subject {subject.subject_id}: image {subject.images[0]} has no brain voxel (every "
            "voxel equals the background value)"
        )
    if vol.lesion is not None:
        target = vol.lesion[vol.brain]
    elif subject.label == 0:
        target = np.zeros(int(vol.brain.sum()), dtype=bool)
    else:
        target = None
    tv = total_variation(vol.attribution) if vol.attribution.ndim == 3 else math.nan
    return ScoredSubject(
        subject, vol.attribution[vol.brain], target, np.packbits(vol.brain.reshape(-1)),
        vol.brain.shape, vol.spacing, tv,
    )  # fmt: skip


def _pool(scored: list[ScoredSubject], column: int | None = None) -> PooledVoxelScores:
    pooled = PooledVoxelScores()
    for s in scored:
        if s.target is not None:
            pooled.update(s.scores if column is None else s.scores[:, column], s.target)
    return pooled


def select_channel(val: list[ScoredSubject], n_channels: int) -> tuple[int, list[float]]:
    """Channel of a K-channel map with the best pooled validation AUPRC → (index, AUPRCs)."""
    values = []
    for k in range(n_channels):
        scores, target = _pool(val, k).arrays()
        values.append(voxel_auprc(scores, target) if target.any() else math.nan)
    if not np.isfinite(values).any():
        raise LesionLensInputError(
            "choosing the channel of a multi-channel map needs validation patients with lesion "
            "masks; pass channel= (--channel) instead"
        )
    return int(np.nanargmax(values)), values


def validation_threshold(rule: ThresholdRule, val: list[ScoredSubject]) -> tuple[float, dict]:
    """Threshold from the validation maps for ``val-f1`` / ``healthy-fpr`` → (value, details)."""
    if rule.kind == "val-f1":
        patients = [s for s in val if s.has_dice]
        scores, target = _pool(patients).arrays()
        value, f1 = max_f1_threshold(scores, target)
        return value, {"val_f1": f1, "n_val_subjects": len(patients)}
    healthy = [s for s in val if s.subject.label == 0]
    scores = np.concatenate([s.scores for s in healthy]) if healthy else np.zeros(0, np.float32)
    value = healthy_fpr_threshold(scores, rule.param or 0.0)
    return value, {"n_val_subjects": len(healthy)}


def _val_subjects(cohort: Cohort, rule: ThresholdRule, need_masks: bool) -> list[Subject]:
    val = cohort.split("val")
    keep = []
    for s in val:
        patient_with_mask = s.label == 1 and s.mask is not None
        if (rule.kind == "val-f1" or need_masks) and patient_with_mask:
            keep.append(s)
        elif (rule.kind == "healthy-fpr" or need_masks) and s.label == 0:
            keep.append(s)
    if not keep:
        wanted = "healthy subjects" if rule.kind == "healthy-fpr" else "patients with masks"
        raise LesionLensInputError(
            f"{cohort.manifest}: threshold rule {rule.text!r} needs validation {wanted}, the "
            "'val' split has none"
        )
    return keep


def _dice_table(dice_subjects: list[ScoredSubject], thresholds: np.ndarray) -> np.ndarray:
    """Per-subject Dice at each threshold, shape (n_subjects, n_thresholds)."""
    if not dice_subjects:
        return np.zeros((0, thresholds.size))
    return np.stack([dice_curve(s.scores, s.target, thresholds) for s in dice_subjects])


def _subject_row(s: ScoredSubject, threshold: float, prediction: dict, with_hd95: bool) -> dict:
    pred = s.scores >= threshold
    row = {
        "subject_id": s.subject.subject_id,
        "label": s.subject.label,
        "has_mask": int(s.subject.mask is not None),
        "predicted_voxels": int(pred.sum()),
        "predicted_fraction": float(pred.mean()),
        "total_variation": s.total_variation,
        "pred": prediction.get("pred"),
        "prob": prediction.get("prob"),
    }
    if s.has_dice:
        t = s.target
        row["lesion_voxels"] = int(t.sum())
        row["lesion_ml"] = float(t.sum() * np.prod(s.spacing) / 1000.0)
        row["dice"] = dice_from_counts(int((pred & t).sum()), int(pred.sum()), int(t.sum()))
        row["relevance_mass"] = relevance_mass_accuracy(s.scores, t)
        row["relevance_rank"] = relevance_rank_accuracy(s.scores, t)
        row["pointing_game"] = pointing_game(s.scores, t)
        if with_hd95:
            brain = s.brain()
            pred_vol, ref_vol = np.zeros(s.shape, bool), np.zeros(s.shape, bool)
            pred_vol[brain], ref_vol[brain] = pred, t
            row["hd95"] = hausdorff95(pred_vol, ref_vol, s.spacing)
    return row


def tpr_by_lesion_volume(
    rows: list[dict], edges: tuple[float, ...] = LESION_VOLUME_BINS_ML
) -> list[dict]:
    """Subject-level TPR of the patients with a lesion mask and a decision, per lesion-volume
    bin ``[low, high)`` in mL (small lesions are the ones a classifier misses first)."""
    patients = [r for r in rows if "lesion_ml" in r and r.get("pred") is not None]
    bins = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        hits = [float(r["pred"]) > 0.5 for r in patients if low <= r["lesion_ml"] < high]
        bins.append({
            "low_ml": low, "high_ml": None if math.isinf(high) else high, "n": len(hits),
            "detected": int(sum(hits)), "tpr": float(np.mean(hits)) if hits else math.nan,
        })
    return bins


def _mean_std(values: list[float]) -> tuple[float, float]:
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    return (float(v.mean()), float(v.std())) if v.size else (math.nan, math.nan)


def _classification(subjects: list[Subject], predictions: dict) -> dict[str, float]:
    rows = [(s, predictions[s.subject_id]) for s in subjects if s.subject_id in predictions]
    rows = [(s, p) for s, p in rows if "pred" in p]
    if not rows:
        nan = math.nan
        return {"accuracy": nan, "balanced_accuracy": nan, "tpr": nan, "tnr": nan, "auc": nan}
    for s, p in rows:
        if "label" in p and int(p["label"]) != s.label:
            raise LesionLensInputError(
                f"subject {s.subject_id}: predictions.csv says label {int(p['label'])}, the "
                f"cohort says {s.label}; evaluate the maps against the cohort they came from"
            )
    labels = [s.label for s, _ in rows]
    preds = [int(p["pred"]) for _, p in rows]
    scores = [p.get("prob", p.get("logit", math.nan)) for _, p in rows]
    has_scores = all(math.isfinite(x) for x in scores)
    return classification_metrics(labels, preds, scores if has_scores else None)


def subject_decisions(
    predictions: dict, rule: str, cohort: Cohort, val_maps: str | Path | None
) -> tuple[dict, float]:
    """``predictions`` with ``pred`` re-decided by ``rule`` → (predictions, logit threshold).

    ``zero`` keeps ``explain``'s decision (logit > 0); ``val-bacc`` decides ``logit > t`` with
    ``t`` the balanced-accuracy-optimal threshold of the val split's ``predictions.csv``. Maps
    without ``predictions.csv`` have no decision to calibrate (threshold NaN)."""
    if rule not in SUBJECT_THRESHOLD_RULES:
        raise LesionLensInputError(
            f"subject threshold rule must be one of {', '.join(SUBJECT_THRESHOLD_RULES)}, "
            f"got {rule!r}"
        )
    if rule == "zero":
        return predictions, 0.0
    if val_maps is None:
        raise LesionLensInputError(
            "subject threshold 'val-bacc' needs the validation maps' predictions.csv; pass "
            "val_maps (--val-maps)"
        )
    if not predictions:  # maps without a classifier (e.g. the intensity floor): nothing to decide
        return predictions, math.nan
    val = read_predictions(val_maps)
    pairs = [(val[s.subject_id]["logit"], s.label) for s in cohort.split("val")
             if "logit" in val.get(s.subject_id, {})]
    if not pairs:
        raise LesionLensInputError(
            f"{Path(val_maps) / 'predictions.csv'}: no logit for a val subject of the cohort; "
            "run explain on --split val with the same run"
        )
    try:
        t = balanced_accuracy_threshold(*zip(*pairs, strict=True))
    except ValueError as exc:
        raise LesionLensInputError(f"subject threshold 'val-bacc': {exc}") from None
    decided = {
        sid: {**p, "pred": float(p["logit"] > t)} if "logit" in p else p
        for sid, p in predictions.items()
    }
    return decided, t


def evaluate(
    maps_dir: str | Path,
    cohort: str | Path | Cohort,
    *,
    split: str = "test",
    val_maps: str | Path | None = None,
    threshold: str | float = "val-f1",
    channel: int | None = None,
    hd95: bool = True,
    overwrite: bool = False,
    subject_threshold: str = "zero",
) -> dict:
    """Score the maps of ``split`` and write ``metrics.json``, ``per_subject.csv`` and
    ``dice_vs_threshold.csv`` into ``maps_dir``. Returns the metrics dict.

    Args:
        maps_dir: output folder of ``explain`` (``maps/<subject_id>.nii.gz``, ``predictions.csv``).
        cohort: manifest CSV, its folder, or a :class:`~lesionlens.cohort.Cohort`.
        split: the split whose subjects are scored.
        val_maps: maps folder of the ``val`` split; needed by ``val-f1`` / ``healthy-fpr`` and to
            choose the channel of K-channel maps.
        threshold: ``val-f1``, ``healthy-fpr:<q>``, ``best`` (test oracle, optimistic) or a number.
        channel: channel of 4-D maps to score; ``None`` picks the best validation AUPRC.
        hd95: also compute the 95 % Hausdorff distance (MONAI; the slowest metric).
        overwrite: replace an existing ``metrics.json`` (refused otherwise).
        subject_threshold: the subject-level decision behind TPR / TNR / balanced accuracy —
            ``zero`` (logit > 0, as ``explain`` wrote it) or ``val-bacc`` (logit > t, t chosen
            on the val split's predictions; :func:`subject_decisions`).

    Raises:
        ValueError: a missing map, a map on another grid, or a rule whose data is missing.
    """
    cohort = cohort if isinstance(cohort, Cohort) else read_manifest(cohort)
    rule = parse_threshold_rule(threshold)
    maps_dir = Path(maps_dir)
    if (maps_dir / "metrics.json").exists() and not overwrite:
        raise LesionLensInputError(f"{maps_dir / 'metrics.json'} exists; pass --overwrite")
    predictions, subject_t = subject_decisions(
        read_predictions(maps_dir), subject_threshold, cohort, val_maps
    )
    subjects = cohort.split(split)
    if not subjects:
        raise LesionLensInputError(f"{cohort.manifest}: split {split!r} holds no subject")
    n_channels = map_channels(maps_dir, subjects[0])
    choose_channel = n_channels > 1 and channel is None
    if channel is not None and not 0 <= channel < n_channels:
        raise LesionLensInputError(f"channel must be in [0, {n_channels}), got {channel}")

    details: dict = {}
    value = math.nan
    if rule.needs_validation or choose_channel:
        if val_maps is None:
            why = f"threshold rule {rule.text!r}" if rule.needs_validation else "channel choice"
            raise LesionLensInputError(
                f"{why} needs the validation maps; pass val_maps (--val-maps)"
            )
        val_subjects = _val_subjects(cohort, rule, need_masks=choose_channel)
        val = [
            score_subject(val_maps, s, None if choose_channel else channel) for s in val_subjects
        ]
        if choose_channel:
            channel, details["channel_val_auprc"] = select_channel(val, n_channels)
            for s in val:
                s.scores = s.scores[:, channel]
        if rule.needs_validation:
            value, more = validation_threshold(rule, val)
            details.update(more)
    if n_channels == 1:
        channel = None

    scored = [score_subject(maps_dir, s, channel) for s in subjects]
    dice_subjects = [s for s in scored if s.has_dice]
    pooled = _pool(scored)
    all_scores, _ = pooled.arrays()
    grid_source = all_scores if all_scores.size else np.concatenate([s.scores for s in scored])
    grid = threshold_grid(grid_source)
    if rule.kind == "fixed":
        value = float(rule.param)
    elif rule.kind == "best":
        if not dice_subjects:
            raise LesionLensInputError(f"threshold 'best' needs {split} patients with lesion masks")
        table = _dice_table(dice_subjects, grid)
        value = float(grid[int(np.argmax(table.mean(axis=0)))])
    grid = np.union1d(grid, [value])
    curve = _dice_table(dice_subjects, grid)

    rows = [_subject_row(s, value, predictions.get(s.subject.subject_id, {}), hd95) for s in scored]
    dice_rows = [r for r in rows if "dice" in r]
    dice_mean, dice_std = _mean_std([r["dice"] for r in dice_rows])
    hd_mean, hd_std = _mean_std([r.get("hd95", math.nan) for r in dice_rows])
    healthy_pred = [r["predicted_fraction"] for r in rows if r["label"] == 0]

    metrics = {
        "threshold": value,
        "threshold_rule": rule.text,
        "threshold_optimistic": rule.optimistic,
        "dice_mean": dice_mean,
        "dice_std": dice_std,
        "dice_per_subject": {r["subject_id"]: r["dice"] for r in dice_rows},
        **pooled.aggregate(),
        "auroc10_normalisation": "partial ROC area up to FPR 0.1, divided by 0.1",
        **_classification(subjects, predictions),
        "subject_threshold": subject_t,
        "subject_threshold_rule": subject_threshold,
        "n_subjects": len(subjects),
        "n_dice_subjects": len(dice_rows),
        "n_voxels": pooled.n_voxels,
        "hd95_mean": hd_mean,
        "hd95_std": hd_std,
        "relevance_mass_accuracy": _mean_std([r["relevance_mass"] for r in dice_rows])[0],
        "relevance_rank_accuracy": _mean_std([r["relevance_rank"] for r in dice_rows])[0],
        "pointing_game": _mean_std([r["pointing_game"] for r in dice_rows])[0],
        "healthy_predicted_fraction": _mean_std(healthy_pred)[0],
        "tpr_by_lesion_volume": tpr_by_lesion_volume(rows),
        "channel": channel,
        "split": split,
        "cohort": str(cohort.manifest.resolve()),
        **details,
    }
    write_json(maps_dir / "metrics.json", metrics)
    write_csv(maps_dir / "per_subject.csv", rows, PER_SUBJECT_COLUMNS)
    curve_rows = [
        {"threshold": float(t), "dice_mean": m, "dice_std": d, "n_subjects": len(dice_subjects)}
        for t, m, d in zip(
            grid,
            curve.mean(axis=0) if len(dice_subjects) else np.full(grid.size, math.nan),
            curve.std(axis=0) if len(dice_subjects) else np.full(grid.size, math.nan),
            strict=True,
        )
    ]
    write_csv(maps_dir / "dice_vs_threshold.csv", curve_rows, list(curve_rows[0]))
    return metrics
