"""Report figures drawn with matplotlib's object API (no pyplot, no display: Agg canvas).

Training curves (per-epoch ``metrics.csv`` of a run), Dice-vs-threshold curves (thesis Fig. 5.3,
5.5) and histograms of attribution values of healthy vs pathological subjects (Fig. 5.9).
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

HEALTHY_COLOUR = "tab:blue"  # Fig. 5.9: healthy in blue, pathological in orange
PATHOLOGICAL_COLOUR = "tab:orange"
LESION_COLOUR = "tab:red"


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png_data_uri(fig: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (self-contained HTML)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _curve_groups(columns: list[str]) -> dict[str, list[str]]:
    """``train_loss``, ``val_loss`` → {"loss": [...]}: one panel per quantity, both splits."""
    groups: dict[str, list[str]] = {}
    for c in columns:
        for prefix in ("train_", "val_"):
            if c.startswith(prefix):
                groups.setdefault(c.removeprefix(prefix), []).append(c)
    return groups


def training_curves(metrics: pd.DataFrame, title: str) -> Figure:
    """One panel per logged quantity (loss, bce, constraint parts, bacc), train and val lines.

    A positive quantity spanning more than three decades (the constraint term with α_A ≈ 1e8)
    is drawn on a log axis.
    """
    if "epoch" not in metrics.columns:
        raise ValueError(f"metrics.csv needs an 'epoch' column, got {list(metrics.columns)}")
    groups = _curve_groups(list(metrics.columns))
    if not groups:
        raise ValueError(
            f"metrics.csv has no train_*/val_* column to plot, got {list(metrics.columns)}"
        )
    n = len(groups)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = new_figure(3.2 * cols, 2.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (name, columns) in zip(axes, groups.items(), strict=False):
        positive = True
        lo, hi = math.inf, 0.0
        for c in columns:
            data = metrics[["epoch", c]].dropna()
            ax.plot(data["epoch"], data[c], marker=".", label=c.split("_", 1)[0])
            if len(data):
                positive &= bool((data[c] > 0).all())
                lo, hi = min(lo, float(data[c].min())), max(hi, float(data[c].max()))
        if positive and lo > 0 and hi / lo > 1e3:
            ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    return fig


def dice_threshold_curves(curves: dict[str, tuple[pd.DataFrame, float]]) -> Figure:
    """Mean Dice (± std band) against the threshold, one line per method; a marker shows the
    threshold each method was scored at. ``curves``: {label: (dice_vs_threshold.csv, threshold)}.
    """
    fig = new_figure(6.0, 3.6)
    ax = fig.subplots()
    for label, (table, chosen) in curves.items():
        table = table.sort_values("threshold")
        t, m = table["threshold"].to_numpy(), table["dice_mean"].to_numpy(dtype=float)
        s = table["dice_std"].to_numpy(dtype=float)
        (line,) = ax.plot(t, m, label=label)
        ax.fill_between(t, m - s, m + s, color=line.get_color(), alpha=0.15, linewidth=0)
        if chosen is not None and math.isfinite(chosen) and len(t):
            ax.plot([chosen], [np.interp(chosen, t, m)], "o", color=line.get_color())
    ax.set_xlabel("threshold on the map")
    ax.set_ylabel("Dice (mean ± std)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Dice vs threshold (dot: threshold used by evaluate)", fontsize=10)
    return fig


def attribution_histograms(values: dict[str, dict[str, np.ndarray]], bins: int = 100) -> Figure:
    """Thesis Fig. 5.9: attribution values inside the brain of healthy subjects (blue) and of
    pathological subjects (orange), plus the lesion voxels alone (red, dashed), one panel per
    method. ``values``: {label: {"healthy", "pathological", "lesion": 1-D arrays}}; densities
    on a log axis so that the small lesion population stays visible.
    """
    n = len(values)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = new_figure(4.0 * cols, 2.8 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    styles = {
        "healthy": (HEALTHY_COLOUR, "-", "healthy subjects (brain)"),
        "pathological": (PATHOLOGICAL_COLOUR, "-", "pathological subjects (brain)"),
        "lesion": (LESION_COLOUR, "--", "lesion voxels"),
    }
    for ax, (label, groups) in zip(axes, values.items(), strict=False):
        present = [v for v in groups.values() if v.size]
        if not present:
            ax.set_title(f"{label}: no voxels", fontsize=9)
            continue
        both = np.concatenate(present)
        edges = np.histogram_bin_edges(both, bins=bins)
        for key, (colour, style, name) in styles.items():
            v = groups.get(key, np.zeros(0))
            if v.size:
                ax.stairs(*np.histogram(v, edges, density=True), color=colour, ls=style, label=name)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_yscale("log")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("attribution value", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig
