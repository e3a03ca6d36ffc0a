"""Cohort manifest: read, validate, write (contract in DESIGN.md, "Cohort manifest").

A cohort is a CSV whose image/mask paths are relative to the CSV's folder. Columns:
``subject_id, image, label, split`` (required), ``mask, site`` (optional); other columns are kept
in :attr:`Subject.extra` and ignored. Several channels on one grid are written
``flair.nii.gz;t1.nii.gz``.

Every refusal raises :class:`~lesionlens.errors.CohortError` with one line naming the manifest
line, the column, the file and what to do.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import CohortError, LesionLensInputError
from .io import atomic_file, load_nifti

REQUIRED = ("subject_id", "image", "label", "split")
OPTIONAL = ("mask", "site")
SPLITS = ("train", "val", "test")
SUBJECT_ID = re.compile(r"^[A-Za-z0-9._-]+$")
GRID_ATOL = 1e-3  # mm; affines closer than this are the same grid


@dataclass(frozen=True)
class Subject:
    """One manifest row with resolved absolute paths."""

    subject_id: str
    images: tuple[Path, ...]
    label: int
    split: str
    mask: Path | None = None
    site: str | None = None
    line: int = 0  # line number in the CSV (header = 1), for error messages
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass
class Cohort:
    """A validated list of subjects and the manifest they came from."""

    manifest: Path
    subjects: list[Subject]

    @property
    def root(self) -> Path:
        return self.manifest.parent

    def split(self, name: str) -> list[Subject]:
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return [s for s in self.subjects if s.split == name]

    def __len__(self) -> int:
        return len(self.subjects)

    @property
    def n_channels(self) -> int:
        return len(self.subjects[0].images) if self.subjects else 0


def resolve_manifest(path: str | Path) -> Path:
    """Accept the manifest CSV or the folder holding ``manifest.csv``."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise CohortError(
            f"{path}: cohort manifest not found; pass a manifest CSV or a folder with manifest.csv"
        )
    return path


def _where(manifest: Path, line: int, column: str, sid: str | None = None) -> str:
    who = f" (subject {sid})" if sid else ""
    return f"{manifest.name} line {line}{who}, column '{column}'"


def _resolve(manifest: Path, raw: str, line: int, column: str, sid: str) -> Path:
    raw = raw.strip()
    if not raw:
        raise CohortError(f"{_where(manifest, line, column, sid)}: empty path")
    p = Path(raw)
    root = manifest.parent.resolve()
    full = (p if p.is_absolute() else root / p).resolve()
    if not p.is_absolute() and not full.is_relative_to(root):
        raise CohortError(
            f"{_where(manifest, line, column, sid)}, file '{raw}': path escapes the manifest's "
            f"folder {root}; move the file inside it or give an absolute path"
        )
    if not full.is_file():
        raise CohortError(
            f"{_where(manifest, line, column, sid)}, file '{raw}': file not found; fix the path"
        )
    return full


