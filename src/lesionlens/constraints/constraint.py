"""Attribution constraints for training (thesis ch. 5, eq. 5.6–5.8; IEEE TMI 2023).

Total loss L = BCE(logit, y) + α_A · L_A (eq. 5.6), where L_A is a penalty on the attribution
maps of some images of the minibatch. Subclasses choose the images (:meth:`select`) and the
penalty (:meth:`penalty`); the maps come from :func:`training_attribution` (g, eg, ig, ieg).
Shapes: x (B, C, *spatial); y (B,) in {0, 1}; mask (B, 1|C, *spatial) lesion masks, a row of
NaN meaning "no mask"; brain (B, 1|C, *spatial) voxels to use (1) or ignore (0).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..attributions._base import check_input, make_generator
from ..attributions.expected import References
from ..rank_pooling import any_over_ranks
from .activation_masks import ConstantActivationMasks
from .batch_statistics import (
    frozen_batch_statistics,
    recorded_batch_statistics,
    uses_batch_statistics,
)
from .training_attribution import (
    check_training_attribution,
    draw_training_path,
    training_attribution,
)

# how the constraint pass meets BatchNorm (see ``classification_and_constraint``)
BATCH_STATISTICS = ("shared", "frozen")

# Thesis Fig. 5.2: the largest α_A keeping TPR and TNR ≈ 1 (BraTS 2020, 2 mm).
DEFAULT_WEIGHTS = {"g": 1e8, "eg": 1e10, "ig": 1e6, "ieg": 1e7}


class AttributionConstraint:
    """Base constraint; ``constraint(model, x, y, mask=None, brain=None) -> (L_A, parts)``.

    Args:
        attribution: "g", "eg", "ig" or "ieg" (how the maps are computed in training).
        weight: α_A; None → the thesis' value for the attribution (``default_weight``).
        p0: IEG's probability of the zero reference.
        references: EG/IEG references; None → the other images of the minibatch (thesis [code]).
        seed / generator: random stream of the (reference, α) draws; successive calls advance
            it, and ``constraint.generator.manual_seed(s)`` restarts it.
        scale_free: divide each constrained map by its mean |A| over the brain (detached) before
            the penalty. lesionlens' variant, not the thesis: eq. 5.7 on raw gradients has no
            scale of its own (BCE(σ(a), 0) ≈ log 2 + a/2 for small a keeps rewarding larger
            negative gradients, inflating the logits), whereas on A/mean|A| it asks for the
            *sign* of every voxel's attribution and is met by all-negative healthy maps
            (docs/benchmarks.md). Use α ≈ 1 with it.
        batch_statistics: how BatchNorm layers in train mode normalise in the constraint pass
            (:meth:`classification_and_constraint`): "shared" (thesis code) or "frozen".

    The model's train/eval mode is left as is (BatchNorm in train mode, as in the thesis).
    """

    name: ClassVar[str] = ""

    def __init__(
        self,
        attribution: str = "g",
        weight: float | None = None,
        p0: float = 0.25,
        references: References = None,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        scale_free: bool = False,
        batch_statistics: str = "shared",
    ) -> None:
        self.attribution = check_training_attribution(attribution)
        self.scale_free = bool(scale_free)
        if batch_statistics not in BATCH_STATISTICS:
            raise ValueError(
                f"batch_statistics must be one of {BATCH_STATISTICS}, got {batch_statistics!r}"
            )
        self.batch_statistics = batch_statistics
        self.weight = float(self.default_weight(self.attribution) if weight is None else weight)
        if not self.weight >= 0:
            raise ValueError(f"weight must be >= 0, got {weight!r}")
        if not 0.0 <= p0 <= 1.0:
            raise ValueError(f"p0 must be in [0, 1], got {p0!r}")
        self.p0 = p0
        self.references = references
        self.seed = seed
        # always a generator (``generator.manual_seed`` re-seeds it); without seed or generator
        # it is seeded from torch's global stream, so ``torch.manual_seed`` reproduces it
        self.generator = make_generator(seed, generator) or torch.Generator().manual_seed(
            int(torch.randint(0, 2**62, ()))
        )

    @classmethod
    def default_weight(cls, attribution: str) -> float:
        return DEFAULT_WEIGHTS[attribution]

    def get_config(self) -> dict[str, Any]:
        """The options to record in a run's config."""
        return {
            "constraint": self.name,
            "attribution": self.attribution,
            "weight": self.weight,
            "p0": self.p0,
            "seed": self.seed,
            "scale_free": self.scale_free,
            "batch_statistics": self.batch_statistics,
        }

    # --- subclass hooks -------------------------------------------------------------------
    def select(self, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(B,) bool: the images whose maps are constrained. Default: the healthy ones."""
        return y == 0

    def penalty(
        self,
        maps: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor | None,
        brain: torch.Tensor | None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L_A from the selected images' maps and their y / mask / brain rows."""
        raise NotImplementedError

    # --- evaluation ----------------------------------------------------------------------
    def _checked(self, x, y, mask, brain):
        x = check_input(x)
        y = torch.as_tensor(y, device=x.device).reshape(-1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(
                f"y must hold one label per image ({x.shape[0]}), got {tuple(y.shape)}"
            )
        for name, extra in (("mask", mask), ("brain", brain)):
            if extra is not None and (
                extra.shape[0] != x.shape[0] or extra.shape[2:] != x.shape[2:]
            ):
                raise ValueError(
                    f"{name} must be (B, 1 or C, *spatial) = ({x.shape[0]}, 1, "
                    f"{', '.join(map(str, x.shape[2:]))}), got {tuple(extra.shape)}"
                )
        return x, y

    def _penalty_on(self, maps, select, y, mask, brain):
        pick = lambda t: None if t is None else t[select]  # noqa: E731
        brain = pick(brain)
        if self.scale_free:
            maps = maps / mean_abs(maps, brain).detach()
        loss, parts = self.penalty(maps, y[select], pick(mask), brain)
        return loss, {"constraint": loss.detach(), **parts, "n_constrained": select.sum()}

    def __call__(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor | None = None,
        brain: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Unweighted L_A and its logged parts (detached); backpropagates to the parameters."""
        x, y = self._checked(x, y, mask, brain)
        select = self.select(y, mask)
        # EG/IG/IEG: the path of every image of the (global) batch, drawn whatever the selection,
        # so that the random stream and the collectives are the same on every rank
        path = draw_training_path(x, self.attribution, self.p0, self.references, self.generator)
        if not _any_constrained(model, select):
            # the penalty of no image (0), still evaluated: under DDP its pooled means are
            # collectives that every rank must join (``rank_pooling.py``)
            maps = x.new_zeros((0, *x.shape[1:]))
            return self._penalty_on(maps, select, y, mask, brain)
        maps = training_attribution(
            model, x, select, self.attribution, self.p0, self.references, self.generator, path
        )
        return self._penalty_on(maps, select, y, mask, brain)

    def classification_and_constraint(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor | None = None,
        brain: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """One training objective: ``loss = BCE(logit, y) + weight · L_A`` (eq. 5.6).

        The maps come from a constraint pass on the constrained images, with ReLU/LeakyReLU
        masks held constant (exact, cheaper second backward: ``activation_masks.py``). How that
        pass meets BatchNorm layers that normalise with batch statistics (train mode):

        - ``"shared"`` (default, thesis code): with G the classification forward is reused
          (``autograd.grad(logits.sum(), x)`` over the whole batch), so each healthy map also
          carries terms through the batch mean and variance from the other images' logits;
          EG/IG/IEG run their second pass with the constrained images' own batch statistics
          (running statistics updated by both passes).
        - ``"frozen"``: the classification pass records the statistics each BatchNorm layer
          normalised with; the constraint pass normalises with them as constants and leaves the
          running statistics alone (``batch_statistics.py``). Each map is then that of the
          classifier as it classified the batch, of that image alone, as ``explain`` computes it
          in eval mode; the step is cheaper (``bench perf --suite train_step``). On the demo
          cohort it also changes what is learnt (docs/benchmarks.md, session 5).

        A model without such layers gives the same maps either way and always takes the cheaper
        path. Returns ``loss`` (with graph), ``bce``, ``constraint`` (detached) and ``logits``.
        """
        bce, constraint, logits, parts = self.objective_parts(model, x, y, mask, brain)
        loss = bce + self.weight * constraint
        return {"loss": loss, "bce": bce.detach(), "logits": logits.detach(), **parts}

    def objective_parts(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor | None = None,
        brain: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """The two terms of eq. 5.6 apart, both with graph: ``(BCE, L_A, logits, parts)``, as
        :meth:`classification_and_constraint` computes them (``--alpha auto`` weighs them)."""
        x, y = self._checked(x, y, mask, brain)
        select = self.select(y, mask)
        coupled = uses_batch_statistics(model) and _any_constrained(model, select)
        if coupled and self.batch_statistics == "shared":
            if self.attribution == "g":
                leaf = x.detach().requires_grad_(True)
                with ConstantActivationMasks():
                    logits = _global_logit(model(leaf))
                    (grad,) = torch.autograd.grad(logits.sum(), leaf, create_graph=True)
                constraint, parts = self._penalty_on(grad[select], select, y, mask, brain)
            else:
                logits = _global_logit(model(x))
                constraint, parts = self(model, x, y, mask, brain)
        else:
            with recorded_batch_statistics(model) as stats:
                logits = _global_logit(model(x))
            with frozen_batch_statistics(model, stats):
                constraint, parts = self(model, x, y, mask, brain)
        bce = F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype))
        return bce, constraint, logits, parts


def _any_constrained(model: nn.Module, select: torch.Tensor) -> bool:
    """Whether the constraint pass runs: on this rank's selection, or — when the model normalises
    with batch statistics, whose passes are collectives under DDP (``GlobalBatchNorm``) — on any
    rank's, so that every rank runs the same passes (one with no image where it holds none)."""
    return any_over_ranks(select.any()) if uses_batch_statistics(model) else bool(select.any())


def mean_abs(maps: torch.Tensor, brain: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image mean |A| over the brain (all voxels without ``brain``), shaped to broadcast
    against ``maps`` (B, C, *spatial) → (B, 1, 1, ...); floored at 1e-12."""
    weight = torch.ones_like(maps) if brain is None else brain.to(maps.dtype).expand_as(maps)
    total = (maps.abs() * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1)
    return total.clamp_min(1e-12).view((-1,) + (1,) * (maps.ndim - 1))


def _global_logit(output: torch.Tensor) -> torch.Tensor:
    return output if output.ndim == 1 else output.flatten(1).mean(1)


class NoConstraint(AttributionConstraint):
    """Unconstrained classifier (thesis' NoCons): L_A = 0, plain BCE."""

    name = "none"

    def select(self, y, mask):
        return torch.zeros_like(y, dtype=torch.bool)

    def penalty(self, maps, y, mask, brain):
        return maps.new_zeros(()), {}


class UnsupervisedConstraint(AttributionConstraint):
    """Unsup (eq. 5.7): BCE(σ(A(x)), 0) over the voxels of the healthy images."""

    name = "unsup"

    def penalty(self, maps, y, mask, brain):
        return _bce_to(maps, torch.zeros_like(maps), brain), {}


class SupervisedConstraint(AttributionConstraint):
    """Sup (eq. 5.8): target 0 on healthy images, the lesion mask where a mask exists.

    Pathological images without a mask (mask None or a NaN row) are not constrained.
    """

    name = "sup"

    @classmethod
    def default_weight(cls, attribution: str) -> float:
        return 1e9 if attribution == "eg" else DEFAULT_WEIGHTS[attribution]

    def select(self, y, mask):
        has_mask = torch.zeros_like(y, dtype=torch.bool)
        if mask is not None:
            has_mask = ~torch.isnan(mask.flatten(1)).any(1)
        return (y == 0) | ((y == 1) & has_mask)

    def penalty(self, maps, y, mask, brain):
        target = torch.zeros_like(maps)
        if mask is not None:
            lesion = torch.nan_to_num(mask, nan=0.0).to(maps.dtype).expand_as(maps)
            target = torch.where((y == 1).view((-1,) + (1,) * (maps.ndim - 1)), lesion, target)
        return _bce_to(maps, target, brain), {}


class UnsupervisedTVConstraint(AttributionConstraint):
    """UnsupTV: Unsup + ``tv_weight`` · TV of the healthy maps (eq. 5.7 + 5.1)."""

    name = "unsup-tv"

    def __init__(
        self,
        attribution: str = "g",
        weight: float | None = None,
        tv_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(attribution, weight, **kwargs)
        self.tv_weight = float(tv_weight)

    @classmethod
    def default_weight(cls, attribution: str) -> float:
        return 1e9 if attribution == "eg" else DEFAULT_WEIGHTS[attribution]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tv_weight": self.tv_weight}

    def penalty(self, maps, y, mask, brain):
        from .losses import total_variation

        bce = _bce_to(maps, torch.zeros_like(maps), brain)
        tv = total_variation(maps, brain)
        return bce + self.tv_weight * tv, {"bce_attr": bce.detach(), "tv": tv.detach()}


class RossConstraint(AttributionConstraint):
    """Ross et al. 2017 "right for the right reasons" (eq. 5.3): L2 of healthy images' maps."""

    name = "ross"

    def penalty(self, maps, y, mask, brain):
        from .losses import ross_l2

        return ross_l2(maps, brain), {}


class ErionConstraint(AttributionConstraint):
    """Erion et al. 2021 attribution prior: TV (eq. 5.1) of the EG maps of every image."""

    name = "erion"

    def __init__(self, attribution: str = "eg", weight: float | None = None, **kwargs: Any) -> None:
        super().__init__(attribution, weight, **kwargs)

    def select(self, y, mask):
        return torch.ones_like(y, dtype=torch.bool)

    def penalty(self, maps, y, mask, brain):
        from .losses import total_variation

        return total_variation(maps, brain), {}


def _bce_to(maps: torch.Tensor, target: torch.Tensor, brain: torch.Tensor | None) -> torch.Tensor:
    from .losses import attribution_bce

    return attribution_bce(maps, target, brain)
