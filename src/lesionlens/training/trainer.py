"""``train``: cohort → run directory (DESIGN.md "Run directory").

``config.yaml`` (every option, resolved), ``model.safetensors`` (weights only, from the best
checkpoint), ``checkpoints/`` (``last.ckpt`` for ``--resume``, ``best.ckpt``), ``metrics.csv``
(one row per epoch), ``train.log``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from pathlib import Path

import lightning as L
import pandas as pd
import torch
from torch.utils.data import DataLoader

from ..cohort import Cohort, validate_cohort
from ..errors import LesionLensInputError
from ..io import atomic_file
from .config import TrainConfig
from .methods import METHODS
from .module import ClassifierModule
from .seeding import EpochSeeding, training_sampler

log = logging.getLogger("lesionlens.train")


def default_shape(cohort: Cohort, dim: int, multiple: int = 16) -> tuple[int, ...]:
    """Smallest grid, a multiple of ``multiple`` per axis, holding the first training image
    (the PatchGAN halves the grid four times)."""
    from ..io import load_nifti

    shape = load_nifti(cohort.split("train")[0].images[0]).shape[:3]
    if dim == 2:
        shape = shape[:2]
    return tuple(int(math.ceil(s / multiple) * multiple) for s in shape)


def build_datasets(cohort: Cohort, cfg: TrainConfig):
    """Train (augmented) and val datasets, 3-D volumes or 2-D axial slices."""
    from ..data import SliceDataset, VolumeDataset, make_augmentation
    from .config import AUGMENTATION_PROBABILITIES

    probabilities = {name: getattr(cfg, name) for name in AUGMENTATION_PROBABILITIES}
    aug = make_augmentation(spatial_dims=cfg.dim, seed=cfg.seed, **probabilities)
    if cfg.dim == 3:
        train = VolumeDataset(cohort, split="train", shape=cfg.shape, transform=aug, seed=cfg.seed)
        val = VolumeDataset(cohort, split="val", shape=cfg.shape)
    else:
        train = SliceDataset(
            cohort, split="train", shape=cfg.shape, slices=cfg.slices, transform=aug, seed=cfg.seed,
            context=cfg.slice_context,
        )
        val = SliceDataset(
            cohort, split="val", shape=cfg.shape, slices=cfg.slices, context=cfg.slice_context
        )
    return train, val


def _loaders(train_ds, val_ds, cfg: TrainConfig) -> tuple[DataLoader, DataLoader]:
    world = cfg.devices * cfg.nodes
    per_device = max(1, cfg.batch_size // world)
    train = DataLoader(
        train_ds,
        batch_size=per_device,
        sampler=training_sampler(train_ds, cfg),
        num_workers=cfg.num_workers,
        drop_last=len(train_ds) > per_device * world,
    )
    val = DataLoader(val_ds, batch_size=per_device, shuffle=False, num_workers=cfg.num_workers)
    return train, val


def _launched_rank(cfg: TrainConfig) -> int:
    """Global rank of this process as set by Lightning's DDP launcher (0 when not launched)."""
    return int(os.environ.get("NODE_RANK", 0)) * cfg.devices + int(os.environ.get("LOCAL_RANK", 0))


def check_checkpoint(path: Path) -> None:
    """Refuse a checkpoint that does not load as plain tensors/containers (it could run code)."""
    import pickle

    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LesionLensInputError(
            f"{path}: checkpoint refused, it does not load as weights only ({first}); "
            "delete it and train again"
        ) from exc


def _strategy(cfg: TrainConfig):
    if cfg.strategy != "auto" or cfg.devices * cfg.nodes == 1:
        return cfg.strategy
    from lightning.pytorch.strategies import DDPStrategy

    backend = "nccl" if cfg.accelerator in ("gpu", "cuda") else "gloo"
    return DDPStrategy(process_group_backend=backend)