def read_manifest(path: str | Path) -> Cohort:
    """Parse and check a manifest's table (columns, values, paths). Image contents are not read;
    call :func:`validate_cohort` for that."""
    manifest = resolve_manifest(path)
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = [{(k or "").strip(): (v or "") for k, v in r.items()} for r in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CohortError(f"{manifest}: not a readable CSV ({exc})") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CohortError(
            f"{manifest.name} line 1: missing required column(s) {', '.join(missing)}; "
            f"the header must contain {', '.join(REQUIRED)}"
        )
    if not rows:
        raise CohortError(f"{manifest.name}: no subjects; add at least one row")

    subjects: list[Subject] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        line = i + 2
        sid = row["subject_id"].strip()
        if not SUBJECT_ID.match(sid):
            raise CohortError(
                f"{_where(manifest, line, 'subject_id')}: {sid!r} is not a valid subject_id; "
                "use only letters, digits, '.', '_' and '-'"
            )
        if sid in seen:
            raise CohortError(
                f"{_where(manifest, line, 'subject_id', sid)}: duplicate subject_id, already on "
                f"line {seen[sid]}; subject ids must be unique"
            )
        seen[sid] = line
        label_raw = row["label"].strip()
        if label_raw not in ("0", "1"):
            raise CohortError(
                f"{_where(manifest, line, 'label', sid)}: label {label_raw!r} is not 0 or 1 "
                "(0 healthy, 1 pathological)"
            )
        split = row["split"].strip()
        if split not in SPLITS:
            raise CohortError(
                f"{_where(manifest, line, 'split', sid)}: split {split!r} is not one of "
                f"{', '.join(SPLITS)}"
            )
        images = tuple(
            _resolve(manifest, part, line, "image", sid) for part in row["image"].split(";")
        )
        mask_raw = row.get("mask", "").strip()
        mask = _resolve(manifest, mask_raw, line, "mask", sid) if mask_raw else None
        site = row.get("site", "").strip() or None
        extra = {k: v for k, v in row.items() if k not in REQUIRED + OPTIONAL}
        subjects.append(Subject(sid, images, int(label_raw), split, mask, site, line, extra))

    n_ch = {len(s.images) for s in subjects}
    if len(n_ch) > 1:
        first = subjects[0]
        odd = next(s for s in subjects if len(s.images) != len(first.images))
        raise CohortError(
            f"{_where(manifest, odd.line, 'image', odd.subject_id)}: {len(odd.images)} channel(s) "
            f"where line {first.line} has {len(first.images)}; give every subject the same channels"
        )
    return Cohort(manifest, subjects)


@dataclass
class ImageInfo:
    shape: tuple[int, ...]
    voxel: tuple[float, ...]


@dataclass
class ValidationReport:
    """Outcome of :func:`validate_cohort`: per-subject grid info and warnings (never errors)."""

    cohort: Cohort
    info: dict[str, ImageInfo]
    warnings: list[str]


def _check_volume(manifest: Path, s: Subject, column: str, path: Path):
    where = f"{_where(manifest, s.line, column, s.subject_id)}, file '{path.name}'"
    try:
        img = load_nifti(path)
        data = np.asanyarray(img.dataobj)
    except LesionLensInputError as exc:
        raise CohortError(f"{where}: unreadable or corrupt NIfTI; re-export the file") from exc
    except Exception as exc:
        raise CohortError(
            f"{where}: unreadable or corrupt NIfTI ({exc}); re-export the file"
        ) from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise CohortError(
            f"{where}: image has shape {tuple(data.shape)}, expected 3-D (or 4-D with one volume); "
            "split multi-volume series into one file per channel"
        )
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        n_bad = int((~np.isfinite(data)).sum())
        raise CohortError(f"{where}: {n_bad} NaN/Inf voxel(s); replace them (e.g. with 0)")
    return img, data


def validate_cohort(
    path_or_cohort: str | Path | Cohort, training: bool = False
) -> ValidationReport:
    """Read every file of the cohort and refuse the first bad one (one-line :class:`CohortError`).

    Checks: readable NIfTI, 3-D (or 4-D with one volume), finite voxels, channels and mask on the
    image's grid (shape and affine), binary mask. With ``training=True`` (or always, as warnings),
    a train/val split holding a single class is reported in ``warnings``.
    """
    cohort = path_or_cohort if isinstance(path_or_cohort, Cohort) else read_manifest(path_or_cohort)
    manifest = cohort.manifest
    info: dict[str, ImageInfo] = {}
    for s in cohort.subjects:
        ref_img, _ = _check_volume(manifest, s, "image", s.images[0])
        shape3 = ref_img.shape[:3]
        for column, path in [("image", p) for p in s.images[1:]] + (
            [("mask", s.mask)] if s.mask else []
        ):
            img, data = _check_volume(manifest, s, column, path)
            where = f"{_where(manifest, s.line, column, s.subject_id)}, file '{path.name}'"
            if img.shape[:3] != shape3:
                raise CohortError(
                    f"{where}: shape {img.shape[:3]} differs from the image's {shape3}; resample "
                    "it onto the image grid"
                )
            if not np.allclose(img.affine, ref_img.affine, atol=GRID_ATOL):
                raise CohortError(
                    f"{where}: affine differs from the image's; resample it onto the image grid"
                )
            if column == "mask":
                values = np.unique(data)
                if not np.isin(values, (0, 1)).all():
                    shown = ", ".join(f"{v:g}" for v in values[:5])
                    raise CohortError(
                        f"{where}: mask is not binary (values {shown}...); threshold it to 0/1"
                    )
        zooms = tuple(float(z) for z in ref_img.header.get_zooms()[:3])
        info[s.subject_id] = ImageInfo(tuple(int(x) for x in shape3), zooms)
    warnings = single_class_warnings(cohort)
    return ValidationReport(cohort, info, warnings)


def single_class_warnings(cohort: Cohort) -> list[str]:
    """Warnings for train/val splits that hold one class only (training cannot balance them)."""
    out = []
    for split in ("train", "val"):
        labels = {s.label for s in cohort.split(split)}
        if len(labels) == 1:
            (only,) = labels
            name = "healthy" if only == 0 else "pathological"
            out.append(f"split '{split}' holds only {name} subjects; training needs both classes")
        elif not labels:
            out.append(f"split '{split}' is empty")
    return out


def summary_rows(report: ValidationReport) -> list[tuple[str, str, str, int]]:
    """Counts per (split, label, site), for the ``validate`` table."""
    c = Counter(
        (s.split, "pathological" if s.label else "healthy", s.site or "-")
        for s in report.cohort.subjects
    )
    order = {k: i for i, k in enumerate(SPLITS)}
    return [
        (sp, lb, si, n)
        for (sp, lb, si), n in sorted(c.items(), key=lambda kv: (order[kv[0][0]], kv[0][1:]))
    ]


def write_manifest(
    subjects: list[Subject], path: str | Path, extra_columns: list[str] | None = None
) -> Path:
    """Write ``subjects`` as a manifest with paths relative to ``path``'s folder (atomic)."""
    path = Path(path)
    root = path.parent.resolve()
    extra_columns = extra_columns or sorted({k for s in subjects for k in s.extra})
    columns = [*REQUIRED[:3], "mask", "split", "site", *extra_columns]

    def rel(p: Path) -> str:
        p = Path(p).resolve()
        return p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)

    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for s in subjects:
            w.writerow(
                [
                    s.subject_id,
                    ";".join(rel(p) for p in s.images),
                    s.label,
                    rel(s.mask) if s.mask else "",
                    s.split,
                    s.site or "",
                    *[s.extra.get(k, "") for k in extra_columns],
                ]
            )
    return path
