"""``lesionlens bench science --suite monotone``: the thesis' Table 6.2 on phantoms (ch. 6 §III.2).

Standard vs monotone network × Kaiming vs propagation initialisation, trained with one compact
Lightning loop (Adam, cross-entropy, fixed epoch budget, validation accuracy each epoch, test
accuracy of the best-validation weights). A non-finite loss or logit marks the row diverged and
gives a test accuracy of NaN, as in the thesis' table.

Tasks (thesis dataset → phantom analogue):
- H vs T, 3-D PatchGAN → ``synth --kind tumour`` FLAIR volumes, binary (one logit, BCE).
- MedNIST, ResNet152 → 2-D slices of ``synth --kind tumour|ms --contrast both`` cohorts, six
  classes {healthy, tumour, ms} × {flair, t1} (MedNIST has six), one channel per image, 64².
- Single-Cell, monotone MLP → ``sklearn.datasets.make_classification`` (5 classes, 12 features).

"Standard" is the network as built, normalisation layers included; "monotone" is
:func:`~lesionlens.monotone.make_monotone` of it (norms removed, split activations, W = φ(W̃),
zero biases). As in Table 6.2 the *whole* network is monotone here, to study trainability; the
interpretable classifier of §IV puts a free encoder C before M instead. Quick mode (ResNet18,
MLP of depth 4, 8 mm volumes, 4 mm slices, a few epochs) tests the protocol in ~2 minutes on
2 CPU cores; its accuracies are not meant to reproduce the table (too few samples and epochs).
"""

from __future__ import annotations

import copy
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import SCIENCE

VARIANTS = ("standard", "monotone")
INIT_NAMES = ("kaiming", "propagation")
SLICE_CLASSES = ("healthy-flair", "healthy-t1", "tumour-flair", "tumour-t1", "ms-flair", "ms-t1")


@dataclass(frozen=True)
class TaskData:
    """Train/val/test tensors of one task: inputs (N, C, *spatial) or (N, F), labels (N,) int64."""

    train: tuple[Tensor, Tensor]
    val: tuple[Tensor, Tensor]
    test: tuple[Tensor, Tensor]
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape, (C, *spatial) or (F,)."""
        return tuple(self.train[0].shape[1:])


@dataclass(frozen=True)
class TrainSettings:
    """Fixed training budget of one task."""

    epochs: int
    lr: float
    batch_size: int
    init_batch: int


# ---------------------------------------------------------------------------------------- data


def _ceil_to(shape: tuple[int, ...], multiple: int) -> tuple[int, ...]:
    return tuple(int(math.ceil(s / multiple) * multiple) for s in shape)


def _split_tensors(items: dict[str, list[tuple[np.ndarray, int]]]) -> dict[str, tuple]:
    out = {}
    for split, rows in items.items():
        if not rows:
            raise ValueError(f"split {split!r} holds no sample; use a larger cohort (n)")
        x = torch.from_numpy(np.stack([r[0] for r in rows]).astype(np.float32))
        out[split] = (x, torch.tensor([r[1] for r in rows], dtype=torch.int64))
    return out


def volume_task(root: Path, *, n: int, voxel: int, seed: int) -> TaskData:
    """Healthy vs tumour FLAIR phantoms, volumes (1, X, Y, Z) padded to multiples of 16."""
    from ..cohort import read_manifest
    from ..data import load_subject
    from ..data.loading import crop_or_pad_subject
    from ..synth import synth

    cohort = read_manifest(
        synth(
            root / "tumour-3d", kind="tumour", n=n, voxel=voxel, seed=seed, contrast="flair", jobs=2
        )
    )
    items: dict[str, list] = {"train": [], "val": [], "test": []}
    for subject in cohort.subjects:
        arrays = load_subject(subject)
        arrays = crop_or_pad_subject(arrays, _ceil_to(arrays.original_shape, 16))
        items[subject.split].append((arrays.image, subject.label))
    split = _split_tensors(items)
    return TaskData(split["train"], split["val"], split["test"], n_classes=2)


def _subject_slices(mask: np.ndarray | None, brain: np.ndarray, label: int, k: int) -> list[int]:
    """Axial slices of one subject: the ``k`` with the largest lesion area for a patient, ``k``
    evenly spaced in the central half of the brain's axial extent for a healthy subject."""
    if label == 1 and mask is not None and mask.any():
        area = mask.sum(axis=(0, 1))
        ranked = [int(z) for z in np.argsort(-area, kind="stable") if area[z] > 0]
        return ranked[:k]
    z = np.flatnonzero(brain.any(axis=(0, 1)))
    low, high = z[0] + (z[-1] - z[0]) / 4, z[-1] - (z[-1] - z[0]) / 4
    return sorted({int(round(v)) for v in np.linspace(low, high, k)})


