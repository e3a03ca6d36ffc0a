"""Evaluation: lesion-map metrics, thresholds, significance tests, ``evaluate`` and ``compare``
(thesis ch. 5 §2, Tables 5.2–5.5). Works on arrays and the cohort manifest, never on models.
"""

from .brain import background_value, brain_mask
from .classification import classification_metrics
from .compare import compare
from .evaluate import evaluate
from .localisation import pointing_game, relevance_mass_accuracy, relevance_rank_accuracy
from .maps import map_correlation, total_variation
from .segmentation import LesionDice, LesionHausdorff95, hausdorff95, lesion_dice
from .significance import bonferroni, paired_permutation_test
from .thresholds import (
    ThresholdRule,
    dice_curve,
    healthy_fpr_threshold,
    max_f1_threshold,
    parse_threshold_rule,
)
from .voxel import (
    PooledVoxelScores,
    mcclish_from_normalised,
    partial_auroc,
    voxel_auprc,
    voxel_auroc,
    voxel_auroc10,
)

__all__ = [
    "LesionDice",
    "LesionHausdorff95",
    "PooledVoxelScores",
    "ThresholdRule",
    "background_value",
    "bonferroni",
    "brain_mask",
    "classification_metrics",
    "compare",
    "dice_curve",
    "evaluate",
    "hausdorff95",
    "healthy_fpr_threshold",
    "lesion_dice",
    "map_correlation",
    "max_f1_threshold",
    "mcclish_from_normalised",
    "paired_permutation_test",
    "parse_threshold_rule",
    "partial_auroc",
    "pointing_game",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "total_variation",
    "voxel_auprc",
    "voxel_auroc",
    "voxel_auroc10",
]
