"""Run every suite of one benchmark kind and write ``<kind>.json`` + a printed table."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from . import KINDS, load_suites


def machine(device: str) -> dict[str, Any]:
    """Where the figures come from (recorded beside every benchmark)."""
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def run_benchmarks(
    kind: str,
    out: str | Path | None = None,
    *,
    device: str = "cpu",
    quick: bool = False,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Run the suites of ``kind`` (perf | quality | science); return and optionally write JSON."""
    if kind not in KINDS:
        raise ValueError(f"benchmark kind must be one of {', '.join(KINDS)}, got {kind!r}")
    load_suites()
    registry = KINDS[kind]
    names = only or registry.names()
    result: dict[str, Any] = {
        "kind": kind,
        "quick": quick,
        "machine": machine(device),
        "suites": {},
    }
    for name in names:
        t0 = time.perf_counter()
        rows = registry.get(name)(device, quick)
        result["suites"][name] = {"rows": rows, "seconds": round(time.perf_counter() - t0, 2)}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        from ..io import atomic_file

        with atomic_file(out / f"{kind}.json") as tmp:
            tmp.write_text(json.dumps(result, indent=2))
    return result
