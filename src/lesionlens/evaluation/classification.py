"""Image-level classification metrics (thesis ch. 2 §4.2; TPR/TNR of Table 5.4).

Shape convention: ``labels`` and ``preds`` are ``(N,)`` arrays of 0 (healthy) / 1 (pathological),
``scores`` an ``(N,)`` array of probabilities or logits (higher = pathological).
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_binary, as_scores, same_shape


def _rate(hits: np.ndarray) -> float:
    return float(hits.mean()) if hits.size else math.nan


def classification_metrics(labels, preds, scores=None) -> dict[str, float]:
    """Accuracy, balanced accuracy, TPR (sensitivity), TNR (specificity) and AUC.

    ``balanced_accuracy = (TPR + TNR) / 2`` (the thesis' "weighted accuracy"). A rate whose
    class is absent is NaN, and so is the balanced accuracy then; ``auc`` is NaN without
    ``scores`` or with one class only.

    >>> classification_metrics([0, 0, 1, 1], [0, 1, 1, 1])["balanced_accuracy"]
    0.75
    """
    from sklearn.metrics import roc_auc_score

    y = as_binary(labels, "labels").reshape(-1)
    p = as_binary(preds, "preds").reshape(-1)
    same_shape(y, p, "labels", "preds")
    tpr, tnr = _rate(p[y]), _rate(~p[~y])
    out = {
        "accuracy": _rate(p == y),
        "balanced_accuracy": (tpr + tnr) / 2,
        "tpr": tpr,
        "tnr": tnr,
        "auc": math.nan,
    }
    if scores is not None:
        s = as_scores(scores, "scores").reshape(-1)
        same_shape(y, s, "labels", "scores")
        if 0 < y.sum() < y.size:
            out["auc"] = float(roc_auc_score(y, s))
    return out


SUBJECT_THRESHOLD_RULES = ("zero", "val-bacc")


def balanced_accuracy_threshold(scores, labels) -> float:
    """Decision threshold ``t`` on ``scores`` (logits) maximising the balanced accuracy of
    ``scores > t`` — Youden's J on the validation split, for a decision calibrated on data the
    model was not trained on (a 2-D model's subject logit, its maximum slice logit, is biased
    upwards). Candidates are the midpoints between consecutive distinct scores and one step
    beyond each end; ties go to the candidate closest to 0, the model's own threshold.

    Raises ``ValueError`` when a class is absent or a score is not finite.

    >>> balanced_accuracy_threshold([-1.0, 2.0, 3.0, 5.0], [0, 0, 1, 1])
    2.5
    """
    y = as_binary(labels, "labels").reshape(-1)
    s = as_scores(scores, "scores").reshape(-1).astype(np.float64)
    same_shape(y, s, "labels", "scores")
    if not 0 < y.sum() < y.size:
        raise ValueError("calibrating a decision threshold needs healthy and pathological subjects")
    if not np.isfinite(s).all():
        raise ValueError("calibrating a decision threshold needs finite scores")
    distinct = np.unique(s)
    candidates = np.concatenate(
        [[distinct[0] - 1.0], (distinct[1:] + distinct[:-1]) / 2, [distinct[-1] + 1.0]]
    )
    above = s[None, :] > candidates[:, None]
    bacc = (above[:, y].mean(1) + (~above[:, ~y]).mean(1)) / 2
    best = np.flatnonzero(bacc >= bacc.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best]))]])
