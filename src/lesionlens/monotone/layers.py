"""Which torch layers a monotone network may contain, and how each is converted (ch. 6 §I.2).

The lists are structural facts used by :func:`~lesionlens.monotone.make_monotone` and
:func:`~lesionlens.monotone.check_monotone`; they see modules, not the functional code in a
``forward`` (a subtraction there is invisible, hence the empirical certificate).
"""

from __future__ import annotations

from collections.abc import Iterator

from torch import nn

from .activations import INCREASING_ACTIVATIONS, NON_MONOTONE_ACTIVATIONS, SplitActivation
from .positive import is_positive_parametrized

#: Linear maps whose weights get the non-negative parametrisation and lose their bias.
LINEAR_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)

#: Normalisation layers ((x − E x)/σ(x) is not monotone): replaced by ``nn.Identity``.
NORM_LAYERS: tuple[type[nn.Module], ...] = tuple(
    t
    for t in (
        nn.modules.batchnorm._BatchNorm,  # BatchNorm1d/2d/3d, SyncBatchNorm, GlobalBatchNorm
        nn.InstanceNorm1d,
        nn.InstanceNorm2d,
        nn.InstanceNorm3d,
        nn.GroupNorm,
        nn.LayerNorm,
        nn.LocalResponseNorm,
        getattr(nn, "RMSNorm", None),
    )
    if t is not None
)

#: Parameter-free layers that are non-decreasing and map 0 to 0 (kept unchanged).
MONOTONE_PASSTHROUGH: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
    nn.ZeroPad1d,
    nn.ZeroPad2d,
    nn.ZeroPad3d,
    nn.ReflectionPad1d,
    nn.ReflectionPad2d,
    nn.ReflectionPad3d,
    nn.ReplicationPad1d,
    nn.ReplicationPad2d,
    nn.ReplicationPad3d,
    nn.PixelShuffle,
    nn.PixelUnshuffle,
    nn.ChannelShuffle,
    nn.Upsample,
)

#: Upsampling modes that interpolate with non-negative weights (bicubic has negative lobes).
MONOTONE_UPSAMPLE_MODES = frozenset({"nearest", "nearest-exact", "linear", "bilinear", "trilinear"})

#: Known layers that are never monotone, with the reason given to the user.
REFUSED_LAYERS: dict[type[nn.Module], str] = {
    nn.MultiheadAttention: "attention mixes positions through a softmax of products",
    nn.Transformer: "attention mixes positions through a softmax of products",
    nn.TransformerEncoderLayer: "attention mixes positions through a softmax of products",
    nn.TransformerDecoderLayer: "attention mixes positions through a softmax of products",
    nn.Softmax: "softmax lowers the other outputs when one input rises",
    nn.Softmin: "softmin lowers the other outputs when one input rises",
    nn.LogSoftmax: "log-softmax lowers the other outputs when one input rises",
    nn.Softmax2d: "softmax lowers the other outputs when one input rises",
    nn.Bilinear: "x·W·y is not monotone in x and y for any W",
    nn.Embedding: "an embedding is a lookup table, not an ordered map",
    nn.RNNBase: "recurrent gates multiply inputs together",
    nn.AlphaDropout: "alpha dropout sets dropped units to a negative constant",
    nn.FeatureAlphaDropout: "alpha dropout sets dropped units to a negative constant",
    nn.LPPool1d: "power pooling is not monotone for negative inputs",
    nn.LPPool2d: "power pooling is not monotone for negative inputs",
}
for _act in NON_MONOTONE_ACTIVATIONS:
    REFUSED_LAYERS[_act] = "this activation decreases somewhere (or may learn to)"


def refusal_reason(module: nn.Module) -> str | None:
    """Why ``module`` can never be part of a monotone network, or None."""
    for layer_type, reason in REFUSED_LAYERS.items():
        if isinstance(module, layer_type):
            return reason
    if isinstance(module, nn.Upsample) and module.mode not in MONOTONE_UPSAMPLE_MODES:
        return f"upsampling mode {module.mode!r} has negative interpolation weights"
    return None


def is_unit(module: nn.Module) -> bool:
    """Modules judged as one block: leaves, linear maps, split and known activations."""
    return (
        isinstance(module, (*LINEAR_LAYERS, SplitActivation, *INCREASING_ACTIVATIONS))
        or is_positive_parametrized(module)
        or refusal_reason(module) is not None
        or not any(True for _ in module.children())
    )


def iter_units(model: nn.Module, prefix: str = "") -> Iterator[tuple[str, nn.Module, nn.Module]]:
    """Yield ``(path, parent, unit)`` for every unit below ``model`` (depth first, in order).

    Containers are descended into; a container that owns parameters directly is yielded as a
    unit too (its ``forward`` uses them in a way we cannot see).
    """
    for name, child in model.named_children():
        path = f"{prefix}.{name}" if prefix else name
        if is_unit(child):
            yield path, model, child
            continue
        if any(p is not None for p in child._parameters.values()):
            yield path, model, child
        yield from iter_units(child, path)


def owns_parameters(module: nn.Module) -> bool:
    """True when ``module`` registers parameters itself (not through children)."""
    return any(p is not None for p in module._parameters.values())
