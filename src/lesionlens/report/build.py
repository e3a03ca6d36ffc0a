"""``report``: run and maps folders → one self-contained HTML page (thesis ch. 5 §2, §5).

Sections: cohort summary (subjects per split × site × label), training curves of each run,
the comparison table of the evaluated maps (:func:`~lesionlens.evaluation.compare`, Tables
5.2–5.5), Dice-vs-threshold curves (Fig. 5.3/5.5), histograms of healthy vs pathological
attribution values (Fig. 5.9), axial montages and interactive viewers for a few subjects.

Output folder: ``index.html`` (figures inline as base64 PNG) and ``viewers/<maps>__<sid>.html``
(nilearn pages, loaded by the index through iframes); nothing is fetched from the network.
How inputs are matched: :mod:`lesionlens.report.inputs`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..cohort import Cohort, Subject, read_manifest
from ..errors import LesionLensInputError
from ..evaluation.files import SubjectVolumes, load_subject, map_path
from ..io import atomic_dir, read_image
from . import figures
from .inputs import MapsInput, ReportInputs, report_cohort, resolve_inputs
from .montage import MontageRow, axial_slices, subject_montage, symmetric_limit
from .viewer import viewer_html

HISTOGRAM_VOXELS_PER_SUBJECT = 20_000  # evenly strided sample of each subject's brain voxels
VIEWER_DIR = "viewers"


def cohort_summary(cohort: Cohort) -> pd.DataFrame:
    """Subjects per split × site, with healthy / pathological / lesion-mask counts."""
    rows = [
        {"split": s.split, "site": s.site or "–", "label": s.label, "mask": s.mask is not None}
        for s in cohort.subjects
    ]
    df = pd.DataFrame(rows)
    table = (
        df.groupby(["split", "site"])
        .agg(
            healthy=("label", lambda x: int((x == 0).sum())),
            pathological=("label", lambda x: int((x == 1).sum())),
            with_mask=("mask", "sum"),
        )
        .reset_index()
    )
    order = {"train": 0, "val": 1, "test": 2}
    table = table.sort_values(
        ["split", "site"], key=lambda c: c.map(order) if c.name == "split" else c
    )
    return table.rename(columns={"with_mask": "with lesion mask"}).reset_index(drop=True)


def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def comparison(maps: list[MapsInput], cohort: Path | None) -> dict | None:
    """:func:`~lesionlens.evaluation.compare` over the evaluated maps → rows for the page."""
    from ..evaluation import compare

    if not maps:
        return None
    table = compare([m.path for m in maps], cohort=cohort)
    labels = [m.label for m in maps]
    rows = []
    for label, (_, r) in zip(labels, table.iterrows(), strict=True):
        rows.append(
            {
                "method": label,
                "reference": bool(r.reference),
                "dice": f"{_fmt(r.dice_mean, 2)} ± {_fmt(r.dice_std, 2)}"
                + ("†" if r.significant else ""),
                **{k: _fmt(r[k], 2) for k in ("auroc", "auroc10", "auprc", "tpr", "tnr")},
                "threshold_rule": r.threshold_rule or "–",
                "p_adjusted": _fmt(r.p_adjusted, 4),
            }
        )
    out: dict = {"rows": rows}
    if "correlation_mean" in table.attrs:
        mean, std = table.attrs["correlation_mean"], table.attrs["correlation_std"]
        out["correlation"] = {
            "labels": labels,
            "cells": [
                [
                    f"{_fmt(mean.iloc[i, j], 2)} ± {_fmt(std.iloc[i, j], 2)}"
                    for j in range(len(labels))
                ]
                for i in range(len(labels))
            ],
        }
    return out


def _volumes(maps: MapsInput, subject: Subject) -> SubjectVolumes:
    vol = load_subject(maps.path, subject, maps.channel)
    if vol.attribution.ndim == 4:  # K-channel map never scored by evaluate: first channel
        vol.attribution = vol.attribution[..., 0]
    return vol


def _split_subjects(cohort: Cohort, maps: MapsInput) -> list[Subject]:
    return [s for s in cohort.split(maps.split) if map_path(maps.path, s.subject_id).is_file()]


def histogram_values(maps: MapsInput, cohort: Cohort) -> dict[str, np.ndarray]:
    """Brain attribution values of healthy and pathological subjects, and lesion voxels
    (Fig. 5.9); each subject contributes an evenly strided sample of at most
    ``HISTOGRAM_VOXELS_PER_SUBJECT`` values per group."""
    groups: dict[str, list[np.ndarray]] = {"healthy": [], "pathological": [], "lesion": []}

    def keep(v: np.ndarray) -> np.ndarray:
        return v[:: max(1, v.size // HISTOGRAM_VOXELS_PER_SUBJECT)]

    for s in _split_subjects(cohort, maps):
        vol = _volumes(maps, s)
        groups["healthy" if s.label == 0 else "pathological"].append(
            keep(vol.attribution[vol.brain])
        )
        if s.label == 1 and vol.lesion is not None:
            groups["lesion"].append(keep(vol.attribution[vol.lesion & vol.brain]))
    return {k: np.concatenate(v) if v else np.zeros(0, np.float32) for k, v in groups.items()}


def pick_subjects(subjects: list[Subject], n: int) -> list[Subject]:
    """Up to ``n`` subjects: pathological ones with a mask first (half), then healthy ones,
    topped up from either group; in manifest order (deterministic)."""
    if n < 0:
        raise ValueError(f"max_subjects must be >= 0, got {n}")
    patients = [s for s in subjects if s.label == 1 and s.mask is not None]
    patients += [s for s in subjects if s.label == 1 and s.mask is None]
    healthy = [s for s in subjects if s.label == 0]
    n_patients = min(len(patients), max(n - len(healthy), math.ceil(n / 2)))
    chosen = patients[:n_patients] + healthy[: n - n_patients]
    return sorted(chosen, key=lambda s: s.line)


@dataclass
class SubjectView:
    subject_id: str
    label: int
    montage: str  # data URI
    viewers: list[tuple[str, str]]  # (maps label, relative path of the viewer page)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "maps"


def subject_views(
    maps: list[MapsInput], cohort: Cohort, max_subjects: int, out: Path
) -> list[SubjectView]:
    """Montage (scan + one row per maps folder) and viewer pages of the chosen subjects."""
    first = maps[0]
    chosen = pick_subjects(_split_subjects(cohort, first), max_subjects)
    present = {
        s.subject_id: [m for m in maps if map_path(m.path, s.subject_id).is_file()] for s in chosen
    }
    volumes = {
        (m.label, s.subject_id): _volumes(m, s) for s in chosen for m in present[s.subject_id]
    }
    vmax = {
        m.label: symmetric_limit(
            np.concatenate(
                [v.attribution[v.brain] for (label, _), v in volumes.items() if label == m.label]
                or [np.zeros(0)]
            )
        )
        for m in maps
    }
    views = []
    for s in chosen:
        image, affine = read_image(s.images)
        scan = image[0]
        vols = [(m, volumes[m.label, s.subject_id]) for m in present[s.subject_id]]
        lesion = vols[0][1].lesion if vols else None
        brain = vols[0][1].brain
        rows = [MontageRow(m.label, v.attribution, vmax[m.label]) for m, v in vols]
        kind = "pathological" if s.label else "healthy"
        fig = subject_montage(
            scan, lesion, rows, axial_slices(brain, lesion), f"{s.subject_id} ({kind})"
        )
        viewers = []
        for m, v in vols:
            rel = f"{VIEWER_DIR}/{_safe(m.label)}__{s.subject_id}.html"
            page = viewer_html(
                scan, v.attribution, affine, vmax[m.label], f"{s.subject_id} — {m.label}"
            )
            (out / rel).write_text(page, encoding="utf-8")
            viewers.append((m.label, rel))
        views.append(SubjectView(s.subject_id, s.label, figures.png_data_uri(fig), viewers))
    return views


def _training_sections(inputs: ReportInputs) -> list[dict]:
    sections = []
    for run in inputs.runs:
        config = {k: run.config.get(k) for k in ("method", "attribution", "model", "alpha", "seed")}
        section = {"label": run.label, "config": config, "figure": None, "missing": None}
        if run.metrics_csv.is_file():
            table = pd.read_csv(run.metrics_csv)
            section["figure"] = figures.png_data_uri(figures.training_curves(table, run.label))
        else:
            section["missing"] = f"{run.metrics_csv} not found"
        sections.append(section)
    return sections


def _render(context: dict) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("lesionlens.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context)


def report(
    inputs: list[str | Path],
    out: str | Path,
    *,
    cohort: str | Path | None = None,
    max_subjects: int = 6,
    overwrite: bool = False,
) -> Path:
    """Write the HTML report of ``inputs`` (run and/or maps folders) into the folder ``out``.

    Args:
        inputs: run folders (``train``) and maps folders (``explain``, optionally ``evaluate``d);
            matching rules in :mod:`lesionlens.report.inputs`.
        out: output folder (``index.html`` + ``viewers/``), written atomically.
        cohort: manifest CSV or its folder; default: the one recorded by ``explain``.
        max_subjects: subjects shown with montages and interactive viewers.
        overwrite: replace an existing ``out``.

    Returns:
        Path of ``index.html``.

    Raises:
        ValueError: an input that is neither a run nor a maps folder, maps from several cohorts,
            maps without a known cohort, or an existing ``out`` without ``overwrite``.
    """
    if max_subjects < 0:
        raise LesionLensInputError(f"max_subjects must be >= 0, got {max_subjects}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise LesionLensInputError(
            f"{out}: output exists; choose another folder or pass --overwrite"
        )
    found = resolve_inputs(inputs)
    manifest = report_cohort(found, cohort)
    if found.maps and manifest is None:
        raise LesionLensInputError(
            f"{found.maps[0].path}: no explain.yaml recording the cohort; pass --cohort"
        )
    cohort_obj = read_manifest(manifest) if manifest is not None else None

    context: dict = {
        "inputs": [str(Path(p)) for p in inputs],
        "cohort_path": str(manifest) if manifest else None,
        "cohort_table": None,
        "training": _training_sections(found),
        "maps": [
            {
                "label": m.label,
                "path": str(m.path),
                "split": m.split,
                "attribution": m.explain.get("attribution", "–"),
                "evaluated": m.metrics is not None,
            }
            for m in found.maps
        ],  # fmt: skip
        "comparison": comparison(found.evaluated, manifest),
        "dice_figure": None,
        "histogram_figure": None,
        "subjects": [],
    }
    if cohort_obj is not None:
        context["cohort_table"] = cohort_summary(cohort_obj).to_dict(orient="split")
    curves = {}
    for m in found.evaluated:
        path = m.path / "dice_vs_threshold.csv"
        if path.is_file():
            curves[m.label] = (pd.read_csv(path), (m.metrics or {}).get("threshold"))
    if curves:
        context["dice_figure"] = figures.png_data_uri(figures.dice_threshold_curves(curves))

    with atomic_dir(out, overwrite=overwrite) as tmp:
        if found.maps:
            values = {m.label: histogram_values(m, cohort_obj) for m in found.maps}
            fig = figures.attribution_histograms(values)
            context["histogram_figure"] = figures.png_data_uri(fig)
            (tmp / VIEWER_DIR).mkdir()
            context["subjects"] = subject_views(found.maps, cohort_obj, max_subjects, tmp)
        (tmp / "index.html").write_text(_render(context), encoding="utf-8")
    return out / "index.html"
