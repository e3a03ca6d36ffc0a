"""Training methods: how a model is built and how one batch becomes a loss.

A method is a class registered in :data:`METHODS` with
``build_model(cfg, in_channels) -> nn.Module`` and
``step(model, batch) -> dict`` holding ``loss`` (scalar to minimise), ``logits`` (B,) image-level
logits, and any other scalar parts to log. Batches are dicts from :mod:`lesionlens.data`:
``image`` (B, C, *spatial), ``label`` (B,), ``mask`` (B, 1, *spatial), ``has_mask`` (B,),
``brain`` (B, 1, *spatial).

Thesis ch. 5 (Eq. 5.6): L = BCE + α_A · L_A, with L_A from ``lesionlens.constraints``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Registry
from .config import TrainConfig

METHODS: Registry[type[Method]] = Registry("training method")


class Method:
    """Plain classifier trained with BCE on the image label (the ``none`` method)."""

    constrained = False

    def reseed(self, seed: int) -> None:
        """Restart the method's own random streams at an epoch start (none here)."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg

    def build_model(self, in_channels: int) -> nn.Module:
        from ..models import create_model

        return create_model(self.cfg.model, **self.model_kwargs(in_channels))

    def model_kwargs(self, in_channels: int) -> dict[str, Any]:
        kw: dict[str, Any] = dict(
            spatial_dims=self.cfg.dim, in_channels=in_channels, width=self.cfg.width
        )
        for name in ("norm", "depth", "pool"):
            if getattr(self.cfg, name) is not None:
                kw[name] = getattr(self.cfg, name)
        return kw

    def step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        logits = model(batch["image"]).reshape(-1)
        bce = F.binary_cross_entropy_with_logits(logits, batch["label"].float())
        return {"loss": bce, "bce": bce, "logits": logits}


METHODS.register("none")(Method)


class ConstrainedMethod(Method):
    """BCE + α_A · attribution constraint (thesis Eq. 5.6–5.8); the constraint comes from
    :func:`lesionlens.constraints.create_constraint` with the method's name."""

    constrained = True
    constraint_name = ""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        from ..constraints import create_constraint

        self.constraint = create_constraint(
            self.constraint_name,
            attribution=cfg.attribution,
            weight=cfg.constraint_weight,
            seed=cfg.seed,
            **cfg.method_options,
        )

    def reseed(self, seed: int) -> None:
        """Restart the constraint's random stream (EG/IEG references, α) for an epoch."""
        self.constraint.generator.manual_seed(seed)

    @staticmethod
    def _constraint_inputs(batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Batch → the constraint's x, y, mask (NaN rows where no mask) and brain."""
        mask = batch["mask"].float()
        has_mask = torch.as_tensor(batch["has_mask"], dtype=torch.bool).reshape(-1)
        nan = torch.full_like(mask, float("nan"))
        mask = torch.where(has_mask.view((-1,) + (1,) * (mask.ndim - 1)), mask, nan)
        return dict(
            x=batch["image"], y=batch["label"].float(), mask=mask, brain=batch["brain"].float()
        )

    def step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return self.constraint.classification_and_constraint(
            model, **self._constraint_inputs(batch)
        )

    def loss_terms(
        self, model: nn.Module, batch: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(BCE, L_A) of one batch, both with graph (eq. 5.6 before weighting)."""
        bce, constraint, _, _ = self.constraint.objective_parts(
            model, **self._constraint_inputs(batch)
        )
        return bce, constraint


def _constrained(name: str) -> type[ConstrainedMethod]:
    cls = type(
        f"Constrained_{name.replace('-', '_')}", (ConstrainedMethod,), {"constraint_name": name}
    )
    METHODS.register(name)(cls)
    return cls


for _name in ("unsup", "sup", "unsup-tv", "ross", "erion"):
    _constrained(_name)


@METHODS.register("supervised-unet")
class SupervisedUNet(Method):
    """Fully supervised U-Net (CE + Dice on lesion masks): the upper bound on the same cohort.

    Image-level logit = max over voxels of the segmentation logit (pathological if any voxel is).
    Healthy subjects contribute an all-zero target.
    """

    def build_model(self, in_channels: int) -> nn.Module:
        from ..models import create_model

        return create_model("unet", **self.model_kwargs(in_channels))

    def step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        from monai.losses import DiceCELoss

        seg = model(batch["image"])
        target = batch["mask"].float()
        loss = DiceCELoss(sigmoid=True, batch=True)(seg, target)
        logits = seg.flatten(1).amax(1)
        return {"loss": loss, "dicece": loss, "logits": logits}


class MonotoneTraining(Method):
    """Thesis ch. 6: encoder C + monotone M, L = BCE + L_nF + L_dF + α_G‖∂F/∂C‖₁ (``monotone``),
    and the ablations ``monotone-baseline`` (not monotone, BCE only) and ``monotone-baseline-c``
    (not monotone, with L_nF + L_dF). ``cfg.width`` is M's width, ``cfg.depth`` / ``cfg.pool``
    those of its PatchGAN; ``method_options`` may set ``backbone``, ``encoder_channels``,
    ``alpha_grad``, ``init``, ``encoder_norm``, ``encoder_last_activation``, ``encoder_bias``."""

    name = ""

    def _build(self, in_channels: int):
        from ..monotone import build_monotone_method

        opts = dict(self.cfg.method_options)
        return build_monotone_method(
            self.name,
            self.cfg.dim,
            in_channels,
            opts.pop("backbone", "patchgan"),
            width=self.cfg.width,
            input_size=self.cfg.shape,
            seed=self.cfg.seed,
            depth=self.cfg.depth,
            pool=self.cfg.pool,
            **opts,
        )

    def build_model(self, in_channels: int) -> nn.Module:
        built = self._build(in_channels)
        self.weights = built.loss_weights
        return built.model

    def step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        from ..monotone import monotone_losses

        out = monotone_losses(model, batch["image"], batch["label"].float(), self.weights)
        return {k: v if k in ("loss", "logits") else v.detach() for k, v in out.items()}


for _name in ("monotone", "monotone-baseline", "monotone-baseline-c"):
    METHODS.register(_name)(type(f"Monotone_{_name.replace('-', '_')}", (MonotoneTraining,),
                                 {"name": _name}))
