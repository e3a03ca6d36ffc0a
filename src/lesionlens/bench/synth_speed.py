"""Perf suite ``synth``: phantom subjects generated per second (render + NIfTI writes).

The issue's target is >= 10 subjects/s at 2 mm on 2 CPU cores; rows give 2 mm and 4 mm, one
and two worker processes, side by side in one run (the template load is cached and excluded).
"""

from __future__ import annotations

import os
import tempfile
import time

from . import PERF


@PERF.register("synth")
def synth_speed(device: str, quick: bool) -> list[dict]:
    """Subjects/s of :func:`lesionlens.synth.synth` (CPU only; ``device`` is recorded)."""
    from ..synth import load_anatomy, synth

    n = 20 if quick else 60
    rows = []
    for voxel in (2, 4):
        load_anatomy(voxel)
        for jobs in sorted({1, min(2, os.cpu_count() or 1)}):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                synth(f"{tmp}/c", kind="ms", n=n, voxel=voxel, seed=0, jobs=jobs)
                seconds = time.perf_counter() - start
            rows.append(
                {
                    "suite": "synth",
                    "device": "cpu",
                    "requested_device": device,
                    "voxel_mm": voxel,
                    "jobs": jobs,
                    "subjects": n,
                    "seconds": round(seconds, 3),
                    "subjects_per_s": round(n / seconds, 2),
                    "target_subjects_per_s": 10.0 if voxel == 2 else None,
                }
            )
    return rows
