"""Per-subject axial montages: scan in grey, attribution overlay, ground-truth contour.

Overlay convention (thesis Fig. 5.6–5.8): diverging colormap, red = evidence for pathology
(positive attribution), blue = evidence for healthy (negative); limits symmetric (±vmax) and
the colour fades to transparent near zero. Arrays are nibabel voxel order (X, Y, Z); an axial
slice ``[:, :, z]`` is drawn with X to the right and Y up (``origin="lower"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from .figures import new_figure

OVERLAY_CMAP = "RdBu_r"
CONTOUR_COLOUR = "#00e000"


def overlay_rgba(values: np.ndarray, vmax: float, fade: float = 0.1) -> np.ndarray:
    """Attribution values (...) → RGBA (..., 4): ``RdBu_r`` on [-vmax, vmax], alpha rising from
    0 at ``|v| <= fade·vmax`` to 0.9 at ``|v| >= vmax`` (transparent near zero)."""
    if not vmax > 0:
        raise ValueError(f"vmax must be > 0, got {vmax}")
    if not 0 <= fade < 1:
        raise ValueError(f"fade must be in [0, 1), got {fade}")
    rgba = colormaps[OVERLAY_CMAP](Normalize(-vmax, vmax, clip=True)(values))
    strength = np.clip((np.abs(values) / vmax - fade) / (1 - fade), 0.0, 1.0)
    rgba[..., 3] = 0.9 * strength
    return rgba


def symmetric_limit(values: np.ndarray, percentile: float = 99.0) -> float:
    """Symmetric colour limit: the ``percentile`` of |values| (1.0 when all are zero)."""
    if values.size == 0:
        return 1.0
    v = float(np.percentile(np.abs(values), percentile))
    return v if v > 0 else float(np.abs(values).max()) or 1.0


def axial_slices(brain: np.ndarray, lesion: np.ndarray | None, n: int = 5) -> list[int]:
    """``n`` axial indices spread over the lesion's extent (or the central 60 % of the brain)."""
    source = lesion if lesion is not None and lesion.any() else brain
    z = np.flatnonzero(source.any(axis=(0, 1)))
    if z.size == 0:
        z = np.arange(brain.shape[2])
    lo, hi = int(z.min()), int(z.max())
    if source is brain:
        margin = int(round(0.2 * (hi - lo)))
        lo, hi = lo + margin, hi - margin
    return sorted({int(round(v)) for v in np.linspace(lo, hi, n)})


@dataclass
class MontageRow:
    """One row of a montage: a label, a map (X, Y, Z) and its symmetric limit."""

    label: str
    attribution: np.ndarray
    vmax: float


def subject_montage(
    scan: np.ndarray,
    lesion: np.ndarray | None,
    rows: list[MontageRow],
    slices: list[int],
    title: str,
) -> Figure:
    """Grid: first row the scan with the ground-truth contour, then one row per map.

    Args:
        scan: (X, Y, Z) first image channel.
        lesion: (X, Y, Z) bool mask or ``None`` (no contour).
        rows: maps on the scan's grid, with their colour limits.
        slices: axial indices (last axis).
    """
    if scan.ndim != 3:
        raise ValueError(f"scan must be (X, Y, Z), got shape {scan.shape}")
    for r in rows:
        if r.attribution.shape != scan.shape:
            raise ValueError(
                f"map {r.label!r} has shape {r.attribution.shape}, expected {scan.shape}"
            )
    grey_lo, grey_hi = np.percentile(scan, [1, 99])
    n_rows, n_cols = 1 + len(rows), len(slices)
    aspect = scan.shape[1] / scan.shape[0]
    width, height = 1.7 * n_cols + 0.6, 1.7 * aspect * n_rows + 0.5
    fig = new_figure(width, height, layout=None)  # fixed margins: constrained layout is slow
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    fig.subplots_adjust(
        left=0.6 / width, right=0.99, bottom=0.05 / height, top=1 - 0.45 / height,
        wspace=0.04, hspace=0.04,
    )  # fmt: skip
    for j, z in enumerate(slices):
        for i in range(n_rows):
            ax = axes[i, j]
            ax.imshow(scan[:, :, z].T, cmap="gray", vmin=grey_lo, vmax=grey_hi, origin="lower")
            if i > 0:
                row = rows[i - 1]
                ax.imshow(overlay_rgba(row.attribution[:, :, z].T, row.vmax), origin="lower")
            if lesion is not None and lesion[:, :, z].any():
                # no origin=: contour then puts Z[i, j] at (j, i), imshow's pixel centres
                ax.contour(
                    lesion[:, :, z].T.astype(float), levels=[0.5], colors=CONTOUR_COLOUR,
                    linewidths=0.8,
                )  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"z = {z}", fontsize=8)
            if j == 0:
                name = (
                    "scan + lesion" if i == 0 else f"{rows[i - 1].label}\n±{rows[i - 1].vmax:.3g}"
                )
                ax.set_ylabel(name, fontsize=7)
    fig.suptitle(title, fontsize=9)
    return fig
