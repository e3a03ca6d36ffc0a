"""Monotonicity certificate: a structural proof plus empirical checks (thesis ch. 6 §I.1–I.2).

Structural: every unit is a non-negative parametrised Linear/Conv without bias, a split
activation or a monotone parameter-free layer (pooling, dropout, flatten, ...). It cannot see
arithmetic inside ``forward`` methods, so it is completed by empirical checks on random inputs:
∂M_j/∂x_i ≥ 0 (Eq. 6.1), M(x + δ) ≥ M(x) for δ ≥ 0, and sign calibration (f ≤ 0 ⇒ M(f) ≤ 0,
f ≥ 0 ⇒ M(f) ≥ 0), which zero biases guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .activations import SplitActivation
from .layers import LINEAR_LAYERS, MONOTONE_PASSTHROUGH, is_unit, iter_units, owns_parameters
from .positive import is_positive_parametrized


@dataclass
class MonotoneReport:
    """Outcome of :func:`check_monotone`; ``reasons`` explains every failed check."""

    ok: bool
    reasons: list[str] = field(default_factory=list)
    structural: bool = True
    gradient: bool = True
    increments: bool = True
    sign_calibrated: bool = True

    def __bool__(self) -> bool:
        return self.ok


def structural_issues(model: nn.Module) -> list[str]:
    """Reasons why the module tree of ``model`` is not provably monotone (empty if it is)."""
    units = [("<root>", None, model)] if is_unit(model) else iter_units(model)
    issues = []
    for path, _, unit in units:
        kind = f"layer {path!r} ({type(unit).__name__})"
        if isinstance(unit, LINEAR_LAYERS):
            if not is_positive_parametrized(unit):
                issues.append(f"{kind}: weight is not parametrised non-negative")
            bias = unit.bias
            if bias is not None and (bias.requires_grad or bool(bias.detach().ne(0).any())):
                issues.append(f"{kind}: bias is not fixed at zero")
        elif isinstance(unit, SplitActivation):
            continue
        elif owns_parameters(unit):
            issues.append(f"{kind}: has parameters of its own used in an unknown way")
        elif not isinstance(unit, MONOTONE_PASSTHROUGH):
            issues.append(f"{kind}: not in the set of layers known to be monotone")
    return issues


def _sample_points(
    example: Tensor | Sequence[int], n_samples: int, generator: torch.Generator, device
) -> Tensor:
    if isinstance(example, Tensor):
        shape = tuple(example.shape[1:])
    else:
        shape = tuple(int(s) for s in example)
    if not shape or min(shape) < 1:
        raise ValueError(f"example input shape must be (C, *spatial) with sizes ≥ 1, got {shape}")
    x = torch.randn((n_samples, *shape), generator=generator).to(device)
    if isinstance(example, Tensor):
        x = torch.cat([example.detach().to(device, x.dtype), x])
    return x


def _flat(out: Tensor) -> Tensor:
    return out.reshape(out.shape[0], -1)


def check_monotone(
    model: nn.Module,
    example: Tensor | Sequence[int],
    n_samples: int = 8,
    seed: int = 0,
    max_outputs: int = 8,
    tol: float = 1e-5,
) -> MonotoneReport:
    """Check that ``model`` is monotone increasing and sign-calibrated; never raises for a model
    that merely is not.

    Args:
        model: maps (B, C, *spatial) to outputs (B, ...).
        example: one input sample's shape ``(C, *spatial)``, or a batch (B, C, *spatial) whose
            samples are checked in addition to ``n_samples`` N(0, 1) draws.
        n_samples: random inputs drawn for the empirical checks.
        seed: seed of those draws.
        max_outputs: output elements per sample whose full gradient is checked (random subset;
            their sum is always checked).
        tol: tolerance relative to the largest gradient / output magnitude.

    Returns:
        :class:`MonotoneReport` with ``ok`` and the reasons of every failed check.

    Raises:
        ValueError: for a bad ``example`` shape or ``n_samples < 1``.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be ≥ 1, got {n_samples}")
    issues = structural_issues(model)
    report = MonotoneReport(ok=True, reasons=[f"structure: {i}" for i in issues])
    report.structural = not issues

    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    generator = torch.Generator().manual_seed(seed)
    x = _sample_points(example, n_samples, generator, device)
    was_training = model.training
    model.eval()
    try:
        _check_gradients(model, x, generator, max_outputs, tol, report)
        _check_increments(model, x, generator, tol, report)
        _check_sign_calibration(model, x, tol, report)
    finally:
        model.train(was_training)
    report.ok = not report.reasons
    return report


def _check_gradients(model, x, generator, max_outputs, tol, report: MonotoneReport) -> None:
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        out = _flat(model(x))
        n_out = out.shape[1]
        picks = torch.randperm(n_out, generator=generator)[:max_outputs].tolist()
        targets = [("sum of outputs", out.sum())] + [
            (f"output {j}", out[:, j].sum()) for j in picks
        ]
        for label, target in targets:
            (grad,) = torch.autograd.grad(target, x, retain_graph=True, allow_unused=True)
            if grad is None:
                continue
            scale = float(grad.abs().max()) + 1e-12
            worst = float(grad.min())
            if worst < -tol * scale:
                report.gradient = False
                report.reasons.append(
                    f"gradient: ∂({label})/∂x reaches {worst:.3g} < 0 on a random input"
                )
                return


def _check_increments(model, x, generator, tol, report: MonotoneReport) -> None:
    delta = torch.rand(x.shape, generator=generator).to(x.device, x.dtype)
    with torch.no_grad():
        low, high = _flat(model(x)), _flat(model(x + delta))
    scale = float(torch.maximum(low.abs().max(), high.abs().max())) + 1e-12
    worst = float((high - low).min())
    if worst < -tol * scale:
        report.increments = False
        report.reasons.append(
            f"increments: raising the input by δ ≥ 0 lowered an output by {-worst:.3g}"
        )


def _check_sign_calibration(model, x, tol, report: MonotoneReport) -> None:
    with torch.no_grad():
        neg, pos = _flat(model(-x.abs())), _flat(model(x.abs()))
        zero = _flat(model(torch.zeros_like(x[:1])))
    scale = float(torch.maximum(neg.abs().max(), pos.abs().max())) + 1e-12
    if float(neg.max()) > tol * scale:
        report.sign_calibrated = False
        report.reasons.append(
            f"sign calibration: f ≤ 0 gave an output of {float(neg.max()):.3g} > 0"
        )
    if float(pos.min()) < -tol * scale:
        report.sign_calibrated = False
        report.reasons.append(
            f"sign calibration: f ≥ 0 gave an output of {float(pos.min()):.3g} < 0"
        )
    if float(zero.abs().max()) > tol * scale:
        report.sign_calibrated = False
        report.reasons.append(f"sign calibration: M(0) = {float(zero.abs().max()):.3g} ≠ 0")
