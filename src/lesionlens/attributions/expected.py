"""Expected Gradients (Erion et al. 2021; thesis eq. 2.28, 5.2) and IEG (thesis §5.III.1).

EG_i(x) = E_{x′∼X, α∼U(0,1)} [∂F(x′ + α(x − x′))/∂x_i] (local form; × (x_i − x′_i) when
``multiply_by_inputs``), estimated with ``n_samples`` (reference, α) pairs per image. IEG draws
the zero image instead of a data reference with probability ``p0`` (0.25 in the thesis), so
that a model constrained with it also gives good IG maps. Random draws (reference index,
α, zero-or-not) are made by :meth:`ExpectedGradients.sample_path` and the deterministic part is
:meth:`ExpectedGradients.attribute_at`. Shapes: (B, C, *spatial) → (B, C, *spatial).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._base import Attribution, Target, check_input, chunks, make_generator

References = None | torch.Tensor | Callable[[int, torch.Generator | None], torch.Tensor]


class ExpectedGradients(Attribution):
    """Monte-Carlo expected gradients with data references.

    Args:
        model: the classifier.
        multiply_by_inputs: multiply each path gradient by (x − x′) (Erion's EG) or not (thesis).
    """

    name = "eg"
    p0: float = 0.0

    def __init__(self, model: nn.Module, multiply_by_inputs: bool = False) -> None:
        super().__init__(model)
        self.multiply_by_inputs = multiply_by_inputs

    def sample_path(
        self,
        x: torch.Tensor,
        references: References = None,
        n_samples: int = 1,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw (references (n_samples·B, C, *spatial), alphas (n_samples·B,)), sample-major.

        ``references``: None → another image of the batch (uniform, never the image itself);
        a tensor (N, C, *spatial) → a uniform row; a callable ``(n, generator) -> (n, C, *spatial)``
        → a dataset sampler. Then each slot becomes the zero image with probability ``p0``.
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
        batch = x.shape[0]
        slots = n_samples * batch
        if references is None:
            if batch < 2:
                raise ValueError("references=None draws from the batch itself: needs B >= 2, got 1")
            own = torch.arange(slots) % batch
            shift = torch.randint(1, batch, (slots,), generator=generator)
            refs = x.detach()[((own + shift) % batch).to(x.device)]
        elif isinstance(references, torch.Tensor):
            if references.shape[1:] != x.shape[1:]:
                raise ValueError(
                    f"references must be (N, {', '.join(map(str, x.shape[1:]))}), "
                    f"got {tuple(references.shape)}"
                )
            index = torch.randint(0, references.shape[0], (slots,), generator=generator)
            refs = references.detach().to(x.device, x.dtype)[index.to(references.device)]
        elif callable(references):
            refs = references(slots, generator).detach().to(x.device, x.dtype)
            if refs.shape != (slots, *x.shape[1:]):
                raise ValueError(
                    f"reference sampler must return {(slots, *x.shape[1:])}, "
                    f"got {tuple(refs.shape)}"
                )
        else:
            raise TypeError(
                f"references must be None, a tensor or a callable, got {type(references).__name__}"
            )
        alphas = torch.rand(slots, generator=generator)
        if self.p0 > 0:
            zero = torch.rand(slots, generator=generator) < self.p0
            refs = torch.where(zero.to(x.device).view((-1,) + (1,) * (x.ndim - 1)), 0.0, refs)
        return refs, alphas.to(device=x.device, dtype=x.dtype)

    def attribute_at(
        self,
        x: torch.Tensor,
        references: torch.Tensor,
        alphas: torch.Tensor,
        target: Target = None,
        create_graph: bool = False,
        internal_batch_size: int | None = None,
    ) -> torch.Tensor:
        """Deterministic EG for given path slots: ``references`` (k·B, C, *s), ``alphas`` (k·B,).

        Slot j belongs to image ``j % B``; the result averages each image's k slots.
        """
        x = check_input(x)
        batch = x.shape[0]
        if references.shape[0] != alphas.shape[0] or references.shape[0] % batch:
            raise ValueError(
                f"need k·B references and alphas for B={batch}, got {references.shape[0]} "
                f"references and {alphas.shape[0]} alphas"
            )
        n_samples = references.shape[0] // batch
        x_detached = x.detach()
        view = (-1,) + (1,) * (x.ndim - 1)
        total = None
        for piece in chunks(references.shape[0], internal_batch_size):
            rows = torch.arange(piece.start, piece.stop, device=x.device) % batch
            refs = references[piece]
            points = refs + alphas[piece].view(view) * (x_detached[rows] - refs)
            grads = self.input_gradient(points, target, create_graph)
            if self.multiply_by_inputs:
                grads = grads * (x_detached[rows] - refs)
            summed = torch.zeros_like(x_detached).index_add(0, rows, grads)
            total = summed if total is None else total + summed
        return total / n_samples

    def attribute(
        self,
        x: torch.Tensor,
        target: Target = None,
        create_graph: bool = False,
        references: References = None,
        n_samples: int = 1,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        internal_batch_size: int | None = None,
    ) -> torch.Tensor:
        """Args:
        x: (B, C, *spatial).
        references: see :meth:`sample_path` (None: the other images of the batch).
        n_samples: (reference, α) pairs per image, one random α each.
        seed / generator: source of the random draws (None: torch's global stream).
        internal_batch_size: path points per forward/backward pass.
        """
        x = check_input(x)
        refs, alphas = self.sample_path(x, references, n_samples, make_generator(seed, generator))
        return self.attribute_at(x, refs, alphas, target, create_graph, internal_batch_size)


class ImprovedExpectedGradients(ExpectedGradients):
    """IEG: expected gradients whose reference is the zero image with probability ``p0``.

    ``p0=1`` is the stochastic (one α per sample) form of zero-baseline IG used for training.
    """

    name = "ieg"

    def __init__(
        self, model: nn.Module, multiply_by_inputs: bool = False, p0: float = 0.25
    ) -> None:
        super().__init__(model, multiply_by_inputs)
        if not 0.0 <= float(p0) <= 1.0:
            raise ValueError(f"p0 must be in [0, 1], got {p0!r}")
        self.p0 = float(p0)
