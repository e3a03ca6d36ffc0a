"""Loading a finished run: ``config.yaml`` + ``model.safetensors`` → model (weights only)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ..errors import LesionLensInputError
from .config import TrainConfig
from .methods import METHODS


def load_run(run: str | Path) -> tuple[TrainConfig, nn.Module]:
    """Rebuild the trained model of ``run`` in eval mode. Safetensors cannot carry code."""
    from safetensors.torch import load_file

    run = Path(run)
    cfg_path, weights = run / "config.yaml", run / "model.safetensors"
    for p in (cfg_path, weights):
        if not p.is_file():
            raise LesionLensInputError(
                f"{run}: not a finished run ({p.name} missing); train it first"
            )
    cfg = TrainConfig.load(cfg_path)
    model = METHODS.create(cfg.method, cfg=cfg).build_model(cfg.model_in_channels)
    try:
        state = load_file(str(weights))
    except Exception as exc:
        raise LesionLensInputError(f"{weights}: unreadable safetensors file ({exc})") from exc
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise LesionLensInputError(
            f"{weights}: weights do not match the {cfg.model!r} model of config.yaml "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    return cfg, model.eval()
