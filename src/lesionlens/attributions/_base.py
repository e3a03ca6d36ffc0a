"""Shared machinery of the attribution methods: targets, input checks, chunks, random streams.

Convention (thesis §2.IV.1, spec 01 §4.5): F(x) is the pathological logit; for a PatchGAN it is
the mean of the patch-logit map, so a model output of any shape (B, *rest) is reduced to (B,)
by averaging ``rest``. Attributions are (B, C, *spatial) like the input; positive = evidence for
pathology. No method changes the model's train/eval mode (use ``models.eval_mode``); with
BatchNorm in train mode the batch statistics couple the images, as in the thesis' training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import ClassVar

import torch
from torch import nn

Target = None | int | Callable[[torch.Tensor], torch.Tensor]


def reduce_output(output: torch.Tensor, target: Target) -> torch.Tensor:
    """Model output (B, *rest) → the scalar per image (B,) being explained.

    ``None``: mean over every non-batch dimension (the global logit of a patch classifier);
    ``int``: that channel of a (B, K, *spatial) output, then the mean over the rest;
    callable: ``target(output)`` which must return (B,).
    """
    if callable(target):
        reduced = target(output)
        if reduced.shape != output.shape[:1]:
            raise ValueError(
                f"target callable must return shape ({output.shape[0]},), "
                f"got {tuple(reduced.shape)}"
            )
        return reduced
    if target is None:
        return output if output.ndim == 1 else output.flatten(1).mean(1)
    if isinstance(target, bool) or not isinstance(target, int):
        raise TypeError(f"target must be None, an int or a callable, got {target!r}")
    if output.ndim < 2 or not 0 <= target < output.shape[1]:
        raise ValueError(
            f"target {target} needs a (B, K, ...) output with K > {target}, "
            f"got output shape {tuple(output.shape)}"
        )
    return output[:, target].reshape(output.shape[0], -1).mean(1)


def check_input(x: object) -> torch.Tensor:
    """Return ``x`` if it is a floating (B, C, *spatial) tensor with 1–3 spatial dims."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor (B, C, *spatial), got {type(x).__name__}")
    if x.ndim not in (3, 4, 5):
        raise ValueError(
            f"input must be (B, C, *spatial) with 1-3 spatial dims, got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(f"input must be floating point, got {x.dtype}")
    return x


def make_generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator | None:
    """A CPU generator from ``seed`` or ``generator`` (not both); None → torch's global stream."""
    if seed is not None and generator is not None:
        raise ValueError("give seed or generator, not both")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return generator
    if seed is None:
        return None
    return torch.Generator().manual_seed(int(seed))


def chunks(n: int, size: int | None) -> Iterator[slice]:
    """Slices covering ``range(n)`` in pieces of ``size`` (all at once when ``size`` is None)."""
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValueError(f"internal_batch_size must be a positive int or None, got {size!r}")
    step = n if size is None else size
    for start in range(0, n, max(step, 1)):
        yield slice(start, min(start + step, n))


class Attribution:
    """Base of every method: bound to a model, ``attribute(x, target=None, ...) -> Tensor``."""

    name: ClassVar[str] = ""
    gradient_based: ClassVar[bool] = True

    def __init__(self, model: nn.Module | Callable[[torch.Tensor], torch.Tensor]) -> None:
        if not callable(model):
            raise TypeError(f"model must be callable, got {type(model).__name__}")
        self.model = model

    def scalar_output(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        return reduce_output(self.model(x), target)

    def input_gradient(
        self, points: torch.Tensor, target: Target, create_graph: bool
    ) -> torch.Tensor:
        """∂F/∂x at ``points`` (N, C, *spatial); the graph to the parameters is kept on request."""
        leaf = points.detach().requires_grad_(True)
        with torch.enable_grad():
            output = self.scalar_output(leaf, target)
            (grad,) = torch.autograd.grad(output.sum(), leaf, create_graph=create_graph)
        return grad

    def attribute(self, x: torch.Tensor, target: Target = None, **kwargs) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.model).__name__})"