def slice_task(
    root: Path, *, n: int, voxel: int, seed: int, size: int = 64, slices_per_subject: int = 3
) -> TaskData:
    """Six-class 2-D task from phantom slices ({healthy, tumour, ms} × {flair, t1}, see
    ``SLICE_CLASSES``): each axial slice gives one 1-channel image per contrast, resized to
    ``size``² (bilinear). Splits follow the cohorts' manifests."""
    from ..cohort import read_manifest
    from ..data import load_subject
    from ..synth import synth

    items: dict[str, list] = {"train": [], "val": [], "test": []}
    for group, kind in ((1, "tumour"), (2, "ms")):
        cohort = read_manifest(
            synth(
                root / f"{kind}-2d",
                kind=kind,
                n=n,
                voxel=voxel,
                seed=seed + group,
                contrast="both",
                jobs=2,
            )
        )
        for subject in cohort.subjects:
            arrays = load_subject(subject)  # image (2, X, Y, Z): flair, t1
            for z in _subject_slices(arrays.mask, arrays.brain, subject.label, slices_per_subject):
                planes = torch.from_numpy(arrays.image[:, :, :, z])[:, None]  # (2, 1, X, Y)
                resized = F.interpolate(planes, size=(size, size), mode="bilinear")
                for contrast, image in enumerate(resized.numpy()):
                    label = 2 * (group if subject.label else 0) + contrast
                    items[subject.split].append((image, label))
    split = _split_tensors(items)
    return TaskData(split["train"], split["val"], split["test"], n_classes=len(SLICE_CLASSES))


