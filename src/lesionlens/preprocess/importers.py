"""Importers: a public dataset's folder layout → a cohort manifest over the existing files.

Kinds (registry :data:`IMPORTERS`): ``brats`` (2019/2020: ``*_flair.nii.gz``, ``*_t1.nii.gz``,
``*_seg.nii.gz`` → whole tumour = union of labels, written as a binary mask), ``msseg`` (MICCAI
2016: ``Center_XX/Patient_YY/Preprocessed_Data/*_preprocessed.nii.gz`` and
``Masks/Consensus.nii.gz``), ``ixi`` (``IXI###-Site-####-T1.nii.gz``), ``bids``
(``sub-*/[ses-*/]anat/*_T1w.nii.gz``, labels from ``participants.tsv``) and ``folder``
(``healthy/`` and ``pathological/``). Images are referenced by absolute path unless
``files="copy"`` or ``"link"`` (hard links; symbolic links would resolve outside the folder,
which the manifest contract refuses).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..cohort import SPLITS, Subject, write_manifest
from ..errors import LesionLensInputError
from ..io import atomic_dir, read_volume, write_nifti
from ..registry import Registry
from .splits import check_ratios, stratified_split

NIFTI = (".nii.gz", ".nii")
FILE_MODES = ("absolute", "copy", "link")


@dataclass(frozen=True)
class Found:
    """One subject found in a source layout (before split and file handling)."""

    subject_id: str
    images: tuple[Path, ...]
    label: int | None = None
    mask: Path | None = None
    binarise_mask: bool = False  # multi-label segmentation: write union of labels as 0/1
    site: str | None = None


@dataclass
class ImportResult:
    manifest: Path
    subjects: list[Subject]
    warnings: list[str] = field(default_factory=list)


Importer = Callable[..., list[Found]]
IMPORTERS: Registry[Importer] = Registry("importer")


def _clean_id(raw: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-") or "subject"


def _strip_nifti(name: str) -> str:
    for ext in NIFTI:
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def _nifti_files(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for ext in NIFTI for p in folder.rglob(f"{pattern}{ext}") if p.is_file())


def _by_suffix(files: list[Path], suffix: str) -> dict[str, Path]:
    """``prefix → file`` for files named ``<prefix>_<suffix>.nii[.gz]`` (case-insensitive)."""
    out = {}
    for f in files:
        stem = _strip_nifti(f.name)
        if stem.lower().endswith(f"_{suffix.lower()}"):
            out[str(f.parent / stem[: -len(suffix) - 1])] = f
    return out


@IMPORTERS.register("brats")
def find_brats(src: Path, modalities: tuple[str, ...] = ("flair", "t1"), **_) -> list[Found]:
    """BraTS 2019 (``HGG/``, ``LGG/`` folders) and 2020 layouts; site = grade folder or release."""
    files = _nifti_files(src, "*_*")
    per_mod = {m: _by_suffix(files, m) for m in modalities}
    segs = _by_suffix(files, "seg")
    found = []
    for prefix in sorted(per_mod[modalities[0]]):
        if not all(prefix in per_mod[m] for m in modalities):
            continue
        name = Path(prefix).name
        grade = Path(prefix).parent.parent.name if Path(prefix).parent != src else ""
        site = grade if grade in ("HGG", "LGG") else name.split("_")[0]
        found.append(
            Found(
                _clean_id(name),
                tuple(per_mod[m][prefix] for m in modalities),
                1,
                segs.get(prefix),
                True,
                site,
            )  # fmt: skip
        )
    return found


_MSSEG_NAMES = {"flair": "FLAIR", "t1": "T1", "t2": "T2", "t1ce": "GADO", "dp": "DP", "pd": "DP"}


@IMPORTERS.register("msseg")
def find_msseg(src: Path, modalities: tuple[str, ...] = ("flair", "t1"), **_) -> list[Found]:
    """MSSEG 2016: ``Center_XX/Patient_YY/Preprocessed_Data/<MOD>_preprocessed.nii.gz`` with the
    consensus mask ``Masks/Consensus.nii.gz`` (on the FLAIR grid); site = centre."""
    found = []
    for pre in sorted(src.rglob("Preprocessed_Data")):
        patient = pre.parent
        images = []
        for m in modalities:
            hits = _nifti_files(pre, f"{_MSSEG_NAMES.get(m.lower(), m.upper())}_preprocessed")
            images.append(hits[0] if hits else None)
        if any(i is None for i in images):
            continue
        masks = _nifti_files(patient / "Masks", "Consensus")
        centre = patient.parent.name
        found.append(
            Found(
                _clean_id(f"{centre}_{patient.name}"),
                tuple(images),
                1,
                masks[0] if masks else None,
                True,
                centre,
            )  # fmt: skip
        )
    return found


_IXI = re.compile(r"^(IXI\d+)-([A-Za-z]+)-(\d+)-([A-Za-z0-9]+)$")


@IMPORTERS.register("ixi")
def find_ixi(src: Path, modalities: tuple[str, ...] = ("t1",), **_) -> list[Found]:
    """IXI: ``IXI###-Site-####-<MOD>.nii.gz`` in any folder below ``src``; site from the name."""
    subjects: dict[str, dict[str, Path]] = {}
    sites = {}
    for f in _nifti_files(src, "IXI*"):
        match = _IXI.match(_strip_nifti(f.name))
        if match:
            sid, site, _, mod = match.groups()
            subjects.setdefault(sid, {})[mod.lower()] = f
            sites[sid] = site
    wanted = [m.lower() for m in modalities]
    return [
        Found(sid, tuple(mods[m] for m in wanted), 0, site=sites[sid])
        for sid, mods in sorted(subjects.items())
        if all(m in mods for m in wanted)
    ]


