"""``synth``: write a phantom cohort (images, masks, manifest.csv, cohort.json) atomically.

Layout of ``OUT``: ``images/<id>_<contrast>.nii.gz`` (int16, like scanner data),
``masks/<id>_mask.nii.gz`` (uint8; healthy subjects get an all-zero mask, which the manifest
contract allows, so every subject can be scored for false positives), ``manifest.csv``
(with ``site``), ``cohort.json`` (config, grid, sites and every subject's sampled parameters).
NIfTI files carry no timestamp, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ..cohort import Subject, write_manifest
from ..io import atomic_dir, atomic_file, write_nifti
from .anatomy import Anatomy, load_anatomy
from .config import SynthConfig
from .params import SubjectParams
from .render import render_subject
from .sampling import sample_cohort

FORMAT_VERSION = 1


def _write_subject(
    root: Path, anatomy: Anatomy, params: SubjectParams, channels: tuple[str, ...]
) -> Subject:
    rendered = render_subject(anatomy, params, channels)
    images = []
    for channel in channels:
        path = root / "images" / f"{params.subject_id}_{channel}.nii.gz"
        data = np.clip(np.rint(rendered.images[channel]), 0, np.iinfo(np.int16).max)
        images.append(write_nifti(path, data, anatomy.affine, dtype=np.int16))
    mask = write_nifti(
        root / "masks" / f"{params.subject_id}_mask.nii.gz", rendered.mask, anatomy.affine, np.uint8
    )
    return Subject(
        params.subject_id, tuple(images), params.label, params.split, mask, params.site.name
    )


def _worker(args: tuple[Path, SubjectParams, int, tuple[str, ...]]) -> Subject:
    root, params, voxel, channels = args
    return _write_subject(root, load_anatomy(voxel), params, channels)


def cohort_record(config: SynthConfig, anatomy: Anatomy, sites, subjects) -> dict:
    """Everything needed to reproduce the cohort (no timestamps, stable key order)."""
    return {
        "format_version": FORMAT_VERSION,
        "generator": "lesionlens.synth",
        "config": config.to_dict(),
        "grid": {
            "shape": list(anatomy.shape),
            "voxel_mm": anatomy.voxel,
            "affine": anatomy.affine.tolist(),
            "template": "MNI152 2009 (nilearn: template, GM, WM, brain mask)",
        },
        "mask_convention": "healthy subjects have an all-zero mask file",
        "sites": [vars(s) for s in sites],
        "subjects": [s.to_dict() for s in subjects],
    }


def synth(
    out: str | Path,
    *,
    kind: str,
    n: int,
    voxel: int,
    seed: int,
    contrast: str = "flair",
    sites: int = 1,
    site_mode: str = "shared",
    swap_test_sites: bool = False,
    size_shift: float = 0.0,
    atrophy: float = 0.0,
    noise: float = 0.03,
    bias: float = 0.15,
    elastic_mm: float = 3.0,
    pathological_fraction: float = 0.5,
    ratios: tuple[float, float, float] = (0.6, 0.2, 0.2),
    preview: bool = False,
    overwrite: bool = False,
    jobs: int = 1,
    on_subject: Callable[[str], None] | None = None,
) -> Path:
    """Generate a phantom cohort in ``out`` and return ``out / "manifest.csv"``'s folder.

    Parameters are those of :class:`~lesionlens.synth.config.SynthConfig`; ``jobs`` renders in
    that many processes (results do not depend on it), ``on_subject`` is called after each
    subject (progress bars), ``preview`` also writes ``preview.png``.

    Raises:
        ValueError: a parameter is out of range, or ``out`` exists and ``overwrite`` is False.
    """
    config = SynthConfig(
        kind=kind, n=n, voxel=voxel, seed=seed, contrast=contrast, sites=sites,
        site_mode=site_mode, swap_test_sites=swap_test_sites, size_shift=size_shift,
        atrophy=atrophy, noise=noise, bias=bias, elastic_mm=elastic_mm,
        pathological_fraction=pathological_fraction, ratios=tuple(ratios),
    )  # fmt: skip
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    out = Path(out)
    anatomy = load_anatomy(config.voxel)
    site_list, subjects = sample_cohort(config, anatomy)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        records = _render_all(tmp, anatomy, subjects, config, jobs, on_subject)
        # manifest paths are relative to its folder, so they stay valid once tmp becomes out
        write_manifest(records, tmp / "manifest.csv")
        with atomic_file(tmp / "cohort.json") as path:
            record = cohort_record(config, anatomy, site_list, subjects)
            path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        if preview:
            from .preview import preview_montage

            preview_montage(tmp, tmp / "preview.png")
    return out


def _render_all(tmp, anatomy, subjects, config, jobs, on_subject) -> list[Subject]:
    channels = config.channels
    jobs = min(jobs, len(subjects), os.cpu_count() or 1)
    if jobs == 1:
        records = []
        for params in subjects:
            records.append(_write_subject(tmp, anatomy, params, channels))
            if on_subject:
                on_subject(params.subject_id)
        return records
    # fork: workers inherit the cached anatomy instead of reloading the template
    with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
        records = []
        tasks = [(tmp, p, config.voxel, channels) for p in subjects]
        for record in pool.map(_worker, tasks, chunksize=max(1, len(tasks) // (4 * jobs))):
            records.append(record)
            if on_subject:
                on_subject(record.subject_id)
    return records
