"""Interpretable monotone classifier F = M ∘ C and its ablations (thesis ch. 6 §I.1, §III).

``monotone``: C + monotone M trained with BCE + L_nF + L_dF + α_G·L_G.
``monotone-baseline``: the same architecture without ``make_monotone``, BCE only.
``monotone-baseline-c``: non-monotone, BCE + L_nF + L_dF (L_G stopped its convergence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from ..errors import LesionLensInputError
from ..registry import Registry
from .backbones import BACKBONES, PatchStack
from .convert import make_monotone
from .encoder import InterpretableEncoder
from .initialisation import INITS
from .losses import MonotoneLossWeights
from .support import fill_outside_support

PATCH_SUPPORTS = ("all", "brain")


class InterpretableMonotoneClassifier(nn.Module):
    """Healthy-vs-pathological classifier x (B, C, *spatial) → logit (B,); negative = healthy.

    Args:
        spatial_dims: 1, 2 or 3.
        in_channels: image channels.
        monotone_backbone: a backbone name from ``BACKBONES`` (``patchgan``, ``resnet18`` …) or
            a module mapping (B, encoder_channels, *spatial) to (B,) or (B, 1).
        encoder_channels: K, the interpretable feature channels.
        monotone: convert the backbone with ``make_monotone`` (False for the baselines).
        width: width of a named PatchGAN backbone.
        backbone_options: extra keywords of a named backbone (PatchGAN: ``depth``, ``pool``).
        encoder_norm, encoder_last_activation, encoder_bias: see :class:`InterpretableEncoder`.
        patch_support: ``all`` pools every patch logit (thesis); ``brain`` (PatchGAN backbone
            only) takes the brain as the non-zero input voxels of a skull-stripped, z-scored
            scan, fills the features outside it with each channel's minimum inside
            (:func:`~lesionlens.monotone.support.fill_outside_support`) and pools only the
            patches whose cell holds brain. Otherwise, with ``max`` pooling and zero biases, a
            background or brain-edge patch (features ≈ 0, logit ≈ 0) outranks every brain patch
            of a network whose brain features are negative, and no gradient reaches the lesion
            (docs/benchmarks.md, 3-D monotone). The support depends on x only, so M stays
            monotone in f for a fixed x.

    Example:
        >>> import torch
        >>> net = InterpretableMonotoneClassifier(2, 1, "patchgan", width=4)
        >>> net(torch.randn(2, 1, 32, 32)).shape
        torch.Size([2])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        monotone_backbone: nn.Module | str = "patchgan",
        encoder_channels: int = 8,
        monotone: bool = True,
        width: int = 8,
        backbone_options: dict | None = None,
        encoder_norm: str = "instance",
        encoder_last_activation: bool = True,
        encoder_bias: bool = False,
        patch_support: str = "all",
    ) -> None:
        super().__init__()
        if patch_support not in PATCH_SUPPORTS:
            raise LesionLensInputError(
                f"patch_support must be one of {', '.join(PATCH_SUPPORTS)}, got {patch_support!r}"
            )
        backbone_options = dict(backbone_options or {})
        self.config = {
            "spatial_dims": spatial_dims,
            "in_channels": in_channels,
            "monotone_backbone": monotone_backbone
            if isinstance(monotone_backbone, str)
            else type(monotone_backbone).__name__,
            "encoder_channels": encoder_channels,
            "monotone": monotone,
            "width": width,
            "backbone_options": backbone_options,
            "encoder_norm": encoder_norm,
            "encoder_last_activation": encoder_last_activation,
            "encoder_bias": encoder_bias,
            "patch_support": patch_support,
        }
        self.encoder = InterpretableEncoder(
            spatial_dims,
            in_channels,
            encoder_channels,
            norm=encoder_norm,
            last_activation=encoder_last_activation,
            bias=encoder_bias,
        )
        if isinstance(monotone_backbone, str):
            backbone = BACKBONES.create(
                monotone_backbone,
                spatial_dims=spatial_dims,
                in_channels=encoder_channels,
                width=width,
                **backbone_options,
            )
        elif isinstance(monotone_backbone, nn.Module):
            backbone = monotone_backbone
        else:
            raise TypeError(
                "monotone_backbone must be a backbone name or an nn.Module, "
                f"got {type(monotone_backbone).__name__}"
            )
        if patch_support != "all" and not isinstance(backbone, PatchStack):
            raise LesionLensInputError(
                f"patch_support={patch_support!r} needs the patchgan backbone, got "
                f"{type(backbone).__name__}"
            )
        self.head = make_monotone(backbone) if monotone else backbone
        self.monotone = monotone
        self.patch_support = patch_support

    def get_config(self) -> dict:
        return dict(self.config)

    def forward_features(self, x: Tensor) -> Tensor:
        """Interpretable features f = C(x), shape (B, K, *spatial)."""
        return self.encoder(x)

    def input_support(self, x: Tensor) -> Tensor | None:
        """Voxels whose patches are pooled, (B, 1, *spatial) bool; ``None`` = all."""
        if self.patch_support == "all":
            return None
        return (x != 0).any(1, keepdim=True)

    def forward_head(self, features: Tensor, support: Tensor | None = None) -> Tensor:
        """Logit M(f), shape (B,) (a logit map is averaged); ``support`` from
        :meth:`input_support` fills the features outside it and restricts the patch pooling."""
        if support is None:
            out = self.head(features)
        else:
            out = self.head(fill_outside_support(features, support), support)
        return out.reshape(features.shape[0], -1).mean(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x), self.input_support(x))


