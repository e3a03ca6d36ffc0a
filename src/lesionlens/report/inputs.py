"""Resolving the inputs of ``report``: run directories and maps directories.

How inputs are matched:

* A **run directory** holds ``config.yaml`` (output of ``train``); its ``metrics.csv`` gives the
  training curves. Maps folders saved inside it (``RUN/explain`` or ``RUN/maps`` holding a
  ``maps/`` folder, the layout ``compare`` accepts) are picked up as that run's maps.
* A **maps directory** holds ``maps/`` (output of ``explain``). Its ``explain.yaml`` records the
  run, cohort, split and attribution; when the recorded run is also an input, the maps are shown
  under that run's name. Otherwise they are named after their folder (``parent/maps-test`` for
  the generic names ``maps*`` and ``explain``).
* The **cohort** is the ``cohort`` argument, else the one recorded in the maps folders'
  ``explain.yaml`` (or ``metrics.json``); maps from several cohorts are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import LesionLensInputError


@dataclass
class RunInput:
    """A run directory: its resolved config and per-epoch metrics table path (may be absent)."""

    path: Path
    config: dict
    label: str = ""

    @property
    def metrics_csv(self) -> Path:
        return self.path / "metrics.csv"


@dataclass
class MapsInput:
    """A maps directory and what ``explain`` / ``evaluate`` recorded in it."""

    path: Path
    explain: dict
    metrics: dict | None
    run: RunInput | None = None
    label: str = ""

    @property
    def split(self) -> str:
        return str(self.explain.get("split") or (self.metrics or {}).get("split") or "test")

    @property
    def cohort(self) -> Path | None:
        recorded = self.explain.get("cohort") or (self.metrics or {}).get("cohort")
        return Path(recorded).resolve() if recorded else None

    @property
    def channel(self) -> int | None:
        """Channel of 4-D maps: the one ``evaluate`` scored, else the first."""
        return (self.metrics or {}).get("channel")


@dataclass
class ReportInputs:
    runs: list[RunInput] = field(default_factory=list)
    maps: list[MapsInput] = field(default_factory=list)

    @property
    def evaluated(self) -> list[MapsInput]:
        return [m for m in self.maps if m.metrics is not None]


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LesionLensInputError(f"{path}: unreadable YAML ({exc})") from None
    if not isinstance(data, dict):
        raise LesionLensInputError(f"{path}: expected a mapping, got {type(data).__name__}")
    return data


def _read_maps(path: Path) -> MapsInput:
    explain = _read_yaml(path / "explain.yaml") if (path / "explain.yaml").is_file() else {}
    metrics = None
    if (path / "metrics.json").is_file():
        try:
            metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise LesionLensInputError(f"{path / 'metrics.json'}: unreadable ({exc})") from None
    return MapsInput(path, explain, metrics)


def _is_maps(path: Path) -> bool:
    return (path / "maps").is_dir()


def _unique_labels(items: list, base: list[str]) -> None:
    """Give each item a distinct label: its base name, or ``parent/name`` on a clash."""
    for item, name in zip(items, base, strict=True):
        clash = base.count(name) > 1
        item.label = f"{item.path.parent.name}/{name}" if clash else name


def _maps_base_name(path: Path) -> str:
    """A run-less maps folder's name; ``parent/name`` for generic names ("maps-test")."""
    generic = path.name == "explain" or path.name.startswith("maps")
    return f"{path.parent.name}/{path.name}" if generic else path.name


def resolve_inputs(paths: list[str | Path]) -> ReportInputs:
    """Classify ``paths`` into runs and maps folders and match them (see module doc).

    Raises:
        ValueError: a path that is neither a run nor a maps folder, or no input at all.
    """
    if not paths:
        raise LesionLensInputError("report needs at least one run or maps folder")
    found = ReportInputs()
    for raw in paths:
        p = Path(raw).resolve()
        if (p / "config.yaml").is_file() and not _is_maps(p):
            run = RunInput(p, _read_yaml(p / "config.yaml"))
            found.runs.append(run)
            for sub in (p / "explain", p / "maps"):
                if _is_maps(sub) and all(m.path != sub for m in found.maps):
                    maps = _read_maps(sub)
                    maps.run = run
                    found.maps.append(maps)
        elif _is_maps(p):
            if all(m.path != p for m in found.maps):
                found.maps.append(_read_maps(p))
        else:
            raise LesionLensInputError(
                f"{raw}: neither a run folder (config.yaml, from `lesionlens train`) nor a maps "
                "folder (maps/, from `lesionlens explain`)"
            )
    runs_by_path = {r.path: r for r in found.runs}
    for m in found.maps:
        recorded = m.explain.get("run")
        if m.run is None and recorded:
            m.run = runs_by_path.get(Path(recorded).resolve())
    _unique_labels(found.runs, [r.path.name for r in found.runs])
    maps_base = []
    for m in found.maps:
        name = m.run.label if m.run is not None else _maps_base_name(m.path)
        attribution = m.explain.get("attribution")
        maps_base.append(f"{name} ({attribution})" if attribution and m.run else name)
    _unique_labels(found.maps, maps_base)
    return found


def report_cohort(inputs: ReportInputs, cohort: str | Path | None) -> Path | None:
    """The cohort manifest of the report (see module doc), or ``None`` when none is known."""
    from ..cohort import resolve_manifest

    if cohort is not None:
        return resolve_manifest(cohort).resolve()
    recorded = {m.cohort for m in inputs.maps if m.cohort is not None}
    if len(recorded) > 1:
        listed = ", ".join(sorted(str(c) for c in recorded))
        raise LesionLensInputError(
            f"the maps folders come from several cohorts ({listed}); make one report per cohort "
            "or pass --cohort"
        )
    return resolve_manifest(recorded.pop()).resolve() if recorded else None
