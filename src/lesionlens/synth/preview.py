"""``preview.png``: axial slices of a few healthy and pathological subjects, masks in red.

Lets a newcomer check at a glance that lesions sit where the masks say they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..cohort import Subject, read_manifest
from ..io import atomic_file, read_volume

N_SLICES = 3


def _axial_slices(mask: np.ndarray, image: np.ndarray) -> list[int]:
    """Slices through the lesion (largest lesion slice and its neighbours), else mid-brain."""
    per_slice = mask.sum(axis=(0, 1))
    if per_slice.any():
        centre = int(np.argmax(per_slice))
        lesion_z = np.flatnonzero(per_slice)
        spread = max(1, (lesion_z.max() - lesion_z.min()) // 3)
    else:
        brain_z = np.flatnonzero(image.sum(axis=(0, 1)) > 0)
        centre = int(brain_z.mean()) if len(brain_z) else image.shape[2] // 2
        spread = max(1, len(brain_z) // 8)
    zs = [centre - spread, centre, centre + spread]
    return [int(np.clip(z, 0, image.shape[2] - 1)) for z in zs]


def preview_montage(cohort_dir: str | Path, png_path: str | Path, per_class: int = 3) -> Path:
    """Write a montage (rows: up to ``per_class`` healthy then pathological subjects; columns:
    axial slices of the first channel) with each lesion mask's contour in red."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cohort = read_manifest(cohort_dir)
    chosen: list[Subject] = [s for s in cohort.subjects if s.label == 0][:per_class]
    chosen += [s for s in cohort.subjects if s.label == 1][:per_class]
    if not chosen:
        raise ValueError(f"{cohort.manifest}: no subjects to preview")
    fig = Figure(figsize=(2.2 * N_SLICES, 2.4 * len(chosen)), dpi=80)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(chosen), N_SLICES, squeeze=False)
    for row, subject in zip(axes, chosen, strict=True):
        image, _ = read_volume(subject.images[0])
        mask = read_volume(subject.mask)[0] > 0.5 if subject.mask else np.zeros(image.shape, bool)
        vmax = float(np.percentile(image[image > 0], 99.5)) if (image > 0).any() else 1.0
        for ax, z in zip(row, _axial_slices(mask, image), strict=True):
            ax.imshow(image[:, :, z].T, cmap="gray", origin="lower", vmin=0, vmax=vmax)
            if mask[:, :, z].any():
                ax.contour(mask[:, :, z].T.astype(float), levels=[0.5], colors="red", linewidths=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{subject.subject_id} z={z}", fontsize=7)
        kind = "pathological" if subject.label else "healthy"
        row[0].set_ylabel(f"{kind}\n{subject.site or ''}", fontsize=8)
    fig.tight_layout()
    png_path = Path(png_path)
    with atomic_file(png_path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    return png_path
