"""Reading a maps directory (DESIGN.md "Maps directory") and writing evaluation outputs atomically.

A maps directory holds ``maps/<subject_id>.nii.gz`` (float32 on the image's grid; a
counterfactual map with K channels is 4-D, channels last) and optionally ``predictions.csv``
(subject_id, label, logit, prob, pred).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cohort import GRID_ATOL, Subject
from ..errors import LesionLensInputError
from ..io import atomic_file, load_nifti, read_image, read_volume
from .brain import brain_mask
from .segmentation import voxel_spacing


def maps_folder(maps_dir: str | Path) -> Path:
    """``maps_dir/maps``, refused with one line when absent."""
    folder = Path(maps_dir) / "maps"
    if not folder.is_dir():
        raise LesionLensInputError(
            f"{maps_dir}: no 'maps/' folder; pass the output folder of `lesionlens explain` "
            "(maps/<subject_id>.nii.gz and predictions.csv)"
        )
    return folder


def map_path(maps_dir: str | Path, subject_id: str) -> Path:
    return maps_folder(maps_dir) / f"{subject_id}.nii.gz"


def map_channels(maps_dir: str | Path, subject: Subject) -> int:
    """Number of channels K of a subject's map (1 for a 3-D map), read from the header only."""
    path = _existing_map(maps_dir, subject)
    shape = load_nifti(path).shape
    return int(shape[3]) if len(shape) == 4 else 1


def _existing_map(maps_dir: str | Path, subject: Subject) -> Path:
    path = map_path(maps_dir, subject.subject_id)
    if not path.is_file():
        raise LesionLensInputError(
            f"subject {subject.subject_id}: map file {path} not found; run `lesionlens explain` "
            "on this subject's split"
        )
    return path


@dataclass
class SubjectVolumes:
    """One subject's map (X, Y, Z[, K]) float32, brain (X, Y, Z) bool, lesion mask or None."""

    subject: Subject
    attribution: np.ndarray
    brain: np.ndarray
    lesion: np.ndarray | None
    spacing: tuple[float, ...]


def load_subject(
    maps_dir: str | Path, subject: Subject, channel: int | None = None
) -> SubjectVolumes:
    """Read image, brain mask, lesion mask and map of ``subject``; a map on another grid than the
    image is refused with one line naming the subject and the file.

    ``channel`` picks one channel of a 4-D map (channels last); ``None`` keeps all of them.
    """
    image, affine = read_image(subject.images)
    path = _existing_map(maps_dir, subject)
    img = load_nifti(path)
    grid = image.shape[1:]
    data = np.asarray(img.dataobj, dtype=np.float32)
    if data.shape[:3] != grid or data.ndim not in (3, 4):
        raise LesionLensInputError(
            f"subject {subject.subject_id}: map file {path} has shape {data.shape}, expected the "
            f"image's grid {grid} (or {grid} + (K,) channels last)"
        )
    if not np.allclose(img.affine, affine, atol=GRID_ATOL):
        raise LesionLensInputError(
            f"subject {subject.subject_id}: map file {path} has another affine than the image; "
            "write maps on the image's grid"
        )
    if not np.isfinite(data).all():
        raise LesionLensInputError(
            f"subject {subject.subject_id}: map file {path} holds NaN/Inf values"
        )
    if channel is not None and data.ndim == 4:
        if not 0 <= channel < data.shape[3]:
            raise LesionLensInputError(
                f"subject {subject.subject_id}: channel {channel} requested but map file {path} "
                f"has {data.shape[3]} channel(s)"
            )
        data = data[..., channel]
    elif data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    lesion = None
    if subject.mask is not None:
        lesion = read_volume(subject.mask)[0] > 0.5
    return SubjectVolumes(subject, data, brain_mask(image), lesion, voxel_spacing(affine))


def read_predictions(maps_dir: str | Path) -> dict[str, dict[str, float]]:
    """``predictions.csv`` as {subject_id: {label, logit, prob, pred}}; {} if absent."""
    path = Path(maps_dir) / "predictions.csv"
    if not path.is_file():
        return {}
    out: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                out[row["subject_id"].strip()] = {
                    k: float(row[k]) for k in ("label", "logit", "prob", "pred") if row.get(k)
                }
            except (KeyError, ValueError) as exc:
                raise LesionLensInputError(
                    f"{path} line {line}: expected columns subject_id,label,logit,prob,pred with "
                    f"numbers ({exc})"
                ) from None
    return out


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_json(path: str | Path, data: dict) -> Path:
    """Write ``data`` as JSON (NaN/Inf → null) atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(data), indent=2) + "\n", encoding="utf-8")
    return Path(path)


def write_csv(path: str | Path, rows: list[dict], columns: list[str]) -> Path:
    """Write ``rows`` (dicts) with ``columns`` atomically; NaN/None become empty cells."""

    def cell(v):
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return ""
        return f"{v:.6g}" if isinstance(v, float) else v

    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(c)) for c in columns])
    return Path(path)
