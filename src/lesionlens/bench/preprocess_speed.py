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
    from ..cohort import Subject, write_manifest
    from ..io import write_nifti
    from ..preprocess import load_template
    from ..preprocess.pose import scanner_pose

    template = load_template(voxel)
    centre = np.array(template.shape) // 2 + np.array([8, 6, 4]) // voxel
    grid = np.indices(template.shape) - centre[:, None, None, None]
    lesion = (np.linalg.norm(grid, axis=0) < 12 / voxel) & template.brain_mask
    head = template.image * 1000.0
    head[lesion] *= 1.6
    subjects = []
    for k in range(n):
        image, mask, header, _ = scanner_pose(head, lesion, template.affine, seed=k,
                                              voxel_mm=(1.0, 1.0, 3.0))  # fmt: skip
        img = write_nifti(root / f"s{k}_t1.nii.gz", image, header)
        msk = write_nifti(root / f"s{k}_mask.nii.gz", mask, header, np.uint8)
        subjects.append(Subject(f"s{k}", (img,), 1, "train", msk))
    np.save(root / "lesion.npy", lesion)
    return write_manifest(subjects, root / "manifest.csv")


@PERF.register("preprocess")
def preprocess_speed(device: str, quick: bool) -> list[dict]:
    """Seconds/subject per step from the QC table (CPU only; ``device`` is recorded)."""
    import csv

    from ..cohort import read_manifest
    from ..io import read_volume
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
                lesion = np.load(Path(tmp) / "raw" / "lesion.npy")
                dice = []
                for s in read_manifest(result.manifest).subjects:
                    back = read_volume(s.mask)[0] > 0.5
                    dice.append(2 * (back & lesion).sum() / (back.sum() + lesion.sum()))
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
