"""Occlusion (Zeiler & Fergus 2014; thesis §2.IV.1).

A constant patch (``baseline``, 0 by default) slides over the image (all channels at once);
each voxel gets the mean of F(x) − F(x_occluded) over the windows covering it, as captum's
``Occlusion`` with ``sliding_window_shapes=(C, *patch)``. Shapes: (B, C, *spatial) →
(B, C, *spatial). Differentiable with ``create_graph=True`` (the differences are forward values).
"""

from __future__ import annotations

import itertools

import torch

from ._base import Attribution, Target, check_input


def _per_dim(name: str, value: int | tuple[int, ...], ndim: int) -> tuple[int, ...]:
    values = (value,) * ndim if isinstance(value, int) else tuple(value)
    if len(values) != ndim or any(not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name} must be a positive int or {ndim} positive ints, got {value!r}")
    return values


class Occlusion(Attribution):
    """Sliding-patch occlusion sensitivity of the pathological logit."""

    name = "occlusion"
    gradient_based = False

    def attribute(
        self,
        x: torch.Tensor,
        target: Target = None,
        create_graph: bool = False,
        patch: int | tuple[int, ...] = 4,
        stride: int | tuple[int, ...] | None = None,
        baseline: float = 0.0,
        internal_batch_size: int | None = None,
    ) -> torch.Tensor:
        """Args:
        x: (B, C, *spatial).
        patch: window size per spatial dim.
        stride: step per spatial dim (None: the patch size, i.e. no overlap).
        baseline: value written into the window.
        internal_batch_size: occluded copies per forward pass (None: one window over the batch).
        """
        x = check_input(x)
        spatial = x.shape[2:]
        size = _per_dim("patch", patch, len(spatial))
        step = size if stride is None else _per_dim("stride", stride, len(spatial))
        if any(p > s for p, s in zip(size, spatial, strict=True)):
            raise ValueError(f"patch {size} is larger than the image {tuple(spatial)}")
        starts = itertools.product(
            *[range(0, s - p + 1, t) for s, p, t in zip(spatial, size, step, strict=True)]
        )
        windows = [tuple(slice(a, a + p) for a, p in zip(st, size, strict=True)) for st in starts]
        batch = x.shape[0]
        per_pass = max(1, (internal_batch_size or batch) // batch)
        with torch.set_grad_enabled(create_graph and torch.is_grad_enabled()):
            source = x if create_graph else x.detach()
            reference = self.scalar_output(source, target)
            total = torch.zeros_like(source)
            count = torch.zeros(spatial, dtype=x.dtype, device=x.device)
            for first in range(0, len(windows), per_pass):
                group = windows[first : first + per_pass]
                occluded = source.repeat(len(group), *([1] * (x.ndim - 1)))
                for index, window in enumerate(group):
                    occluded[(slice(index * batch, (index + 1) * batch), slice(None), *window)] = (
                        baseline
                    )
                drops = reference.repeat(len(group)) - self.scalar_output(occluded, target)
                for index, window in enumerate(group):
                    mask = torch.zeros(spatial, dtype=x.dtype, device=x.device)
                    mask[window] = 1.0
                    drop = drops[index * batch : (index + 1) * batch]
                    total = total + drop.view((-1,) + (1,) * (x.ndim - 1)) * mask
                    count = count + mask
        return total / count.clamp_min(1.0)
