"""Training configuration: every option, resolved, saved as ``config.yaml`` in the run directory.

Defaults follow thesis ch. 5 §4 (Yogi lr 1 for constrained methods, Adam 1e-3 otherwise, early
stopping on validation performance) with epochs/batch sized for a 2-core CPU on 4 mm phantoms.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

OPTIMIZERS = ("auto", "adam", "yogi", "adadelta", "sgd")
PATCH_MODELS = ("patchgan", "patchcnn")  # the classifiers with --depth and --pool
PRECISIONS = ("32-true", "bf16-mixed")  # Lightning precision: float32, or bfloat16 autocast
AUGMENTATION_PROBABILITIES = (
    "p_intensity", "p_flip", "p_elastic", "p_contrast", "p_bias", "p_noise", "p_blur", "p_zoom"
)


@dataclass
class TrainConfig:
    """All options of ``lesionlens train``. ``None`` means "resolved from the method"."""

    method: str = "none"
    attribution: str = "g"
    model: str = "patchgan"
    dim: int = 3
    width: int = 32
    norm: str | None = None  # batch | instance | none; None → the model's own default
    depth: int | None = None  # PatchGAN stride-2 layers; None → 4 (thesis)
    pool: str | None = None  # PatchGAN patch-logit pooling mean | max | lse; None → mean (thesis)
    # constraint weight α_A: a number; None → thesis default for the attribution; "auto" →
    # alpha_factor × the weight balancing ‖∇θ BCE‖ and ‖∇θ L_A‖ at initialisation, resolved once
    # into alpha_resolved (training/balanced_alpha.py; kept by --resume)
    alpha: float | str | None = None
    alpha_factor: float = 1.0
    alpha_resolved: float | None = None
    optimizer: str = "auto"  # auto: yogi (lr 1) for constrained methods, adam (1e-3) otherwise
    lr: float | None = None
    weight_decay: float = 0.0
    max_epochs: int = 40
    min_epochs: int = 5
    patience: int = 10
    batch_size: int = 8
    shape: tuple[int, ...] | None = None  # crop/pad target; None → smallest multiple of 16 ≥ data
    slices: str = "central10"  # 2-D models: central10 | brain
    slice_context: int = 0  # 2-D models: neighbouring slices per side stacked as channels (2.5-D)
    balanced: bool = True  # draw training items class-balanced (2-D slices are mostly healthy)
    subject_balanced: bool = False  # within a class, every subject equally likely (2-D slices)
    p_intensity: float = 0.5
    p_flip: float = 0.5
    p_elastic: float = 0.0
    # acquisition and size cues (lesionlens.data.acquisition; not in the thesis, default off)
    p_contrast: float = 0.0
    p_bias: float = 0.0
    p_noise: float = 0.0
    p_blur: float = 0.0
    p_zoom: float = 0.0
    checkpoint_rule: str = "val_bacc"
    seed: int = 0
    devices: int = 1
    nodes: int = 1
    accelerator: str = "cpu"
    strategy: str = "auto"
    num_workers: int = 0
    deterministic: bool = True
    precision: str = "32-true"  # bf16-mixed: forward (and the constraint's maps) in bfloat16
    method_options: dict[str, Any] = field(default_factory=dict)
    in_channels: int | None = None  # resolved from the cohort at training time

    def __post_init__(self) -> None:
        if self.dim not in (2, 3):
            raise ValueError(f"--dim must be 2 or 3, got {self.dim}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        for name in ("max_epochs", "batch_size", "devices", "nodes", "width"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be ≥ 1, got {getattr(self, name)}"
                )
        for name in AUGMENTATION_PROBABILITIES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be in [0, 1], got {getattr(self, name)}"
                )
        self._check_alpha()
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ValueError(f"--weight-decay must be a finite number ≥ 0, got {self.weight_decay}")
        if self.model not in PATCH_MODELS and (self.depth is not None or self.pool is not None):
            raise ValueError(
                f"--depth and --pool are options of {' and '.join(PATCH_MODELS)}; --model "
                f"{self.model} has neither"
            )
        if self.slice_context < 0 or (self.slice_context and self.dim != 2):
            raise ValueError(
                f"--slice-context must be ≥ 0 and needs --dim 2, got {self.slice_context} "
                f"with --dim {self.dim}"
            )
        if self.subject_balanced and not self.balanced:
            raise ValueError(
                "--subject-balanced draws class-balanced first; it cannot go with --no-balanced"
            )
        if self.subject_balanced and self.dim != 2:
            raise ValueError(
                "--subject-balanced needs --dim 2: a 3-D item is a whole subject, so "
                "class-balanced draws are already subject-balanced"
            )
        if self.slice_context and self.method == "sup":
            raise ValueError(
                "--slice-context with --method sup: the lesion mask covers the centre slice "
                "only, not the stacked neighbours; use --slice-context 0"
            )
        if self.shape is not None:
            self.shape = tuple(int(s) for s in self.shape)
            if len(self.shape) != self.dim:
                raise ValueError(
                    f"--shape needs {self.dim} sizes for --dim {self.dim}, got {self.shape}"
                )

    def _check_alpha(self) -> None:
        if isinstance(self.alpha, str) and self.alpha != "auto":
            try:
                self.alpha = float(self.alpha)
            except ValueError:
                raise ValueError(
                    f"--alpha must be a number ≥ 0 or 'auto', got {self.alpha!r}"
                ) from None
        if isinstance(self.alpha, (int, float)) and not (
            math.isfinite(self.alpha) and self.alpha >= 0
        ):
            raise ValueError(f"--alpha must be a number ≥ 0 or 'auto', got {self.alpha!r}")
        if not (math.isfinite(self.alpha_factor) and self.alpha_factor > 0):
            raise ValueError(f"--alpha-factor must be > 0, got {self.alpha_factor}")
        if self.alpha != "auto" and self.alpha_factor != 1.0:
            raise ValueError("--alpha-factor scales --alpha auto; pass --alpha auto with it")
        if self.alpha != "auto" and self.alpha_resolved is not None:
            raise ValueError("alpha_resolved is set by --alpha auto only")

    @property
    def constraint_weight(self) -> float | None:
        """α_A handed to the constraint: the number, the resolved auto weight (None until
        resolved, and None → the thesis default)."""
        return self.alpha_resolved if self.alpha == "auto" else self.alpha

    @property
    def model_in_channels(self) -> int:
        """Input channels of the network: the cohort's, times 2·slice_context + 1 slices."""
        return (self.in_channels or 1) * (2 * self.slice_context + 1)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["shape"] = list(self.shape) if self.shape is not None else None
        return d

    def save(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        data = yaml.safe_load(Path(path).read_text()) or {}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown option(s) {', '.join(unknown)}")
        return cls(**data)
