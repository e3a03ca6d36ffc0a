"""Dimension-agnostic layer factories shared by the classifiers (norm, conv, activation)."""

from __future__ import annotations

from torch import nn

from ..registry import Registry

NORMS: Registry = Registry("norm")

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_BATCH = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_INSTANCE = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}


def check_spatial_dims(spatial_dims: int) -> int:
    """Return ``spatial_dims`` if it is 2 or 3, else raise ``ValueError``."""
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
    return spatial_dims


def conv_layer(spatial_dims: int) -> type[nn.Module]:
    """``nn.Conv2d`` or ``nn.Conv3d``."""
    return _CONV[check_spatial_dims(spatial_dims)]


@NORMS.register("batch")
def batch_norm(spatial_dims: int, channels: int) -> nn.Module:
    return _BATCH[spatial_dims](channels)


@NORMS.register("instance")
def instance_norm(spatial_dims: int, channels: int) -> nn.Module:
    """Instance norm with learnable affine parameters, as MONAI's ("instance", {"affine": True})."""
    return _INSTANCE[spatial_dims](channels, affine=True)


@NORMS.register("none")
def no_norm(spatial_dims: int, channels: int) -> nn.Module:
    return nn.Identity()


def norm_layer(norm: str, spatial_dims: int, channels: int) -> nn.Module:
    """Build the normalisation named ``norm`` ("batch", "instance" or "none")."""
    return NORMS.get(norm)(check_spatial_dims(spatial_dims), channels)


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is a positive int, else raise ``ValueError``/``TypeError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


NORM_TYPES: dict[str, type[nn.Module]] = {
    "batch": nn.modules.batchnorm._BatchNorm,
    "instance": nn.modules.instancenorm._InstanceNorm,
}


def replace_norms(module: nn.Module, built: str, norm: str, spatial_dims: int) -> None:
    """Swap every ``built`` norm layer under ``module`` for ``norm`` of the same width (in place).

    For MONAI networks that build one norm everywhere, or ignore ``norm`` in some stages.
    """
    if norm == built:
        return
    for name, child in module.named_children():
        if isinstance(child, NORM_TYPES[built]):
            setattr(module, name, norm_layer(norm, spatial_dims, child.num_features))
        else:
            replace_norms(child, built, norm, spatial_dims)
