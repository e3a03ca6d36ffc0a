"""Input checks shared by the metric functions (ValueError/TypeError naming what was received)."""

from __future__ import annotations

import numpy as np


def as_array(x, name: str) -> np.ndarray:
    """``x`` as a numpy array (CPU torch tensors and sequences accepted)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as exc:
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from exc


def as_binary(x, name: str) -> np.ndarray:
    """``x`` as a bool array; only {0, 1} / bool values are accepted."""
    a = as_array(x, name)
    if a.dtype == bool:
        return a
    if not np.isin(a, (0, 1)).all():
        shown = ", ".join(f"{v:g}" for v in np.unique(a)[:4])
        raise ValueError(f"{name} must be binary (0/1), got values {shown}...")
    return a.astype(bool)


def as_scores(x, name: str) -> np.ndarray:
    """``x`` as a finite float array."""
    a = as_array(x, name)
    if not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    a = a.astype(np.float32 if a.dtype != np.float64 else np.float64, copy=False)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(a)).sum())} NaN/Inf value(s)")
    return a


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}"
        )


def in_brain(scores, target, brain=None, names: tuple[str, str] = ("scores", "target")):
    """Flatten ``scores`` and binary ``target`` (same shape) to the voxels inside ``brain``
    (all voxels when None) → (scores (N,), target (N,) bool); ``names`` label error messages."""
    s = as_scores(scores, names[0])
    t = as_binary(target, names[1])
    same_shape(s, t, names[0], names[1])
    if brain is not None:
        b = as_binary(brain, "brain")
        same_shape(s, b, names[0], "brain")
        return s[b], t[b]
    return s.reshape(-1), t.reshape(-1)