def _setup_logging(run: Path) -> logging.Handler:
    handler = logging.FileHandler(run / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("lesionlens", "lightning.pytorch"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    return handler


def _epoch_table(csv_path: Path) -> pd.DataFrame:
    """Lightning's CSVLogger writes train and val metrics on separate rows: merge per epoch."""
    raw = pd.read_csv(csv_path)
    raw = raw.drop(columns=[c for c in ("step", "loss") if c in raw.columns])
    return raw.groupby("epoch", as_index=False).first()


def train(
    cohort: str | Path,
    out: str | Path,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Train ``config.method`` on ``cohort`` and write the run directory ``out``.

    Raises:
        LesionLensInputError: bad cohort, existing ``out`` without ``resume``/``overwrite``,
            ``resume`` without a checkpoint.
        FloatingPointError: the loss became NaN/Inf (the run stops; checkpoints stay).
    """
    cfg = config or TrainConfig()
    METHODS.get(cfg.method)  # unknown names fail before any file is read
    report = validate_cohort(cohort, training=True)
    for w in report.warnings:
        log.warning(w)
    coh = report.cohort
    if not coh.split("train") or not coh.split("val"):
        raise LesionLensInputError(
            f"{coh.manifest}: training needs subjects in both 'train' and 'val' splits"
        )
    run = Path(out)
    last = run / "checkpoints" / "last.ckpt"
    worker = _launched_rank(cfg) > 0  # a DDP worker re-launched by Lightning; rank 0 owns `run`
    if resume:
        if not worker:
            if not last.is_file():
                raise LesionLensInputError(f"{run}: nothing to resume (no checkpoints/last.ckpt)")
            check_checkpoint(last)
        cfg = TrainConfig.load(run / "config.yaml")  # a resumed run keeps its own options
    elif not worker and run.exists() and any(run.iterdir()):
        if not overwrite:
            raise LesionLensInputError(
                f"{run}: run directory exists; pass --resume to continue it or --overwrite"
            )
        shutil.rmtree(run)
    method = METHODS.create(cfg.method, cfg=cfg)
    if cfg.alpha == "auto" and not method.constrained:
        raise ValueError(
            f"--alpha auto weighs an attribution constraint (unsup, sup, unsup-tv, ross, erion); "
            f"--method {cfg.method} has none"
        )
    run.mkdir(parents=True, exist_ok=True)
    if cfg.shape is None:
        cfg.shape = default_shape(coh, cfg.dim)
    cfg.in_channels = coh.n_channels
    handler = _setup_logging(run)
    try:
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        train_ds, val_ds = build_datasets(coh, cfg)
        train_dl, val_dl = _loaders(train_ds, val_ds, cfg)
        module = ClassifierModule(cfg, method, in_channels=cfg.model_in_channels)
        if cfg.alpha == "auto":
            _resolve_auto_alpha(cfg, method, module, train_ds)
        if not worker:
            with atomic_file(run / "config.yaml") as tmp:
                cfg.save(tmp)
        trainer = _make_trainer(cfg, run, progress)
        log.info(
            "training %s on %s (%d train, %d val)",
            cfg.method,
            coh.manifest,
            len(train_ds),
            len(val_ds),
        )
        trainer.fit(
            module, train_dl, val_dl, ckpt_path=str(last) if resume else None, weights_only=True
        )
        if trainer.global_rank == 0:
            _export(run, module, trainer)
    finally:
        for name in ("lesionlens", "lightning.pytorch"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()
    return run


def _resolve_auto_alpha(cfg: TrainConfig, method, module: ClassifierModule, train_ds) -> None:
    """``--alpha auto``: resolve α_A once at the initial weights (a resumed run keeps its own,
    from config.yaml) and hand it to the constraint."""
    from .balanced_alpha import balanced_alpha, calibration_batches

    if cfg.alpha_resolved is None:
        found = balanced_alpha(
            module.model, method, calibration_batches(train_ds, cfg), cfg.alpha_factor
        )
        cfg.alpha_resolved = float(f"{found.alpha:.6g}")
        log.info(
            "--alpha auto: α_A = %g (factor %g × median ‖∇BCE‖/‖∇L_A‖ of %s)",
            cfg.alpha_resolved, cfg.alpha_factor, ", ".join(f"{r:.4g}" for r in found.ratios),
        )
    method.constraint.weight = cfg.alpha_resolved


def _make_trainer(cfg: TrainConfig, run: Path, progress: bool) -> L.Trainer:
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar
    from lightning.pytorch.loggers import CSVLogger

    ckpt = ModelCheckpoint(
        dirpath=run / "checkpoints",
        filename="best",
        monitor=cfg.checkpoint_rule,
        mode="max",
        save_top_k=1,
        enable_version_counter=False,
    )
    # every epoch's state, for --resume: Lightning 2.6's ``save_last=True`` writes last.ckpt only
    # in an epoch where the monitored metric improved, so a resume would replay from the best epoch
    last = ModelCheckpoint(
        dirpath=run / "checkpoints",
        filename="last",
        monitor=None,
        save_top_k=1,
        every_n_epochs=1,
        enable_version_counter=False,
    )
    callbacks: list[L.Callback] = [
        ckpt,
        last,
        EarlyStopping(monitor=cfg.checkpoint_rule, mode="max", patience=cfg.patience),
        EpochSeeding(cfg.seed),
    ]
    if progress:
        callbacks.append(RichProgressBar(leave=True))
    return L.Trainer(
        default_root_dir=run,
        max_epochs=cfg.max_epochs,
        min_epochs=min(cfg.min_epochs, cfg.max_epochs),
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        num_nodes=cfg.nodes,
        strategy=_strategy(cfg),
        # not torch's SyncBatchNorm (CUDA only, no double backward): ClassifierModule.setup
        # converts BatchNorm to GlobalBatchNorm under DDP
        sync_batchnorm=False,
        deterministic=cfg.deterministic,
        precision=cfg.precision,
        logger=CSVLogger(run, name="", version="lightning"),
        callbacks=callbacks,
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=1,
        # EpochShuffleSampler shards itself; validation runs whole on each rank
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
    )


def _export(run: Path, module: ClassifierModule, trainer: L.Trainer) -> None:
    """Best checkpoint → ``model.safetensors``; Lightning's CSV → ``metrics.csv`` (per epoch)."""
    from safetensors.torch import save_file

    best = run / "checkpoints" / "best.ckpt"
    state = module.model.state_dict()
    if best.is_file():
        ckpt = torch.load(best, map_location="cpu", weights_only=True)
        state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    with atomic_file(run / "model.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
    csv = run / "lightning" / "metrics.csv"
    if csv.is_file():
        table = _epoch_table(csv)
        with atomic_file(run / "metrics.csv") as tmp:
            table.to_csv(tmp, index=False)
    log.info(
        "best %s = %s; model written to %s",
        trainer.checkpoint_callback.monitor,
        trainer.checkpoint_callback.best_model_score,
        run / "model.safetensors",
    )
