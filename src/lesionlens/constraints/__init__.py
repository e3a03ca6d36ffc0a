"""Attribution constraints (thesis ch. 5): none, unsup, sup, unsup-tv, ross, erion.

``constraint = create_constraint("unsup", attribution="g", weight=None)``; in training
``out = constraint.classification_and_constraint(model, x, y, mask, brain)`` gives
``out["loss"] = BCE(logit, y) + weight · L_A`` (``batch_statistics`` "shared" or "frozen": how the
constraint pass meets BatchNorm), and
``constraint(model, x, y, mask, brain) -> (L_A, parts)`` gives the unweighted penalty alone.
"""

from __future__ import annotations

from typing import Any

from ..registry import Registry
from .constraint import (
    BATCH_STATISTICS,
    DEFAULT_WEIGHTS,
    AttributionConstraint,
    ErionConstraint,
    NoConstraint,
    RossConstraint,
    SupervisedConstraint,
    UnsupervisedConstraint,
    UnsupervisedTVConstraint,
)
from .losses import attribution_bce, ross_l2, total_variation
from .training_attribution import TRAINING_ATTRIBUTIONS, training_attribution

CONSTRAINTS: Registry = Registry("constraint")
for _cls in (
    NoConstraint,
    UnsupervisedConstraint,
    SupervisedConstraint,
    UnsupervisedTVConstraint,
    RossConstraint,
    ErionConstraint,
):
    CONSTRAINTS.register(_cls.name)(_cls)


def create_constraint(
    name: str, attribution: str | None = None, weight: float | None = None, **kwargs: Any
) -> AttributionConstraint:
    """Build constraint ``name``; ``attribution`` None → its default ("g", "eg" for erion)."""
    cls = CONSTRAINTS.get(name)
    if attribution is not None:
        kwargs["attribution"] = attribution
    return cls(weight=weight, **kwargs)


__all__ = [
    "CONSTRAINTS",
    "BATCH_STATISTICS",
    "DEFAULT_WEIGHTS",
    "TRAINING_ATTRIBUTIONS",
    "AttributionConstraint",
    "ErionConstraint",
    "NoConstraint",
    "RossConstraint",
    "SupervisedConstraint",
    "UnsupervisedConstraint",
    "UnsupervisedTVConstraint",
    "attribution_bce",
    "create_constraint",
    "ross_l2",
    "total_variation",
    "training_attribution",
]
