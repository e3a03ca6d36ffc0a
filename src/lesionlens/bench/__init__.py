"""Benchmarks behind ``lesionlens bench perf|quality|science``.

Each stage contributes suites to one of three registries. A suite is a function
``suite(device: str, quick: bool) -> list[dict]`` returning table rows (plain JSON values); the
ratio its issue names is a column of those rows, measured side by side in the same run.
Suites live in ``bench/<suite>.py`` and are imported by :func:`load_suites`.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..registry import Registry

PERF = Registry("perf benchmark")
QUALITY = Registry("quality benchmark")
SCIENCE = Registry("science benchmark")
KINDS = {"perf": PERF, "quality": QUALITY, "science": SCIENCE}


def load_suites() -> None:
    """Import every ``lesionlens.bench.*`` module so that their suites register."""
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
