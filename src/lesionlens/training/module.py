"""Lightning module wrapping a :class:`~lesionlens.training.methods.Method`.

Validation reports balanced accuracy (``val_bacc``), the early-stopping and checkpoint criterion of
thesis ch. 5 §4 ("best validation classification performance"), and the method's loss parts.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from ..models.global_batch_norm import convert_to_global_batch_norm
from ..rank_pooling import ranks_pool_counts
from .config import TrainConfig
from .methods import Method


def balanced_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean of TPR and TNR at logit 0 (probability 0.5); a missing class counts as 0.5."""
    pred = logits > 0
    pos, neg = labels > 0.5, labels <= 0.5
    tpr = (pred & pos).sum() / pos.sum() if pos.any() else torch.tensor(0.5)
    tnr = (~pred & neg).sum() / neg.sum() if neg.any() else torch.tensor(0.5)
    return float((tpr + tnr) / 2)


class ClassifierModule(L.LightningModule):
    """Trains ``method.build_model(in_channels)`` with ``method.step``; optimiser per config."""

    def __init__(self, cfg: TrainConfig, method: Method, in_channels: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.method = method
        self.model: nn.Module = method.build_model(in_channels)
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._parts: dict[str, dict[str, tuple[torch.Tensor, int]]] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def _log_parts(self, prefix: str, out: dict[str, torch.Tensor], batch_size: int) -> None:
        """Accumulate the step's scalar loss parts; :meth:`_log_epoch_parts` logs their epoch
        means weighted by batch size, as ``self.log(on_epoch=True)`` would, without Lightning's
        per-call cost (a few ms per step: ≈ 2 s of a 30 s demo epoch, docs/benchmarks.md)."""
        sums = self._parts.setdefault(prefix, {})
        for k, v in out.items():
            if k != "logits" and v.ndim == 0:
                total, weight = sums.get(k, (0.0, 0))
                # float32 as Lightning's own means (counts such as n_constrained are integers)
                sums[k] = (total + v.detach().float() * batch_size, weight + batch_size)

    def _log_epoch_parts(self, prefix: str) -> None:
        for k, (total, weight) in self._parts.pop(prefix, {}).items():
            self.log(f"{prefix}_{k}", total / weight,
                     prog_bar=prefix == "train" and k != "loss", on_epoch=True, on_step=False)

    def on_train_epoch_end(self) -> None:
        self._log_epoch_parts("train")

    def setup(self, stage: str) -> None:
        """Under DDP, BatchNorm layers normalise with the global batch's statistics, in every
        derivative the constraints take (``models.global_batch_norm``): the same seed gives one
        process' weights, on CPU (gloo) as on GPUs, where PyTorch's ``SyncBatchNorm`` has no
        double backward."""
        if self.trainer.world_size > 1:
            convert_to_global_batch_norm(self.model)

    def on_fit_start(self) -> None:
        """``--alpha auto`` under DDP: every rank resolved α_A from the same global batches;
        rank 0's value is broadcast so that the ranks' weights agree to the last bit."""
        if self.cfg.alpha == "auto" and self.trainer.world_size > 1:
            alpha = self.trainer.strategy.broadcast(self.cfg.alpha_resolved, src=0)
            self.cfg.alpha_resolved = alpha
            self.method.constraint.weight = alpha

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        """Under DDP the losses' means and histograms are taken over the global batch, and the
        EG/IG/IEG paths drawn for it (``rank_pooling.py``): the same seed gives one process'
        weights for the same global batch."""
        strategy = self.trainer.strategy
        with ranks_pool_counts(
            lambda t, op: strategy.reduce(t, reduce_op=op),
            self.trainer.world_size,
            lambda t: strategy.all_gather(t),
            self.trainer.global_rank,
        ):
            out = self.method.step(self.model, batch)
        loss = out["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"non-finite training loss ({float(loss.detach())}) at epoch "
                f"{self.current_epoch}, batch {batch_idx}; lower --alpha or --lr, "
                "or check the input intensities"
            )
        self._log_parts("train", out, batch["image"].shape[0])
        self.log("loss", loss.detach(), prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        with torch.enable_grad():  # constrained losses need input gradients
            out = self.method.step(self.model, batch)
        self._log_parts("val", {k: v for k, v in out.items()}, batch["image"].shape[0])
        self._val.append((out["logits"].detach().reshape(-1), batch["label"].reshape(-1).float()))

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_parts("val")
        if not self._val:
            return
        logits = torch.cat([v[0] for v in self._val])
        labels = torch.cat([v[1] for v in self._val])
        self._val.clear()
        # every rank sees the whole validation split (no distributed sampler): no gather needed
        self.log("val_bacc", balanced_accuracy(logits, labels), prog_bar=True)

    def configure_optimizers(self):
        name, lr = resolve_optimizer(self.cfg, self.method)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if name == "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=self.cfg.weight_decay)
        if name == "adadelta":
            return torch.optim.Adadelta(params, lr=lr, weight_decay=self.cfg.weight_decay)
        if name == "sgd":
            return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=self.cfg.weight_decay)
        from pytorch_optimizer import Yogi

        return Yogi(params, lr=lr, weight_decay=self.cfg.weight_decay)


def resolve_optimizer(cfg: TrainConfig, method: Method) -> tuple[str, float]:
    """Thesis ch. 5 §4: Yogi (lr 1) for constrained models, Adam (lr 1e-3) otherwise."""
    name = cfg.optimizer
    if name == "auto":
        name = "yogi" if method.constrained else "adam"
    default_lr = {"adam": 1e-3, "yogi": 1.0, "adadelta": 1.0, "sgd": 1e-2}[name]
    return name, cfg.lr if cfg.lr is not None else default_lr
