"""Monotone networks with counterfactual explanations (Wargnier-Dauchelle 2023, chapter 6).

- :func:`make_monotone` / :func:`monotone`: convert any network (positive weights φ(W̃),
  zero biases, no normalisation, split activations) and :func:`check_monotone` to certify it.
- ``INITS``: :func:`propagation_init` (Algorithms 1–2), :func:`kaiming_init`,
  :func:`xavier_init`, :func:`lsuv_init`; :func:`record_stats` for per-layer statistics.
- :class:`InterpretableMonotoneClassifier` (F = M ∘ C), :func:`build_monotone_method`,
  :func:`monotone_losses` (BCE + L_nF + L_dF + α_G·L_G).
- :func:`counterfactual` / :func:`counterfactual_maps`: non-negative α with M(f − α) < m.
"""

from .activations import SplitActivation
from .backbones import BACKBONES, PatchStack
from .certificate import MonotoneReport, check_monotone, structural_issues
from .classifier import (
    InterpretableMonotoneClassifier,
    MonotoneMethod,
    build_monotone_method,
    monotone_method_names,
)
from .convert import make_monotone, monotone
from .counterfactual import channels_last, counterfactual, counterfactual_maps
from .encoder import InterpretableEncoder
from .initialisation import INITS, kaiming_init, lsuv_init, propagation_init, xavier_init
from .losses import (
    MonotoneLossWeights,
    distribution_loss,
    gradient_loss,
    monotone_losses,
    negativity_loss,
    soft_histogram,
)
from .positive import PositiveWeight, phi, phi_inverse
from .stats import LayerStats, record_stats

__all__ = [
    "BACKBONES",
    "INITS",
    "InterpretableEncoder",
    "InterpretableMonotoneClassifier",
    "LayerStats",
    "MonotoneLossWeights",
    "MonotoneMethod",
    "MonotoneReport",
    "PatchStack",
    "PositiveWeight",
    "SplitActivation",
    "build_monotone_method",
    "channels_last",
    "check_monotone",
    "counterfactual",
    "counterfactual_maps",
    "distribution_loss",
    "gradient_loss",
    "kaiming_init",
    "lsuv_init",
    "make_monotone",
    "monotone",
    "monotone_losses",
    "monotone_method_names",
    "negativity_loss",
    "phi",
    "phi_inverse",
    "propagation_init",
    "record_stats",
    "soft_histogram",
    "structural_issues",
    "xavier_init",
]