@dataclass
class MonotoneMethod:
    """A model and the loss weights of one ch. 6 method."""

    name: str
    model: InterpretableMonotoneClassifier
    loss_weights: MonotoneLossWeights


_METHODS: Registry = Registry("monotone method")
for _name, _monotone, _constrained, _grad in (
    ("monotone", True, True, True),
    ("monotone-baseline", False, False, False),
    ("monotone-baseline-c", False, True, False),
):
    _METHODS.register(_name)((_monotone, _constrained, _grad))


def monotone_method_names() -> list[str]:
    return _METHODS.names()


def build_monotone_method(
    name: str,
    spatial_dims: int,
    in_channels: int,
    backbone: nn.Module | str = "patchgan",
    *,
    width: int = 8,
    encoder_channels: int = 8,
    alpha_grad: float = 1e-2,
    input_size: Sequence[int] | None = None,
    init: str = "propagation",
    seed: int = 0,
    depth: int | None = None,
    pool: str | None = None,
    encoder_norm: str = "instance",
    encoder_last_activation: bool = True,
    encoder_bias: bool = False,
    patch_support: str = "all",
) -> MonotoneMethod:
    """Build ``monotone`` | ``monotone-baseline`` | ``monotone-baseline-c``.

    Args:
        name: the method.
        spatial_dims, in_channels: image geometry.
        backbone: backbone name or module for M.
        width, encoder_channels: sizes (see :class:`InterpretableMonotoneClassifier`).
        alpha_grad: α_G of the gradient term L_G ("relatively small" in the thesis; [GAP]),
            used by ``monotone`` only.
        input_size: spatial size of the images; when given, the whole model is initialised
            with ``init`` on an N(0, 1) batch of that size.
        init: a name from ``INITS`` (``propagation``, ``kaiming``, ``xavier``, ``lsuv``).
        seed: seed of the initialisation.
        depth, pool: stride-2 layers and patch pooling of a named ``patchgan`` backbone (thesis:
            4, mean); ``None`` keeps the default.
        encoder_norm, encoder_last_activation, encoder_bias: the encoder's normalisation, last
            activation and biases (thesis: ``"instance"``, ``True``, ``False``; see
            :class:`InterpretableEncoder`).
        patch_support: ``all`` | ``brain`` (see :class:`InterpretableMonotoneClassifier`).
    """
    is_monotone, constrained, uses_grad = _METHODS.get(name)
    if alpha_grad < 0:
        raise LesionLensInputError(f"alpha_grad must be ≥ 0, got {alpha_grad}")
    backbone_options = {k: v for k, v in (("depth", depth), ("pool", pool)) if v is not None}
    if backbone_options and backbone != "patchgan":
        raise LesionLensInputError(
            f"depth and pool are options of the patchgan backbone, not of {backbone!r}"
        )
    model = InterpretableMonotoneClassifier(
        spatial_dims,
        in_channels,
        backbone,
        encoder_channels,
        monotone=is_monotone,
        width=width,
        backbone_options=backbone_options,
        encoder_norm=encoder_norm,
        encoder_last_activation=encoder_last_activation,
        encoder_bias=encoder_bias,
        patch_support=patch_support,
    )
    if input_size is not None:
        INITS.get(init)(model, (in_channels, *input_size), batch_size=2, seed=seed)
    weights = MonotoneLossWeights(
        nf=1.0 if constrained else 0.0,
        df=1.0 if constrained else 0.0,
        grad=alpha_grad if uses_grad else 0.0,
    )
    return MonotoneMethod(name.lower(), model, weights)
