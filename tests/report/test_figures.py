"""Overlay colours, montage geometry (overlay and contour on the lesion voxels), curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import colormaps

from lesionlens.report.figures import attribution_histograms, training_curves
from lesionlens.report.montage import MontageRow, axial_slices, overlay_rgba, subject_montage
from lesionlens.report.viewer import OFFLINE_ICON, external_references, viewer_html


@settings(max_examples=50, deadline=None)
@given(st.floats(-10, 10, allow_nan=False), st.floats(0.01, 5))
def test_overlay_is_symmetric_and_transparent_near_zero(v, vmax):
    rgba = overlay_rgba(np.array([v, -v]), vmax)
    assert rgba[0, 3] == pytest.approx(rgba[1, 3])  # same opacity for ±v
    if abs(v) <= 0.1 * vmax:
        assert rgba[0, 3] == 0.0
    if abs(v) >= 0.2 * vmax:  # clearly coloured: red for positive, blue for negative
        red, blue = (0, 1) if v > 0 else (1, 0)
        assert rgba[red, 0] > rgba[red, 2] and rgba[blue, 2] > rgba[blue, 0]


def test_overlay_matches_the_colormap_and_refuses_bad_limits():
    rgba = overlay_rgba(np.array([2.0, -2.0, 1.0]), 1.0)
    cmap = colormaps["RdBu_r"]
    np.testing.assert_allclose(rgba[:2, :3], [cmap(1.0)[:3], cmap(0.0)[:3]])
    assert rgba[2, 3] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="vmax"):
        overlay_rgba(np.zeros(3), 0.0)


def test_montage_draws_overlay_and_contour_on_the_lesion_voxels():
    shape = (12, 16, 8)
    scan = np.zeros(shape, np.float32)
    lesion = np.zeros(shape, bool)
    lesion[3:6, 9:12, 2:5] = True  # x 3–5, y 9–11
    attribution = np.where(lesion, 1.0, -0.5).astype(np.float32)
    slices = axial_slices(np.ones(shape, bool), lesion, n=3)
    assert slices == [2, 3, 4]
    fig = subject_montage(scan, lesion, [MontageRow("m", attribution, 1.0)], slices, "t")
    ax = fig.axes[len(slices)]  # second row, first column: the overlay at z = 2
    overlay = np.asarray(ax.images[1].get_array())  # (Y, X, 4) drawn with origin="lower"
    red = overlay[..., 0] > overlay[..., 2]
    ys, xs = np.nonzero(red)
    assert set(xs) == {3, 4, 5} and set(ys) == {9, 10, 11}
    vertices = np.concatenate([p.vertices for p in ax.collections[0].get_paths()])
    assert vertices[:, 0].min() >= 2.5 and vertices[:, 0].max() <= 5.5
    assert vertices[:, 1].min() >= 8.5 and vertices[:, 1].max() <= 11.5


def test_montage_refuses_a_map_on_another_grid():
    with pytest.raises(ValueError, match="expected"):
        subject_montage(
            np.zeros((4, 4, 4)), None, [MontageRow("m", np.zeros((4, 4, 3)), 1)], [0], ""
        )


def test_axial_slices_without_lesion_use_the_central_brain():
    brain = np.zeros((8, 8, 21), bool)
    brain[:, :, 0:21] = True
    assert axial_slices(brain, None, n=3) == [4, 10, 16]


def test_training_curves_one_panel_per_quantity_log_for_constraint():
    table = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "train_loss": [1e6, 1e4, 1e2],
            "val_loss": [2e6, 2e4, 2e2],
            "val_bacc": [0.5, 0.7, 0.9],
        }
    )
    fig = training_curves(table, "run")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["loss", "bacc"]
    assert visible[0].get_yscale() == "log" and visible[1].get_yscale() == "linear"
    assert len(visible[0].lines) == 2
    with pytest.raises(ValueError, match="epoch"):
        training_curves(table.drop(columns="epoch"), "run")


def test_histograms_are_densities_over_shared_bins():
    rng = np.random.default_rng(0)
    values = {"m": {"healthy": rng.normal(-1, 0.1, 500), "pathological": rng.normal(0, 1, 500),
                    "lesion": np.zeros(0)}}  # fmt: skip
    ax = attribution_histograms(values, bins=20).axes[0]
    healthy, pathological = ax.patches[:2]
    assert len(ax.patches) == 2  # empty lesion group drawn as nothing
    for stairs in (healthy, pathological):
        density, edges = stairs.get_data().values, stairs.get_data().edges
        assert np.sum(density * np.diff(edges)) == pytest.approx(1.0)
    np.testing.assert_array_equal(healthy.get_data().edges, pathological.get_data().edges)


def test_viewer_page_references_no_other_host():
    rng = np.random.default_rng(0)
    html = viewer_html(rng.random((8, 8, 8)), rng.normal(size=(8, 8, 8)), np.eye(4), 1.0, "t")
    assert external_references(html) == [] and OFFLINE_ICON in html
    assert "brainsprite" in html  # the viewer's JS is inlined
    assert external_references('<link href="https://x.org/a.ico">') != []
    with pytest.raises(ValueError, match="one shape"):
        viewer_html(np.zeros((4, 4, 4)), np.zeros((4, 4, 3)), np.eye(4), 1.0, "t")
