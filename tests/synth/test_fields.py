"""Cheap field operators against their scipy references."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from lesionlens.synth.fields import trilinear, upsample


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), n_coarse=st.tuples(*[st.integers(3, 6)] * 3))
def test_upsample_equals_scipy_zoom_order3(seed, n_coarse):
    coarse = np.random.default_rng(seed).standard_normal(n_coarse).astype(np.float32)
    shape = (17, 23, 11)
    ref = ndimage.zoom(
        coarse.astype(np.float64), [s / n for s, n in zip(shape, n_coarse, strict=True)], order=3,
        mode="nearest", grid_mode=False,
    )  # fmt: skip
    np.testing.assert_allclose(upsample(coarse, shape), ref, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_trilinear_equals_map_coordinates_inside_grid(seed):
    rng = np.random.default_rng(seed)
    vols = rng.random((2, 7, 9, 5)).astype(np.float32)
    pts = (rng.random((3, 200)) * (np.array([6, 8, 4])[:, None])).astype(np.float32)
    ours = trilinear(vols, pts)
    for c in range(2):
        ref = ndimage.map_coordinates(vols[c], pts, order=1, prefilter=False)
        np.testing.assert_allclose(ours[c], ref, atol=1e-5)