_BIDS_SUFFIX = {"t1": "T1w", "t1w": "T1w", "t2": "T2w", "t2w": "T2w", "flair": "FLAIR"}


def _read_participants(src: Path) -> dict[str, dict[str, str]]:
    path = src / "participants.tsv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return {r["participant_id"]: r for r in rows if r.get("participant_id")}


@IMPORTERS.register("bids")
def find_bids(
    src: Path, modalities: tuple[str, ...] = ("t1",), label_column: str | None = None,
    label_map: dict[str, int] | None = None, site_column: str | None = None, **_,
) -> list[Found]:  # fmt: skip
    """BIDS: ``sub-*/[ses-*/]anat/*_<suffix>.nii.gz``; one subject per (sub, ses); labels from
    ``participants.tsv`` column ``label_column`` (values 0/1, or mapped by ``label_map``)."""
    participants = _read_participants(src)
    if label_column and participants:
        first = next(iter(participants.values()))
        if label_column not in first:
            raise LesionLensInputError(
                f"participants.tsv has no column {label_column!r}; columns: {sorted(first)}"
            )
    suffixes = [_BIDS_SUFFIX.get(m.lower(), m) for m in modalities]
    found = []
    for anat in sorted(src.glob("sub-*/anat")) + sorted(src.glob("sub-*/ses-*/anat")):
        sub = next(p for p in anat.parents if p.name.startswith("sub-")).name
        ses = anat.parent.name if anat.parent.name.startswith("ses-") else None
        images = []
        for suffix in suffixes:
            hits = [f for f in _nifti_files(anat, f"*_{suffix}") if f.parent == anat]
            images.append(hits[0] if hits else None)
        if any(i is None for i in images):
            continue
        row = participants.get(sub, {})
        label = None
        if label_column:
            raw = row.get(label_column, "").strip()
            mapped = (label_map or {}).get(raw, raw)
            if str(mapped) not in ("0", "1"):
                raise LesionLensInputError(
                    f"participants.tsv, {sub}, column {label_column!r}: value {raw!r} is not 0/1; "
                    "map it with --label-map (e.g. control=0,patient=1)"
                )
            label = int(mapped)
        site = row.get(site_column) if site_column else None
        found.append(
            Found(
                _clean_id(f"{sub}_{ses}" if ses else sub),
                tuple(images),
                label,
                site=site or src.name,
            )  # fmt: skip
        )
    return found


@IMPORTERS.register("folder")
def find_folder(src: Path, **_) -> list[Found]:
    """Two folders ``healthy/`` and ``pathological/`` of NIfTI files, one file per subject."""
    found = []
    for label, name in ((0, "healthy"), (1, "pathological")):
        folder = src / name
        if not folder.is_dir():
            raise LesionLensInputError(f"{src}: expected the folders healthy/ and pathological/")
        for f in sorted(p for ext in NIFTI for p in folder.glob(f"*{ext}")):
            found.append(Found(_clean_id(_strip_nifti(f.name)), (f,), label, site=src.name))
    return found


