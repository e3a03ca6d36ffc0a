"""Attribution methods bound to a model, differentiable for training (thesis ch. 2 §IV.1, ch. 5).

``create_attribution(name, model, **kw).attribute(x, target=None, create_graph=False, ...)``
returns a tensor shaped like ``x`` (B, C, *spatial) on ``x``'s device; positive = evidence for
pathology. Names: g, ixg, ig, eg, ieg, gradcam, occlusion (``ATTRIBUTIONS.names()``).
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from ..registry import Registry
from ._base import Attribution, Target, reduce_output
from .anomaly_map import PRECISIONS, attribution_map, check_precision, compute_precision
from .expected import ExpectedGradients, ImprovedExpectedGradients
from .gradcam import GradCAM
from .gradient import Gradient, InputXGradient
from .integrated import IntegratedGradients, quadrature
from .occlusion import Occlusion

ATTRIBUTIONS: Registry = Registry("attribution")
for _cls in (
    Gradient,
    InputXGradient,
    IntegratedGradients,
    ExpectedGradients,
    ImprovedExpectedGradients,
    GradCAM,
    Occlusion,
):
    ATTRIBUTIONS.register(_cls.name)(_cls)


def create_attribution(name: str, model: nn.Module, **kwargs: Any) -> Attribution:
    """Bind the method registered as ``name`` to ``model`` (constructor ``kwargs``)."""
    return ATTRIBUTIONS.get(name)(model, **kwargs)


def split_kwargs(name: str, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``kwargs`` into the constructor's and ``attribute``'s for method ``name``."""
    cls = ATTRIBUTIONS.get(name)
    init_names = set(inspect.signature(cls.__init__).parameters) - {"self", "model"}
    call_names = set(inspect.signature(cls.attribute).parameters) - {"self", "x"}
    unknown = set(kwargs) - init_names - call_names
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)} for attribution {name!r}; "
            f"expected some of {sorted(init_names | call_names)}"
        )
    return (
        {k: v for k, v in kwargs.items() if k in init_names},
        {k: v for k, v in kwargs.items() if k in call_names},
    )


__all__ = [
    "ATTRIBUTIONS",
    "Attribution",
    "ExpectedGradients",
    "GradCAM",
    "Gradient",
    "ImprovedExpectedGradients",
    "InputXGradient",
    "IntegratedGradients",
    "Occlusion",
    "PRECISIONS",
    "Target",
    "attribution_map",
    "check_precision",
    "compute_precision",
    "create_attribution",
    "quadrature",
    "reduce_output",
    "split_kwargs",
]
