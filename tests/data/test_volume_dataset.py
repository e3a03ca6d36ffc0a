"""VolumeDataset: items, background / brain detection, fixed shape, cache, batching, helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch.utils.data import DataLoader

from lesionlens import io
from lesionlens.data import (
    VolumeDataset,
    background_values,
    class_weights,
    crop_or_pad,
    labels,
    load_split_arrays,
    undo_crop_or_pad,
)

from .conftest import BACKGROUNDS, BRAIN, GRID, LESION, Row, brain_volume, build_cohort


def test_items_have_the_documented_keys_shapes_and_values(cohort_path):
    ds = VolumeDataset(cohort_path, split="train")
    assert len(ds) == 3
    item = ds[1]
    assert item["subject_id"] == "p0" and item["index"] == 1
    assert item["image"].shape == (2, *GRID) and item["image"].dtype == torch.float32
    assert item["label"].dtype == torch.float32 and item["label"].ndim == 0
    assert item["label"].item() == 1.0
    assert item["has_mask"] is True
    expected_mask = np.zeros(GRID, np.float32)
    expected_mask[LESION] = 1
    np.testing.assert_array_equal(item["mask"].numpy(), expected_mask[None])
    assert ds[-1]["subject_id"] == "h1"
    with pytest.raises(IndexError):
        ds[3]


def test_subject_without_mask_gets_zeros_and_has_mask_false(cohort_path):
    item = VolumeDataset(cohort_path, split="train")[2]
    assert item["has_mask"] is False
    assert item["mask"].shape == (1, *GRID) and item["mask"].sum() == 0
    assert item["label"].item() == 0.0


def test_brain_is_every_voxel_off_the_per_channel_background(cohort_path):
    item = VolumeDataset(cohort_path, split="val")[0]
    expected = np.zeros(GRID, bool)
    expected[BRAIN] = True
    assert item["brain"].dtype == torch.bool
    np.testing.assert_array_equal(item["brain"][0].numpy(), expected)


def test_background_is_detected_even_when_the_brain_goes_below_it():
    rng = np.random.default_rng(1)
    volume = brain_volume(rng, background=0.0) - 5.0  # brain ~N(0,1), background -5
    volume[volume == -5.0] = 0.0  # constant background 0 while the brain has negative values
    assert volume.min() < 0
    np.testing.assert_array_equal(background_values(volume[None]), [0.0])


def test_items_are_z_scored_in_the_brain_with_background_zero(cohort_path):
    item = VolumeDataset(cohort_path, split="train")[0]
    brain = item["brain"][0]
    for c in range(item["image"].shape[0]):
        values = item["image"][c][brain].double()
        assert abs(values.mean().item()) < 1e-5
        assert abs(values.std(unbiased=False).item() - 1) < 1e-4
        assert (item["image"][c][~brain] == 0).all()


def test_fixed_shape_crops_and_pads_with_the_standardised_background(cohort_path):
    shape = (16, 10, 10)
    ds = VolumeDataset(cohort_path, split="train", shape=shape)
    full = VolumeDataset(cohort_path, split="train")[0]
    item = ds[0]
    assert item["image"].shape == (2, *shape)
    for c in range(len(BACKGROUNDS)):
        expected = crop_or_pad(full["image"][c].numpy(), shape, 0.0)
        np.testing.assert_array_equal(item["image"][c].numpy(), expected)
    assert (item["image"][1, :2] == 0).all()  # padded border = background (0 after z-scoring)
    assert ds.original_shape(0) == GRID
    restored = undo_crop_or_pad(item["brain"], GRID)
    np.testing.assert_array_equal(restored.numpy(), full["brain"].numpy())


def test_cache_reads_each_file_once(cohort_path, monkeypatch):
    reads = []
    real = io.read_volume

    def counting(path, *args, **kwargs):
        reads.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(io, "read_volume", counting)
    cached = VolumeDataset(cohort_path, split="train", cache=True)
    for _ in range(3):
        for i in range(len(cached)):
            cached[i]
    files_per_pass = 2 * 3 + 2  # two channels per subject, two masks
    assert len(reads) == files_per_pass
    assert len(set(reads)) == files_per_pass

    reads.clear()
    uncached = VolumeDataset(cohort_path, split="train", cache=False)
    for _ in range(2):
        for i in range(len(uncached)):
            uncached[i]
    assert len(reads) == 2 * files_per_pass


def test_items_do_not_alias_the_cache(cohort_path):
    ds = VolumeDataset(cohort_path, split="train")
    ds[0]["image"].zero_()
    assert ds[0]["image"].abs().sum() > 0


def test_default_dataloader_batches_items(cohort_path):
    ds = VolumeDataset(cohort_path, split="train", shape=(8, 8, 8))
    batch = next(iter(DataLoader(ds, batch_size=2, shuffle=False)))
    assert batch["image"].shape == (2, 2, 8, 8, 8)
    assert batch["mask"].shape == (2, 1, 8, 8, 8) and batch["brain"].dtype == torch.bool
    assert batch["label"].tolist() == [0.0, 1.0]
    assert batch["has_mask"].tolist() == [True, True]
    assert batch["subject_id"] == ["h0", "p0"] and batch["index"].tolist() == [0, 1]


def test_labels_and_class_weights_match_sklearn(cohort):
    ds = VolumeDataset(cohort, split="train")
    y = labels(ds)
    np.testing.assert_array_equal(y, [0, 1, 0])
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    np.testing.assert_allclose(class_weights(ds).numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="healthy"):
        class_weights(VolumeDataset(cohort, split="test"))


def test_subject_list_and_split_filter(cohort):
    ds = VolumeDataset(cohort.subjects, split="val")
    assert [s.subject_id for s in ds.subjects] == ["p1", "h2"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "training"}, ValueError, "split"),
        ({"shape": (8, 8)}, ValueError, "shape"),
        ({"shape": (8, 0, 8)}, ValueError, "shape"),
    ],
)
def test_bad_options_are_refused(cohort_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        VolumeDataset(cohort_path, **kwargs)


def test_non_cohort_input_is_refused():
    with pytest.raises(TypeError, match="Cohort"):
        VolumeDataset([1, 2, 3])


def test_load_split_arrays_stacks_a_split_and_refuses_mixed_grids(cohort_path, tmp_path):
    arrays = load_split_arrays(cohort_path, "val")
    assert arrays["image"].shape == (2, 2, *GRID)
    assert arrays["mask"].shape == (2, 1, *GRID)
    np.testing.assert_array_equal(arrays["label"], [1, 0])
    np.testing.assert_array_equal(arrays["has_mask"], [True, False])
    assert arrays["subject_id"] == ["p1", "h2"]

    rng = np.random.default_rng(0)
    mixed = build_cohort(
        tmp_path / "mixed",
        [
            Row("a", 0, "test", [brain_volume(rng, 0.0)]),
            Row("b", 0, "test", [brain_volume(rng, 0.0, shape=(12, 14, 11))]),
        ],
    )
    with pytest.raises(ValueError, match="shape="):
        load_split_arrays(mixed, "test")
    assert load_split_arrays(mixed, "test", shape=(12, 14, 10))["image"].shape == (2, 1, *GRID)
