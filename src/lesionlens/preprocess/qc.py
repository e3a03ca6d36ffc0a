"""QC figure per subject: the registered scan with the template's brain outline on top."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import atomic_file


def write_qc_png(
    path: str | Path, image: np.ndarray, template_mask: np.ndarray, brain_mask: np.ndarray,
    title: str,
) -> Path:  # fmt: skip
    """Three orthogonal central slices of ``image`` (X, Y, Z, template grid); red: MNI brain
    outline, green: the subject's brain mask."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centre = [s // 2 for s in image.shape]
    views = [
        (lambda v: v[:, :, centre[2]], "axial"),
        (lambda v: v[:, centre[1], :], "coronal"),
        (lambda v: v[centre[0], :, :], "sagittal"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4), dpi=80)
    lo, hi = np.percentile(image[brain_mask] if brain_mask.any() else image, [1, 99])
    for ax, (cut, name) in zip(axes, views, strict=True):
        ax.imshow(cut(image).T, cmap="gray", origin="lower", vmin=lo, vmax=hi)
        ax.contour(cut(template_mask).T.astype(float), levels=[0.5], colors="r", linewidths=0.8)
        ax.contour(cut(brain_mask).T.astype(float), levels=[0.5], colors="g", linewidths=0.6)
        ax.set_title(name, fontsize=8)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
