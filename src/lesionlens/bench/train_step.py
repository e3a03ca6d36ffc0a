"""Perf suite ``train_step``: cost of the attribution constraint per training step (thesis ch. 5).

Times one optimiser step (forward + backward + Adam) of the "unsup" objective with no
constraint and with G, EG, IG and IEG maps (BatchNorm "shared", the default; G and IEG
also "frozen", see ``AttributionConstraint.classification_and_constraint``; none and G also
under bfloat16 autocast, ``train --precision bf16-mixed``), on the 3-D 2 mm
PatchGAN (96×112×96, widths 16 and 64) and the 2-D 224² PatchGAN; ratios are to the
unconstrained step and to G measured in the same run. Goals: G ≤ 2.0× none; EG, IEG ≤ 1.3×
G. Also times one G anomaly map of one 2 mm volume in float32 and bfloat16 autocast (goal ≤ 0.3 s
on 2 CPU cores; the bf16 row gives its map's correlation with the float32 map). Quick mode
halves every side and uses fewer repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from ..attributions import attribution_map, compute_precision
from ..constraints import create_constraint
from ..models import PatchGANClassifier
from . import PERF

# "-frozen": the constraint pass normalises with the classification pass' BatchNorm statistics;
# "-bf16": the step under bfloat16 autocast (train --precision bf16-mixed)
MODES = ("none", "g", "eg", "ig", "ieg", "g-frozen", "ieg-frozen", "none-bf16", "g-bf16")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _seconds(step: Callable[[], object], repeats: int, device: str) -> float:
    """Fastest wall time of ``step`` over ``repeats`` after one warm-up call.

    The minimum, not the median: on a shared CPU other processes only ever add time.
    """
    return _interleaved_seconds({"step": step}, repeats, device)["step"]


def _interleaved_seconds(
    steps: dict[str, Callable[[], object]], repeats: int, device: str
) -> dict[str, float]:
    """Fastest wall time of each step, timed in ``repeats`` rounds that run every step once.

    Interleaving (none, g, eg, ... , none, g, ...) instead of timing each step's repeats in a
    block keeps a slow spell of a shared machine from landing on one mode only, so the ratios
    compare the modes under the same conditions. One warm-up call each first.
    """
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            _sync(device)
            start = time.perf_counter()
            step()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def _step_rows(
    setting: str,
    spatial_dims: int,
    width: int,
    shape: tuple[int, ...],
    batch: int,
    device: str,
    repeats: int,
) -> list[dict]:
    torch.manual_seed(0)
    model = PatchGANClassifier(spatial_dims=spatial_dims, width=width).to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 1, *shape, device=device)
    y = (torch.arange(batch, device=device) % 2).float()  # half healthy, half pathological

    def make_step(mode: str) -> Callable[[], None]:
        attribution, _, variant = mode.partition("-")
        constraint = create_constraint(
            "none" if attribution == "none" else "unsup",
            attribution="g" if attribution == "none" else attribution,
            weight=1.0,
            seed=0,
            batch_statistics="frozen" if variant == "frozen" else "shared",
        )
        precision = "bf16" if variant == "bf16" else "fp32"

        def step() -> None:
            optimiser.zero_grad(set_to_none=True)
            with compute_precision(torch.device(device).type, precision):
                out = constraint.classification_and_constraint(model, x, y)
            out["loss"].backward()
            optimiser.step()

        return step

    def same_precision(base: str, mode: str) -> str:
        return f"{base}-bf16" if mode.endswith("-bf16") else base

    seconds = _interleaved_seconds({mode: make_step(mode) for mode in MODES}, repeats, device)
    return [
        {
            "suite": "train_step",
            "setting": setting,
            "input": "x".join(map(str, (batch, 1, *shape))),
            "attribution": mode,
            "step_s": round(seconds[mode], 4),
            "ratio_to_none": round(seconds[mode] / seconds[same_precision("none", mode)], 3),
            "ratio_to_g": round(seconds[mode] / seconds[same_precision("g", mode)], 3),
            "ratio_to_fp32": (
                round(seconds[mode] / seconds[mode.removesuffix("-bf16")], 3)
                if mode.endswith("-bf16")
                else None
            ),
            "goal": {"g": "<=2.0x none", "eg": "<=1.3x g", "ieg": "<=1.3x g"}.get(mode, ""),
            "batch_statistics": "frozen" if mode.endswith("-frozen") else "shared",
            "precision": "bf16" if mode.endswith("-bf16") else "fp32",
            "device": device,
        }
        for mode in MODES
    ]


def _map_rows(width: int, shape: tuple[int, ...], device: str, repeats: int) -> list[dict]:
    """G anomaly map of one volume, float32 and bfloat16 autocast; the bf16 row also gives the
    Pearson correlation of its map with the float32 one."""
    torch.manual_seed(0)
    model = PatchGANClassifier(spatial_dims=3, width=width).to(device)
    x = torch.randn(1, 1, *shape, device=device)
    maps: dict[str, torch.Tensor] = {}
    rows = []
    for precision in ("fp32", "bf16"):  # fp32 first: the reference of the correlation
        seconds = _seconds(
            lambda p=precision: attribution_map(model, x, "g", precision=p), repeats, device
        )
        maps[precision] = attribution_map(model, x, "g", precision=precision)
        pair = torch.stack([maps[precision].flatten(), maps["fp32"].flatten()])
        corr = torch.corrcoef(pair)[0, 1]
        rows.append({
            "suite": "train_step",
            "setting": f"anomaly map G, patchgan3d w{width}",
            "input": "x".join(map(str, (1, 1, *shape))),
            "attribution": "g",
            "precision": precision,
            "map_s": round(seconds, 4),
            "corr_with_fp32": round(float(corr), 5),
            "goal": "<=0.3 s on 2 CPU cores",
            "device": device,
        })
    return rows


@PERF.register("train_step")
def train_step(device: str = "cpu", quick: bool = False) -> list[dict]:
    """Rows: per (setting, attribution) step time and ratios; plus the anomaly-map time."""
    volume = (48, 56, 48) if quick else (96, 112, 96)
    image = (112, 112) if quick else (224, 224)
    repeats = 4 if quick else 7
    rows: list[dict] = []
    for width in (16, 64):
        rows += _step_rows(f"patchgan3d w{width}", 3, width, volume, 2, device, repeats)
    rows += _step_rows("patchgan2d w64", 2, 64, image, 8, device, repeats)
    for width in (16, 64):
        rows += _map_rows(width, volume, device, repeats)
    return rows
