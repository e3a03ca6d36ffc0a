"""Fixed-shape crop/pad and its inverse, for restacking network maps onto the subject's grid.

Arrays are ``(*leading, *spatial)``: the target ``shape`` applies to the trailing axes, leading
axes (batch, channels) are kept. Each spatial axis is centre-cropped or padded symmetrically;
when the difference is odd the extra voxel goes to the end. Because cropping ``n → s`` and padding
``s → n`` use the same offset ``(n - s) // 2``, the inverse is the same operation back to the
original shape: ``undo_crop_or_pad(crop_or_pad(x, s), x.shape) == x`` wherever ``x`` was kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def _target_shape(spatial: tuple[int, ...], shape: Sequence[int | None]) -> tuple[int, ...]:
    if len(shape) > len(spatial):
        raise ValueError(
            f"shape {tuple(shape)} has {len(shape)} axes but the array has only {len(spatial)}"
        )
    out = []
    for have, want in zip(spatial, shape, strict=True):
        if want is None:
            out.append(have)
        elif isinstance(want, int | np.integer) and want > 0:
            out.append(int(want))
        else:
            raise ValueError(f"shape entries must be positive integers or None, got {want!r}")
    return tuple(out)


def crop_or_pad(array: ArrayT, shape: Sequence[int | None], value: float = 0.0) -> ArrayT:
    """Centre-crop or symmetrically pad the last ``len(shape)`` axes of ``array`` to ``shape``.

    Args:
        array: numpy array or torch tensor ``(*leading, *spatial)``.
        shape: target size of each trailing axis; ``None`` keeps that axis as it is.
        value: fill value of padded voxels (the image background; 0 for masks).

    Returns:
        Array of the same type, dtype and leading axes, with trailing axes ``shape``.

    Raises:
        ValueError: ``shape`` has more axes than ``array`` or a non-positive entry.
    """
    n = len(shape)
    lead, spatial = tuple(array.shape[: array.ndim - n]), tuple(array.shape[array.ndim - n :])
    target = _target_shape(spatial, shape)
    if target == spatial:
        return array
    src, dst = [], []
    for have, want in zip(spatial, target, strict=True):
        offset = abs(have - want) // 2
        size = min(have, want)
        if have >= want:  # crop: read a centred window, write everything
            src.append(slice(offset, offset + size))
            dst.append(slice(0, size))
        else:  # pad: read everything, write into a centred window
            src.append(slice(0, size))
            dst.append(slice(offset, offset + size))
    if isinstance(array, torch.Tensor):
        out = array.new_full(lead + target, value)
    else:
        out = np.full(lead + target, value, dtype=array.dtype)
    out[(..., *dst)] = array[(..., *src)]
    return out


def undo_crop_or_pad(
    array: ArrayT, original_shape: Sequence[int], value: float = 0.0
) -> ArrayT:
    """Put a map computed on the fixed-shape grid back onto the subject's ``original_shape`` grid.

    Voxels that :func:`crop_or_pad` cropped away come back as ``value``; padded voxels are dropped.
    ``original_shape`` is the spatial shape only; leading axes of ``array`` are kept.
    """
    return crop_or_pad(array, tuple(original_shape), value)
