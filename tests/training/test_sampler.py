"""Training draws: class-balanced and subject-balanced sampling, reproducible by (seed, epoch)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from lesionlens.data import SliceDataset, VolumeDataset, labels, subjects_of_items
from lesionlens.training.config import TrainConfig
from lesionlens.training.seeding import EpochShuffleSampler

from ..data.conftest import cohort_path  # noqa: F401 - fixture

# three healthy subjects with 4 slices each; one patient with a small lesion (2 pathological
# slices), one with a large lesion (10 pathological slices)
LABELS = [0] * 12 + [1] * 2 + [1] * 10
GROUPS = [0] * 4 + [1] * 4 + [2] * 4 + [3] * 2 + [4] * 10


def draws(sampler: EpochShuffleSampler, n: int, epoch: int = 0) -> list[int]:
    sampler.n, sampler.epoch = n, epoch
    return list(sampler)


def test_class_balanced_draws_each_class_equally_and_patients_by_slice_count():
    sampler = EpochShuffleSampler(len(LABELS), seed=0, labels=LABELS)
    counts = Counter(GROUPS[i] for i in draws(sampler, 40_000))
    assert abs(sum(counts[g] for g in (0, 1, 2)) / 40_000 - 0.5) < 0.01
    # within the patients, the large lesion is drawn 5x as often as the small one
    assert counts[4] / counts[3] == pytest.approx(5.0, rel=0.1)


def test_subject_balanced_draws_each_patient_equally_whatever_its_lesion_size():
    sampler = EpochShuffleSampler(len(LABELS), seed=0, labels=LABELS, groups=GROUPS)
    weights = sampler.weights
    assert weights[:12].sum().item() == pytest.approx(1.0)
    assert weights[12:].sum().item() == pytest.approx(1.0)
    counts = Counter(GROUPS[i] for i in draws(sampler, 40_000))
    for group in (3, 4):
        assert counts[group] / 40_000 == pytest.approx(0.25, abs=0.01)
    for group in (0, 1, 2):
        assert counts[group] / 40_000 == pytest.approx(1 / 6, abs=0.01)
    # within the large-lesion patient, its slices stay equally likely
    per_item = Counter(i for i in draws(sampler, 40_000) if GROUPS[i] == 4)
    assert max(per_item.values()) / min(per_item.values()) < 1.25


def test_a_subject_with_slices_of_both_classes_counts_once_in_each_class():
    # a patient's healthy slices join the healthy class as one more subject
    lab = [0, 0, 0, 0, 1, 1]
    grp = [0, 0, 1, 1, 1, 1]  # subject 1: two healthy slices, two pathological
    weights = EpochShuffleSampler(6, 0, labels=lab, groups=grp).weights
    np.testing.assert_allclose(weights.numpy(), [0.25, 0.25, 0.25, 0.25, 0.5, 0.5])


def test_draws_repeat_by_seed_and_epoch_and_change_with_either():
    make = lambda seed: EpochShuffleSampler(len(LABELS), seed, labels=LABELS, groups=GROUPS)  # noqa: E731
    assert draws(make(0), 24, 3) == draws(make(0), 24, 3)
    assert draws(make(0), 24, 3) != draws(make(0), 24, 4)
    assert draws(make(0), 24, 3) != draws(make(1), 24, 3)


def test_groups_without_labels_and_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="need labels"):
        EpochShuffleSampler(4, 0, groups=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="differ"):
        EpochShuffleSampler(4, 0, labels=[0, 0, 1, 1], groups=[0, 1, 2])


def test_datasets_give_the_subject_of_every_item(cohort_path):  # noqa: F811
    slices = SliceDataset(cohort_path, split="train", slices="central10")
    subjects = subjects_of_items(slices)
    assert subjects.shape == labels(slices).shape
    for index in (0, 13, len(slices) - 1):
        assert slices.subjects[subjects[index]].subject_id == slices[index]["subject_id"]
    volumes = VolumeDataset(cohort_path, split="train")
    np.testing.assert_array_equal(subjects_of_items(volumes), np.arange(len(volumes)))
    with pytest.raises(TypeError):
        subjects_of_items(torch.utils.data.TensorDataset(torch.zeros(2)))


def test_subject_balanced_needs_class_balanced_draws():
    with pytest.raises(ValueError, match="--subject-balanced"):
        TrainConfig(dim=2, subject_balanced=True, balanced=False)
    with pytest.raises(ValueError, match="needs --dim 2"):
        TrainConfig(dim=3, subject_balanced=True)
    assert TrainConfig(dim=2, subject_balanced=True).subject_balanced


def test_trainer_loader_draws_subject_balanced_when_asked(cohort_path):  # noqa: F811
    from lesionlens.training.trainer import _loaders

    slices = SliceDataset(cohort_path, split="train", slices="central10")
    loaders = {
        flag: _loaders(slices, slices, TrainConfig(dim=2, subject_balanced=flag))[0].sampler
        for flag in (False, True)
    }
    expected = EpochShuffleSampler(
        len(slices), 0, labels=labels(slices), groups=subjects_of_items(slices)
    ).weights
    torch.testing.assert_close(loaders[True].weights, expected)
    assert not torch.allclose(loaders[False].weights, expected)


def _augmented_slices(cohort_path):  # noqa: F811
    from lesionlens.data import make_augmentation

    aug = make_augmentation(spatial_dims=2, seed=0, p_flip=0.5, p_intensity=0.5, p_noise=0.5)
    return SliceDataset(cohort_path, split="train", slices="central10", transform=aug, seed=0)


def test_ranks_augment_each_item_as_one_process(cohort_path, monkeypatch):  # noqa: F811
    """Two DDP ranks, each with its own dataset and transform, draw the keys and load exactly the
    images (after random augmentation) that one process draws and loads at their positions."""
    one_ds = _augmented_slices(cohort_path)
    sampler = EpochShuffleSampler(len(one_ds), seed=3, labels=labels(one_ds), seeded_items=True)
    sampler.set_epoch(2)
    world = 2
    one_keys = list(sampler)
    assert len(one_keys) % world == 0  # no wrap-padding: the ranks split one process' draw
    one = [one_ds[key]["image"] for key in one_keys]
    for rank in range(world):
        monkeypatch.setattr(EpochShuffleSampler, "_rank_world", staticmethod(lambda r=rank: (r, 2)))
        rank_ds = _augmented_slices(cohort_path)
        rank_ds[5]  # a different history of draws on this rank's transform
        keys = list(sampler)
        assert keys == one_keys[rank::world]
        for key, image in zip(keys, one[rank::world], strict=True):
            torch.testing.assert_close(rank_ds[key]["image"], image)


def test_seeded_items_are_augmented_by_their_key_alone(cohort_path):  # noqa: F811
    from lesionlens.data import SeededIndex

    ds = _augmented_slices(cohort_path)
    first = ds[SeededIndex(4, 123)]["image"]
    for key in (0, SeededIndex(7, 5), 4):  # other draws in between change nothing
        ds[key]
    ds.transform.set_random_state(seed=11)  # nor new random states replacing the old ones
    torch.testing.assert_close(ds[SeededIndex(4, 123)]["image"], first)
    others = [ds[SeededIndex(4, s)]["image"] for s in range(1, 9)]
    assert any(not torch.equal(o, first) for o in others)  # the seed does drive the augmentation
    sampler = EpochShuffleSampler(len(ds), seed=0, seeded_items=True)
    keys = [list(sampler) for _ in range(2)]
    assert keys[0] == keys[1] and len({k.seed for k in keys[0]}) == len(keys[0])
    sampler.set_epoch(1)
    assert {k.seed for k in sampler}.isdisjoint({k.seed for k in keys[0]})
    assert [k.index for k in keys[0]] == list(EpochShuffleSampler(len(ds), seed=0))


def test_augmented_batches_do_not_depend_on_the_worker_count(cohort_path):  # noqa: F811
    from torch.utils.data import DataLoader

    ds = _augmented_slices(cohort_path)
    ds.preload()
    sampler = EpochShuffleSampler(len(ds), seed=1, labels=labels(ds), seeded_items=True)
    batches = {
        workers: [b["image"] for b in DataLoader(ds, batch_size=4, sampler=sampler,
                                                 num_workers=workers)]
        for workers in (0, 2)
    }
    assert len(batches[0]) == len(batches[2])
    for a, b in zip(batches[0], batches[2], strict=True):
        torch.testing.assert_close(a, b)
