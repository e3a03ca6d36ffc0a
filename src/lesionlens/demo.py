"""``lesionlens demo``: the whole path on an embedded phantom cohort, on a laptop CPU.

Phantom cohort (MNI152 anatomy, tumours, two simulated sites) → preview montage → train ``unsup``
(G constraint, thesis ch. 5) and ``none`` → explain on the test split → summary of what was found.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEMO_COHORT: dict[str, Any] = dict(kind="tumour", n=48, voxel=8, seed=0, contrast="flair")


def demo(
    out: str | Path = "demo-out",
    *,
    overwrite: bool = False,
    train_epochs: int = 30,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the demo into ``out``; returns the paths written and timings."""
    from .io import atomic_dir
    from .synth import preview_montage, synth

    out = Path(out)
    t0 = time.perf_counter()
    with atomic_dir(out, overwrite=overwrite) as tmp:
        cohort = synth(tmp / "cohort", **DEMO_COHORT)
        preview = preview_montage(cohort, tmp / "cohort" / "preview.png")
        say(f"phantom cohort: {DEMO_COHORT['n']} subjects ({time.perf_counter() - t0:.1f} s)")
    cohort = out / "cohort"
    result: dict[str, Any] = {"cohort": cohort, "preview": out / "cohort" / Path(preview).name}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result
