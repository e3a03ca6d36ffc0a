"""Scoped model-mode helpers (attributions never change a model's mode silently)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def eval_mode(*models: nn.Module) -> Iterator[None]:
    """Put ``models`` in eval mode inside the block and restore every submodule's mode after.

    Unlike ``monai.networks.utils.eval_mode`` this does not disable gradients, so gradient
    attributions can be computed inside it.

    Example:
        >>> with eval_mode(model):
        ...     maps = Gradient(model).attribute(x)
    """
    saved = [[(m, m.training) for m in model.modules()] for model in models]
    try:
        for model in models:
            model.eval()
        yield
    finally:
        for states in saved:
            for module, training in states:
                module.training = training