def tabular_task(*, n: int, seed: int, n_features: int = 12, n_classes: int = 5) -> TaskData:
    """``make_classification`` task (stand-in for Single-Cell's cell markers), split 60/20/20 and
    standardised with the training statistics."""
    from sklearn.datasets import make_classification

    informative = max(2, 2 * n_features // 3)
    x, y = make_classification(
        n_samples=n,
        n_features=n_features,
        n_informative=informative,
        n_redundant=min(2, n_features - informative),
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=seed,
    )
    order = np.random.default_rng(seed).permutation(n)
    cut = (int(0.6 * n), int(0.8 * n))
    parts = np.split(order, cut)
    mean, std = x[parts[0]].mean(0), x[parts[0]].std(0) + 1e-8
    x = ((x - mean) / std).astype(np.float32)
    tensors = [(torch.from_numpy(x[p]), torch.from_numpy(y[p]).long()) for p in parts]
    return TaskData(*tensors, n_classes=n_classes)


# ------------------------------------------------------------------------------------ networks


def mlp(in_features: int, n_classes: int, depth: int, width: int = 32) -> nn.Sequential:
    """MLP of ``depth`` Linear layers: (Linear → BatchNorm1d → ReLU) × (depth − 1), Linear."""
    if depth < 2:
        raise ValueError(f"MLP depth must be ≥ 2, got {depth}")
    layers: list[nn.Module] = []
    previous = in_features
    for _ in range(depth - 1):
        layers += [nn.Linear(previous, width), nn.BatchNorm1d(width), nn.ReLU()]
        previous = width
    return nn.Sequential(*layers, nn.Linear(previous, n_classes))


def prepare_network(
    build: Callable[[], nn.Module],
    variant: str,
    init: str,
    input_shape: tuple[int, ...],
    *,
    init_batch: int,
    seed: int,
) -> nn.Module:
    """Build a network (seeded), make it monotone for ``variant="monotone"``, initialise it."""
    from ..monotone import INITS, make_monotone

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    torch.manual_seed(seed)
    model = build()
    if variant == "monotone":
        model = make_monotone(model, inplace=True)
    return INITS.get(init)(model, input_shape, batch_size=init_batch, seed=seed)


# ------------------------------------------------------------------------------------ training


def _loss(logits: Tensor, y: Tensor) -> Tensor:
    """BCE for one logit per sample (B,), cross-entropy for (B, K)."""
    if logits.dim() == 1:
        return F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
    return F.cross_entropy(logits, y)


def _predict(logits: Tensor) -> Tensor:
    return (logits > 0).long() if logits.dim() == 1 else logits.argmax(1)


def _table_module(model: nn.Module, lr: float):
    """A LightningModule (built lazily: Lightning is slow to import) tracking the best epoch."""
    import lightning as L

    class TableModule(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model, self.lr = model, lr
            self.diverged, self.best_accuracy, self.best_epoch = False, -1.0, None
            self.best_state: dict[str, Tensor] | None = None
            self._counts = [0, 0]

        def _diverge(self) -> None:
            self.diverged = True
            self.trainer.should_stop = True

        def training_step(self, batch: tuple[Tensor, Tensor], _index: int) -> Tensor | None:
            if self.diverged:
                return None
            loss = _loss(self.model(batch[0]), batch[1])
            if not torch.isfinite(loss):
                self._diverge()
                return None  # Lightning skips the optimiser step
            return loss

        def on_validation_epoch_start(self) -> None:
            self._counts = [0, 0]

        def validation_step(self, batch: tuple[Tensor, Tensor], _index: int) -> None:
            logits = self.model(batch[0])
            if not torch.isfinite(logits).all():
                self._diverge()
            self._counts[0] += int((_predict(logits) == batch[1]).sum())
            self._counts[1] += len(batch[1])

        def on_validation_epoch_end(self) -> None:
            accuracy = self._counts[0] / max(self._counts[1], 1)
            if not self.diverged and accuracy > self.best_accuracy:
                self.best_accuracy, self.best_epoch = accuracy, self.current_epoch + 1
                self.best_state = copy.deepcopy(self.model.state_dict())

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.model.parameters(), lr=self.lr)

    return TableModule()


def _loader(x: Tensor, y: Tensor, batch_size: int, seed: int | None):
    from torch.utils.data import DataLoader, TensorDataset

    shuffle = seed is not None
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    # drop_last keeps BatchNorm away from a last batch of one sample
    return DataLoader(
        TensorDataset(x, y),
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        drop_last=shuffle and len(y) > batch_size,
    )


def train_and_test(
    model: nn.Module, data: TaskData, settings: TrainSettings, *, seed: int, device: str = "cpu"
) -> dict[str, Any]:
    """Train ``model`` for ``settings.epochs`` and score the best-validation weights on test.

    Returns:
        ``{"test_accuracy", "best_epoch", "diverged"}``; a diverged run (non-finite loss or
        logits) has ``test_accuracy`` NaN and ``best_epoch`` None.
    """
    import lightning as L

    module = _table_module(model, settings.lr)
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    lightning_log.setLevel(logging.WARNING)  # no "GPU available" banner per table row
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*does not have many workers.*")
            warnings.filterwarnings("ignore", ".*number of training batches.*")
            warnings.filterwarnings("ignore", ".*LeafSpec.*")
            trainer = L.Trainer(
                max_epochs=settings.epochs,
                accelerator="gpu" if device.startswith("cuda") else "cpu",
                devices=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                num_sanity_val_steps=0,
            )
            trainer.fit(
                module,
                _loader(*data.train, settings.batch_size, seed),
                _loader(*data.val, 256, None),
            )
    finally:
        lightning_log.setLevel(level)
    if module.diverged or module.best_state is None:
        return {"test_accuracy": float("nan"), "best_epoch": None, "diverged": True}
    model.load_state_dict(module.best_state)
    model.to(device).eval()
    with torch.no_grad():
        logits = torch.cat([model(x.to(device)).cpu() for x, _ in _loader(*data.test, 256, None)])
    if not torch.isfinite(logits).all():
        return {"test_accuracy": float("nan"), "best_epoch": None, "diverged": True}
    accuracy = float((_predict(logits) == data.test[1]).float().mean())
    return {"test_accuracy": round(accuracy, 4), "best_epoch": module.best_epoch, "diverged": False}


def run_task(
    task: str,
    model_name: str,
    build: Callable[[], nn.Module],
    data: TaskData,
    settings: TrainSettings,
    *,
    seed: int = 0,
    device: str = "cpu",
    variants: tuple[str, ...] = VARIANTS,
    inits: tuple[str, ...] = INIT_NAMES,
) -> list[dict[str, Any]]:
    """Rows of Table 6.2 for one task: every variant × initialisation, same data and seed."""
    rows = []
    for variant in variants:
        for init in inits:
            start = time.perf_counter()
            model = prepare_network(
                build, variant, init, data.input_shape, init_batch=settings.init_batch, seed=seed
            )
            result = train_and_test(model.to(device), data, settings, seed=seed, device=device)
            rows.append(
                {
                    "task": task,
                    "model": model_name,
                    "variant": variant,
                    "init": init,
                    **result,
                    "epochs": settings.epochs,
                    "seconds": round(time.perf_counter() - start, 2),
                }
            )
    return rows


# --------------------------------------------------------------------------------------- suite


def run_monotone_table(
    root: Path, *, quick: bool, device: str = "cpu", seed: int = 0
) -> list[dict[str, Any]]:
    """All three tasks of the Table 6.2 analogue; phantom cohorts are written under ``root``."""
    from ..models import create_model

    rows = []
    volumes = volume_task(root, n=40 if quick else 160, voxel=8 if quick else 4, seed=seed)
    patchgan_width = 8 if quick else 64
    rows += run_task(
        "healthy-vs-tumour-3d",
        "patchgan",
        lambda: create_model("patchgan", spatial_dims=3, in_channels=1, width=patchgan_width),
        volumes,
        TrainSettings(epochs=15 if quick else 300, lr=1e-3, batch_size=8, init_batch=8),
        seed=seed,
        device=device,
    )

    slices = slice_task(root, n=24 if quick else 120, voxel=4 if quick else 2, seed=seed)
    depth, width = (18, 16) if quick else (152, 64)
    rows += run_task(
        "phantom-slices-6class-2d",
        f"resnet{depth}",
        lambda: create_model(
            f"resnet{depth}",
            spatial_dims=2,
            in_channels=1,
            out_channels=len(SLICE_CLASSES),
            width=width,
        ),
        slices,
        TrainSettings(
            epochs=6 if quick else 50, lr=1e-3 if quick else 1e-4, batch_size=32, init_batch=16
        ),
        seed=seed,
        device=device,
    )

    rows += tabular_rows(quick=quick, device=device, seed=seed)
    return rows


def tabular_rows(*, quick: bool, device: str = "cpu", seed: int = 0) -> list[dict[str, Any]]:
    """Task (c): the MLP rows, plus ``monotonic-nn``'s monotone MLP on the same data and budget
    when ``LESIONLENS_MONOTONIC_NN_PYTHON`` names an interpreter that has it."""
    from .monotonic_nn import monotonic_nn_python, run_monotonic_nn_mlp

    table = tabular_task(n=2000 if quick else 20000, seed=seed)
    mlp_depth, mlp_width = (4, 32) if quick else (10, 64)
    settings = TrainSettings(epochs=15 if quick else 200, lr=1e-3, batch_size=64, init_batch=256)
    rows = run_task(
        "tabular-5class",
        f"mlp{mlp_depth}",
        lambda: mlp(table.input_shape[0], table.n_classes, mlp_depth, width=mlp_width),
        table,
        settings,
        seed=seed,
        device=device,
    )
    python = monotonic_nn_python()
    if python is not None:
        result = run_monotonic_nn_mlp(
            table, python=python, depth=mlp_depth, width=mlp_width, epochs=settings.epochs,
            lr=settings.lr, batch_size=settings.batch_size, seed=seed,
        )
        rows.append({"task": "tabular-5class", "model": f"mlp{mlp_depth}",
                     "variant": "monotonic-nn (airt MonoDense)", "init": "package default",
                     **{k: result[k] for k in ("test_accuracy", "best_epoch", "diverged")},
                     "epochs": settings.epochs, "seconds": result["seconds"]})
    return rows


@SCIENCE.register("monotone")
def monotone_table(device: str, quick: bool) -> list[dict[str, Any]]:
    """Table 6.2 analogue: standard vs monotone × Kaiming vs propagation, three tasks."""
    with tempfile.TemporaryDirectory(prefix="lesionlens-monotone-") as tmp:
        return run_monotone_table(Path(tmp), quick=quick, device=device)