def _place(path: Path, dest: Path, mode: str) -> Path:
    """Absolute reference, copy or hard link of ``path`` at ``dest``."""
    if mode == "absolute":
        return path.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if mode == "link":
        try:
            os.link(path, dest)
            return dest
        except OSError:  # another file system: fall back to a copy
            pass
    shutil.copyfile(path, dest)
    return dest


def import_cohort(
    kind: str,
    src: str | Path,
    out: str | Path,
    *,
    label: int | None = None,
    modalities: tuple[str, ...] | None = None,
    ratios: tuple[float, float, float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    files: str = "absolute",
    site: str | None = None,
    overwrite: bool = False,
    **layout_options,
) -> ImportResult:
    """Write ``out/manifest.csv`` for the dataset ``kind`` found in ``src`` (see module doc).

    ``label`` overrides the label of every subject (required when the layout gives none);
    ``modalities`` picks the channels, in order; the split is stratified by label with
    ``ratios`` and ``seed``; ``site`` overrides the site found in the layout. Multi-label
    segmentations are written as binary masks in ``out/masks``. Splits that end up empty are
    reported in :attr:`ImportResult.warnings` (and as ``UserWarning``).
    """
    finder = IMPORTERS.get(kind)
    src = Path(src)
    if not src.is_dir():
        raise LesionLensInputError(f"{src}: source folder not found")
    if label not in (None, 0, 1):
        raise ValueError(f"label must be 0, 1 or None, got {label!r}")
    if files not in FILE_MODES:
        raise ValueError(f"files must be one of {FILE_MODES}, got {files!r}")
    ratios = check_ratios(ratios)
    kwargs = dict(layout_options)
    if modalities:
        kwargs["modalities"] = tuple(modalities)
    found = finder(src, **kwargs)
    if not found:
        raise LesionLensInputError(
            f"{src}: no {kind} subject found with modalities {modalities or 'default'}; check the "
            "layout (see lesionlens import --help)"
        )
    if label is not None:
        found = [replace(f, label=label) for f in found]
    unlabelled = [f.subject_id for f in found if f.label is None]
    if unlabelled:
        raise LesionLensInputError(
            f"{len(unlabelled)} subject(s) without label (e.g. {unlabelled[0]}); pass --label 0|1 "
            "or a participants.tsv column with --label-column"
        )
    ids = [f.subject_id for f in found]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise LesionLensInputError(f"duplicate subject ids in {src}: {duplicated[:5]}")
    splits = stratified_split(ids, [int(f.label) for f in found], ratios, seed)  # type: ignore[arg-type]

    out = Path(out)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        subjects = []
        for f in found:
            images = tuple(
                _place(p, tmp / "images" / f"{f.subject_id}_{k}{''.join(p.suffixes[-2:])}", files)
                for k, p in enumerate(f.images)
            )  # fmt: skip
            mask = None
            if f.mask is not None:
                data, affine = read_volume(f.mask)
                if f.binarise_mask or not np.isin(np.unique(data), (0, 1)).all():
                    mask = write_nifti(tmp / "masks" / f"{f.subject_id}_mask.nii.gz",
                                       data > 0, affine, np.uint8)  # fmt: skip
                else:
                    mask = _place(f.mask, tmp / "masks" / f"{f.subject_id}_mask.nii.gz", files)
            subjects.append(
                Subject(
                    f.subject_id,
                    images,
                    int(f.label),
                    splits[f.subject_id],  # type: ignore[arg-type]
                    mask,
                    site or f.site,
                )  # fmt: skip
            )
        write_manifest(subjects, tmp / "manifest.csv")
    final = [
        replace(s, images=tuple(out / p.relative_to(tmp) if p.is_relative_to(tmp) else p
                                for p in s.images),
                mask=(out / s.mask.relative_to(tmp)) if s.mask and s.mask.is_relative_to(tmp)
                else s.mask)
        for s in subjects
    ]  # fmt: skip
    messages = [
        f"split '{name}' is empty ({len(found)} subject(s) with ratios {ratios})"
        for name in SPLITS
        if not any(s.split == name for s in final) and ratios[SPLITS.index(name)] > 0
    ]
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=2)
    return ImportResult(out / "manifest.csv", final, messages)
