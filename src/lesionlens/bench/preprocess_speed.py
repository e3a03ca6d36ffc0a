"""Perf suite ``preprocess``: seconds per subject for affine registration, N4 and the full
pipeline at 1 and 2 mm (goal: affine + N4 <= 15 s/subject at 2 mm on 2 cores), the speed-up of
``jobs=2`` over ``jobs=1``, and the phantom round-trip lesion Dice (goal >= 0.8 at 2 mm).

Subjects are MNI152-derived heads with a planted lesion moved to random scanner poses
(:mod:`lesionlens.preprocess.pose`), so the suite runs offline.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from . import PERF


def _cohort(root: Path, n: int, voxel: int) -> Path:
    """``n`` T1-like tumour phantoms from ``lesionlens synth``, each twice: as generated
    (``<id>-ref``) and moved to a random scanner-like pose (rotation ±15°, translation ±20 mm,
    1×1×3 mm voxels, bias field). Registration to MNI also removes each phantom's own random
    pose and size, so the reference for the moved scan is where the unmoved one lands."""
    from ..cohort import Subject, read_manifest, write_manifest
    from ..io import read_volume, write_nifti
    from ..preprocess.pose import scanner_pose
    from ..synth import synth

    cohort = synth(root / "phantoms", kind="tumour", contrast="t1", n=max(2 * n + 4, 6),
                   voxel=voxel, seed=0, jobs=1)  # fmt: skip
    patients = [s for s in read_manifest(cohort).subjects if s.label == 1][:n]
    subjects = []
    for k, s in enumerate(patients):
        image, affine = read_volume(s.images[0])
        truth = read_volume(s.mask)[0] > 0.5
        subjects.append(Subject(f"{s.subject_id}-ref", s.images, 1, "train", s.mask))
        moved, mask, header, _ = scanner_pose(image, truth, affine, seed=k,
                                              voxel_mm=(1.0, 1.0, 3.0))  # fmt: skip
        img = write_nifti(root / f"{s.subject_id}_t1.nii.gz", moved, header)
        msk = write_nifti(root / f"{s.subject_id}_mask.nii.gz", mask, header, np.uint8)
        subjects.append(Subject(s.subject_id, (img,), 1, "train", msk))
    return write_manifest(subjects, root / "manifest.csv")


def _round_trip_dice(manifest: Path) -> list[float]:
    """Dice of each moved phantom's preprocessed mask against its unmoved twin's (MNI grid)."""
    from ..cohort import read_manifest
    from ..io import read_volume

    masks = {s.subject_id: read_volume(s.mask)[0] > 0.5 for s in read_manifest(manifest).subjects}
    dice = []
    for sid, a in masks.items():
        if not sid.endswith("-ref"):
            b = masks[f"{sid}-ref"]
            dice.append(2 * (a & b).sum() / (a.sum() + b.sum()))
    return dice


@PERF.register("preprocess")
def preprocess_speed(device: str, quick: bool) -> list[dict]:
    """Seconds/subject per step from the QC table (CPU only; ``device`` is recorded)."""
    import csv

    from ..preprocess import preprocess

    n = 2 if quick else 4
    rows = []
    for voxel in (2,) if quick else (2, 1):
        seconds_by_jobs = {}
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                manifest = _cohort(Path(tmp) / "raw", n, voxel)
                start = time.perf_counter()
                result = preprocess(manifest, Path(tmp) / "out", voxel=voxel, n4=True, jobs=jobs)
                seconds_by_jobs[jobs] = time.perf_counter() - start
                with open(Path(tmp) / "out" / "qc.csv") as fh:
                    qc = list(csv.DictReader(fh))
                dice = _round_trip_dice(result.manifest)
                qc = [r for r in qc if not r["subject_id"].endswith("-ref")]  # timings: moved scans
            if jobs == 1:
                keys = ("seconds_registration", "seconds_n4", "seconds_total", "ncc")
                mean = {k: float(np.mean([float(r[k]) for r in qc])) for k in keys}
                row = {"suite": "preprocess", "device": "cpu", "requested_device": device,
                       "voxel_mm": voxel, "subjects": n, "failed": len(result.failures),
                       "s_registration": round(mean["seconds_registration"], 2),
                       "s_n4": round(mean["seconds_n4"], 2),
                       "s_affine_plus_n4": round(
                           mean["seconds_registration"] + mean["seconds_n4"], 2),
                       "s_full_per_subject": round(mean["seconds_total"], 2),
                       "ncc_mean": round(mean["ncc"], 3),
                       "dice_mean": round(float(np.mean(dice)), 3),
                       "dice_min": round(float(np.min(dice)), 3),
                       "target_s_affine_plus_n4": 15.0 if voxel == 2 else None,
                       "target_dice": 0.8 if voxel == 2 else None}  # fmt: skip
        row["speedup_jobs2"] = round(seconds_by_jobs[1] / seconds_by_jobs[2], 2)
        rows.append(row)
    return rows
