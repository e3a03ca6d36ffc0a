"""SliceDataset: the 0.1 % slice rule at its boundary, central-10 / brain selection, items."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from lesionlens import io
from lesionlens.data import (
    SliceDataset,
    central_slices,
    centre_channels,
    context_stack,
    labels,
)

from .conftest import BRAIN, GRID, LESION, Row, brain_volume, build_cohort

BOUNDARY_GRID = (40, 25, 6)  # 1000 voxels per axial slice: one voxel is exactly 0.1 %


@pytest.fixture
def boundary_cohort(tmp_path):
    """A pathological subject whose axial slices hold 1, 2, 0 and 1 lesion voxels (z = 1..4)."""
    rng = np.random.default_rng(0)
    brain = (slice(0, 40), slice(0, 25), slice(1, 5))
    mask = np.zeros(BOUNDARY_GRID, np.uint8)
    mask[5, 5, 1] = 1
    mask[5, 5:7, 2] = 1
    mask[20, 10, 4] = 1
    rows = [
        Row("p", 1, "train", [brain_volume(rng, 0.0, BOUNDARY_GRID, brain)], mask),
        Row("h", 0, "train", [brain_volume(rng, 0.0, BOUNDARY_GRID, brain)], mask),
    ]
    return build_cohort(tmp_path, rows)


def test_slice_is_pathological_only_above_a_tenth_of_a_percent(boundary_cohort):
    ds = SliceDataset(boundary_cohort, slices="brain")
    rows = {(ds.subjects[s].subject_id, z): y for s, z, y in ds.table.tolist()}
    assert rows == {
        ("p", 1): 0,  # exactly 0.1 %: not above the threshold
        ("p", 2): 1,
        ("p", 3): 0,
        ("p", 4): 0,
        ("h", 1): 0,  # healthy subject: always 0, whatever its mask file says
        ("h", 2): 0,
        ("h", 3): 0,
        ("h", 4): 0,
    }
    assert [ds[i]["label"].item() for i in range(len(ds))] == labels(ds).tolist()


def test_drop_ambiguous_removes_slices_with_a_lesion_too_small_to_count(boundary_cohort):
    ds = SliceDataset(boundary_cohort, slices="brain", drop_ambiguous=True)
    kept = [(ds.subjects[s].subject_id, z) for s, z, _ in ds.table.tolist()]
    assert ("p", 1) not in kept and ("p", 4) not in kept
    assert ("p", 2) in kept and ("p", 3) in kept and ("h", 1) in kept


def test_lower_threshold_counts_single_voxel_slices(boundary_cohort):
    ds = SliceDataset(boundary_cohort, slices="brain", min_lesion_fraction=0.0)
    p_rows = [(z, y) for s, z, y in ds.table.tolist() if ds.subjects[s].subject_id == "p"]
    assert p_rows == [(1, 1), (2, 1), (3, 0), (4, 1)]


@pytest.mark.parametrize(
    ("n", "expected"), [(12, range(1, 11)), (25, range(7, 17)), (10, range(10)), (4, range(4))]
)
def test_central_slices(n, expected):
    np.testing.assert_array_equal(central_slices(n), list(expected))


def test_central10_items_are_2d_with_slice_index_and_mask_slice(cohort_path):
    ds = SliceDataset(cohort_path, split="train", slices="central10")
    assert len(ds) == 3 * 10  # 10 slices of the 10-slice grid per subject
    item = ds[10 + 4]  # subject p0, slice z = 4 (inside the lesion cube z = 3..5)
    assert item["subject_id"] == "p0" and item["slice"] == 4 and item["index"] == 14
    assert item["image"].shape == (2, GRID[0], GRID[1])
    assert item["mask"].shape == (1, GRID[0], GRID[1])
    expected = np.zeros(GRID[:2], np.float32)
    expected[LESION[:2]] = 1
    np.testing.assert_array_equal(item["mask"][0].numpy(), expected)
    assert item["label"].item() == 1.0
    # 9 lesion voxels on a 12×14 slice = 5.4 %: slices 3..5 pathological, the others healthy
    p0 = [int(y) for s, _, y in ds.table.tolist() if s == 1]
    assert p0 == [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]


def test_brain_selection_uses_the_detected_brain(cohort_path):
    ds = SliceDataset(cohort_path, split="val", slices="brain")
    z = sorted({int(v) for v in ds.table[:, 1]})
    assert z == list(range(BRAIN[2].start, BRAIN[2].stop))


def test_in_plane_shape_and_other_axes(cohort_path):
    ds = SliceDataset(cohort_path, split="val", shape=(8, 16))
    assert ds[0]["image"].shape == (2, 8, 16) and ds[0]["brain"].shape == (1, 8, 16)
    sagittal = SliceDataset(cohort_path, split="val", axis=0, slices="brain", shape=(16, 8))
    assert set(sagittal.table[:, 1].tolist()) == set(range(BRAIN[0].start, BRAIN[0].stop))
    assert sagittal[0]["image"].shape == (2, 16, 8)


def test_dataloader_batches_slices(cohort_path):
    ds = SliceDataset(cohort_path, split="train")
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 2, *GRID[:2]) and batch["brain"].dtype == torch.bool
    assert batch["slice"].tolist() == [0, 1, 2, 3]


def test_pathological_subject_without_mask_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    path = build_cohort(tmp_path, [Row("p", 1, "train", [brain_volume(rng, 0.0)])])
    with pytest.raises(ValueError, match="no mask"):
        SliceDataset(path)


def test_context_stacks_neighbour_slices_slice_major_with_edges_repeated():
    volume = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # (C, X, Y, Z)
    stack = context_stack(volume, 0, 2)
    assert stack.shape == (5 * 2, 3, 4)
    z_of = [0, 0, 0, 1, 2]  # offsets −2 … +2 from z = 0, clipped to the volume
    for j, z in enumerate(z_of):
        for c in range(2):
            np.testing.assert_array_equal(stack[j * 2 + c], volume[c, :, :, z])
    np.testing.assert_array_equal(stack[centre_channels(2, 2)], volume[..., 0])
    np.testing.assert_array_equal(context_stack(volume, 3, 0), volume[..., 3])
    sagittal = context_stack(volume, 1, 1, axis=0)  # neighbours along X
    np.testing.assert_array_equal(sagittal[2:4], volume[:, 1])
    np.testing.assert_array_equal(sagittal[4:6], volume[:, 2])


def test_context_items_carry_the_neighbours_and_the_centre_slice_labels(cohort_path):
    plain = SliceDataset(cohort_path, split="train", slices="central10")
    wide = SliceDataset(cohort_path, split="train", slices="central10", context=1)
    assert len(wide) == len(plain) and (wide.table == plain.table).all()
    i = 10 + 4  # subject p0, slice z = 4
    item, centre, below, above = wide[i], plain[i], plain[i - 1], plain[i + 1]
    assert item["image"].shape == (3 * 2, GRID[0], GRID[1])
    np.testing.assert_array_equal(item["image"][0:2], below["image"])
    np.testing.assert_array_equal(item["image"][2:4], centre["image"])
    np.testing.assert_array_equal(item["image"][4:6], above["image"])
    for key in ("mask", "brain", "label"):
        assert torch.equal(item[key], centre[key])


@pytest.mark.parametrize(
    "kwargs",
    [{"slices": "all"}, {"axis": 3}, {"min_lesion_fraction": 1.5}, {"shape": (8, 8, 8)},
     {"context": -1}],
)
def test_bad_options_are_refused(cohort_path, kwargs):
    with pytest.raises(ValueError):
        SliceDataset(cohort_path, **kwargs)


def test_slices_are_cut_from_volumes_read_once(cohort_path, monkeypatch):
    reads = []
    real = io.read_volume
    monkeypatch.setattr(io, "read_volume", lambda p, *a, **k: reads.append(p) or real(p, *a, **k))
    ds = SliceDataset(cohort_path, split="train")
    for i in range(len(ds)):
        ds[i]
    assert len(reads) == 2 * 3 + 2  # two channels per subject and two masks, read at indexing
