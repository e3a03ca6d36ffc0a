"""Perf suite ``monotone_init``: propagation initialisation vs one forward pass vs LSUV.

Thesis ch. 6 §III.2: on a monotone ResNet152 (2-D, batch 50, 224²) the propagation init takes
12 s against 22 min for LSUV. Goals: propagation ≤ 3× one forward pass, ≥ 100× faster than
LSUV. Quick mode: ResNet18, batch 8, 64². All three are timed side by side in one run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from . import PERF


def _timed(fn: Callable[[], object], device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


@PERF.register("monotone_init")
def monotone_init(device: str = "cpu", quick: bool = True) -> list[dict]:
    """Time one forward pass, ``propagation_init`` and ``lsuv_init`` on a monotone ResNet."""
    from monai.networks.nets import resnet

    from ..monotone import lsuv_init, make_monotone, propagation_init, record_stats

    depth, batch, size = (18, 8, 64) if quick else (152, 50, 224)
    shape = (1, size, size)
    torch.manual_seed(0)
    net = getattr(resnet, f"resnet{depth}")(spatial_dims=2, n_input_channels=1, num_classes=1)
    model = make_monotone(net).to(device)
    x = torch.randn((batch, *shape), generator=torch.Generator().manual_seed(1)).to(device)

    with torch.no_grad():
        model(x)  # warm-up (allocator, cuDNN autotune)
        forward_s = statistics.median(_timed(lambda: model(x), device) for _ in range(3))
    propagation_s = _timed(
        lambda: propagation_init(model, shape, batch_size=batch, seed=0, base=None), device
    )
    with_draw_s = _timed(
        lambda: propagation_init(model, shape, batch_size=batch, seed=0, base="kaiming"), device
    )
    stds = [s.forward_std for s in record_stats(model, x, channel_correlation=False)]

    passes = [0]
    counter = model.register_forward_hook(lambda *_: passes.__setitem__(0, passes[0] + 1))
    try:
        lsuv_s = _timed(lambda: lsuv_init(model, shape, batch_size=batch, seed=0), device)
    finally:
        counter.remove()
    return [
        {
            "suite": "monotone_init",
            "model": f"monotone MONAI resnet{depth} 2-D",
            "device": device,
            "batch": batch,
            "size": size,
            "forward_s": round(forward_s, 4),
            "propagation_s": round(propagation_s, 4),
            "propagation_with_kaiming_draw_s": round(with_draw_s, 4),
            "lsuv_s": round(lsuv_s, 4),
            "lsuv_forward_passes": passes[0],
            "propagation_over_forward": round(propagation_s / forward_s, 2),
            "lsuv_over_propagation": round(lsuv_s / propagation_s, 1),
            "goal_propagation_over_forward_max": 3.0,
            "goal_lsuv_over_propagation_min": 100.0,
            "feature_std_min": round(min(stds), 3),
            "feature_std_max": round(max(stds), 3),
        }
    ]
