"""Table 6.2 analogue (thesis ch. 6 §III.2): the suite's pieces on tiny tasks and budgets."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lesionlens.bench import SCIENCE, load_suites
from lesionlens.bench.science_monotone import (
    INIT_NAMES,
    SLICE_CLASSES,
    VARIANTS,
    TrainSettings,
    _subject_slices,
    mlp,
    prepare_network,
    run_task,
    slice_task,
    tabular_task,
    train_and_test,
    volume_task,
)
from lesionlens.models import create_model
from lesionlens.monotone import check_monotone

ROW_KEYS = {"task", "model", "variant", "init", "test_accuracy", "best_epoch", "diverged",
            "epochs", "seconds"}  # fmt: skip
TINY = TrainSettings(epochs=2, lr=1e-2, batch_size=32, init_batch=64)


@pytest.fixture(scope="module")
def table():
    return tabular_task(n=300, seed=0, n_features=6, n_classes=3)


def test_suite_is_registered():
    load_suites()
    assert "monotone" in SCIENCE.names()


def test_rows_cover_every_variant_and_init(table):
    rows = run_task("tabular", "mlp3", lambda: mlp(6, 3, depth=3, width=8), table, TINY)
    assert [(r["variant"], r["init"]) for r in rows] == [
        (v, i) for v in VARIANTS for i in INIT_NAMES
    ]
    for row in rows:
        assert set(row) == ROW_KEYS
        assert not row["diverged"]
        assert 0.0 <= row["test_accuracy"] <= 1.0
        assert row["best_epoch"] in (1, 2)


def test_tabular_training_beats_chance(table):
    model = prepare_network(lambda: mlp(6, 3, depth=3, width=16), "standard", "kaiming",
                            table.input_shape, init_batch=64, seed=0)  # fmt: skip
    settings = TrainSettings(epochs=5, lr=1e-2, batch_size=32, init_batch=64)
    assert train_and_test(model, table, settings, seed=0)["test_accuracy"] > 0.6


@pytest.mark.parametrize("init", INIT_NAMES)
@pytest.mark.parametrize(
    ("build", "shape"),
    [
        (lambda: mlp(6, 3, depth=4, width=8), (6,)),
        (lambda: create_model("patchgan", spatial_dims=3, in_channels=1, width=4), (1, 16, 16, 16)),
        (lambda: create_model("resnet18", spatial_dims=2, in_channels=1, out_channels=6, width=8),
         (1, 32, 32)),
    ],
    ids=["mlp", "patchgan-3d", "resnet18-2d"],
)  # fmt: skip
def test_monotone_networks_are_certified_before_training(build, shape, init):
    model = prepare_network(build, "monotone", init, shape, init_batch=4, seed=0)
    report = check_monotone(model, shape, n_samples=2)
    assert report.ok, report.reasons
    standard = prepare_network(build, "standard", init, shape, init_batch=4, seed=0)
    assert not check_monotone(standard, shape, n_samples=2).structural


def test_same_seed_same_result_other_seed_other_weights(table):
    def fit(seed):
        model = prepare_network(lambda: mlp(6, 3, depth=3, width=8), "monotone", "propagation",
                                table.input_shape, init_batch=64, seed=seed)  # fmt: skip
        result = train_and_test(model, table, TINY, seed=seed)
        return result, torch.cat([p.detach().flatten() for p in model.parameters()])

    (first, w1), (again, w2), (_, w3) = fit(3), fit(3), fit(4)
    assert first == again
    assert torch.equal(w1, w2)
    assert not torch.equal(w1, w3)


def test_divergence_gives_nan_not_an_exception(table):
    model = mlp(6, 3, depth=3, width=8)
    with torch.no_grad():
        model[0].weight.fill_(float("inf"))
    result = train_and_test(model, table, TINY, seed=0)
    assert result["diverged"] is True
    assert math.isnan(result["test_accuracy"])
    assert result["best_epoch"] is None


def test_prepare_network_rejects_unknown_variant_and_init():
    with pytest.raises(ValueError, match="variant must be one of"):
        prepare_network(lambda: mlp(2, 2, 2), "positive", "kaiming", (2,), init_batch=4, seed=0)
    with pytest.raises(ValueError, match="Did you mean .kaiming."):
        prepare_network(lambda: mlp(2, 2, 2), "standard", "kaiming_", (2,), init_batch=4, seed=0)
    with pytest.raises(ValueError, match="depth must be"):
        mlp(2, 2, depth=1)


def test_patient_slices_are_those_with_most_lesion_and_healthy_ones_central():
    brain = np.zeros((4, 4, 20), bool)
    brain[..., 2:18] = True
    mask = np.zeros((4, 4, 20), np.float32)
    mask[0, 0, 5] = 1
    mask[:2, :2, 7] = 1
    mask[:, :, 15] = 1
    assert _subject_slices(mask, brain, 1, k=2) == [15, 7]
    assert _subject_slices(mask, brain, 1, k=5) == [15, 7, 5]
    central = _subject_slices(None, brain, 0, k=3)
    assert central[0] >= 6 and central[-1] <= 13 and len(central) == 3


def test_phantom_tasks_have_the_documented_shapes_and_classes(tmp_path: Path):
    slices = slice_task(tmp_path, n=6, voxel=8, seed=0, size=32, slices_per_subject=1)
    x, y = slices.train
    assert slices.n_classes == len(SLICE_CLASSES) == 6
    assert x.shape[1:] == (1, 32, 32) and x.dtype == torch.float32
    assert set(y.tolist()) == set(range(6))  # healthy/tumour/ms × flair/t1 in training
    assert torch.equal(y[0::2] + 1, y[1::2])  # each slice gives its flair then its t1 image
    volumes = volume_task(tmp_path, n=6, voxel=8, seed=0)
    assert volumes.n_classes == 2
    assert all(s % 16 == 0 for s in volumes.input_shape[1:])
    assert set(volumes.train[1].tolist()) == {0, 1}
