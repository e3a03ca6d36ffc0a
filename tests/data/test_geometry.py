"""crop_or_pad / undo_crop_or_pad: values against np.pad and slicing, round trip properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lesionlens.data import crop_or_pad, undo_crop_or_pad


def test_pad_matches_numpy_pad_with_extra_voxel_at_the_end():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = crop_or_pad(x, (6, 5), value=-1.0)
    np.testing.assert_array_equal(out, np.pad(x, ((1, 2), (0, 1)), constant_values=-1.0))


def test_crop_keeps_the_centre_with_extra_voxel_dropped_at_the_end():
    x = np.arange(7 * 6).reshape(7, 6)
    np.testing.assert_array_equal(crop_or_pad(x, (4, 3)), x[1:5, 1:4])


def test_leading_axes_are_kept_and_none_keeps_an_axis():
    x = np.zeros((2, 5, 6, 7), np.float32)
    assert crop_or_pad(x, (4, None, 9)).shape == (2, 4, 6, 9)


@pytest.mark.parametrize("shape", [(4, 0, 3), (4, 3.5, 3), (1, 2, 3, 4, 5)])
def test_bad_shape_is_refused(shape):
    with pytest.raises(ValueError, match="shape"):
        crop_or_pad(np.zeros((2, 3, 4)), shape)


def test_torch_and_numpy_agree_and_keep_dtype():
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype(np.float32)
    out_np = crop_or_pad(x, (7, 6), value=2.0)
    out_t = crop_or_pad(torch.from_numpy(x), (7, 6), value=2.0)
    assert out_t.dtype == torch.float32 and out_np.dtype == np.float32
    np.testing.assert_array_equal(out_t.numpy(), out_np)


dims = st.lists(st.integers(1, 9), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(original=dims, data=st.data())
def test_round_trip_restores_kept_voxels_and_fills_the_rest(original, data):
    target = data.draw(st.lists(st.integers(1, 9), min_size=len(original), max_size=len(original)))
    x = np.random.default_rng(0).uniform(1, 2, size=(2, *original))
    fixed = crop_or_pad(x, target)
    back = undo_crop_or_pad(fixed, original)
    kept = undo_crop_or_pad(crop_or_pad(np.ones(original, bool), target), original) > 0

    assert back.shape == x.shape
    np.testing.assert_array_equal(back[:, kept], x[:, kept])
    assert (back[:, ~kept] == 0).all()
    np.testing.assert_array_equal(crop_or_pad(back, target), fixed)
