"""``preprocess``: a cohort in, a cohort on the MNI152 grid out (thesis ch. 1 §III.2).

Layout of ``OUT``: ``images/``, ``masks/``, ``brain/`` (brain masks, column ``brain``),
``tissue/`` (with ``tissue_maps``), ``transforms/<id>_to_mni.mat`` (ANTs, template → subject),
``qc/<id>.png``, ``subjects/<id>.json`` (per-subject record, written last: the subject is done),
``manifest.csv`` (the contract), ``preprocess.json`` (options, versions, counts), ``qc.csv``
(registration NCC vs header NCC, volumes, seconds per step) and ``failures.csv``.

Subjects run in worker processes (``jobs``); a failing subject is written to ``failures.csv``
with its reason while the others finish; a second run with the same options skips finished
subjects (resumable) and retries failed ones.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from ..cohort import REQUIRED, SPLITS, SUBJECT_ID, Subject, resolve_manifest, write_manifest
from ..errors import CohortError, LesionLensInputError
from ..io import atomic_file
from .antsio import set_ants_threads
from .subject import PreprocessOptions, preprocess_subject

FORMAT_VERSION = 1


@dataclass
class PreprocessResult:
    """What a run produced: the output manifest (None when every subject failed) and failures."""

    out: Path
    manifest: Path | None
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already done by an earlier run
    failures: dict[str, str] = field(default_factory=dict)  # subject_id → reason


def read_subjects_lenient(path: str | Path) -> list[Subject]:
    """Manifest rows as :class:`Subject` records, checking the table (columns, ids, labels,
    splits) but not the files: a missing or bad file fails that subject only, later."""
    manifest = resolve_manifest(path)
    with open(manifest, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CohortError(f"{manifest.name} line 1: missing required column(s) {missing}")
    root, subjects, seen = manifest.parent.resolve(), [], set()
    for line, row in enumerate(rows, start=2):
        sid = row["subject_id"]
        where = f"{manifest.name} line {line}"
        if not SUBJECT_ID.match(sid) or sid in seen:
            raise CohortError(f"{where}: subject_id {sid!r} is invalid or duplicated")
        if row["label"] not in ("0", "1") or row["split"] not in SPLITS:
            raise CohortError(
                f"{where}: label must be 0/1 and split one of {SPLITS}, got "
                f"{row['label']!r}/{row['split']!r}"
            )
        seen.add(sid)
        images = tuple(root / p.strip() for p in row["image"].split(";") if p.strip())
        if not images:
            raise CohortError(f"{where} (subject {sid}), column 'image': empty")
        mask = root / row["mask"] if row.get("mask") else None
        extra = {k: v for k, v in row.items() if k not in (*REQUIRED, "mask", "site")}
        subjects.append(
            Subject(
                sid,
                images,
                int(row["label"]),
                row["split"],
                mask,
                row.get("site") or None,
                line,
                extra,
            )  # fmt: skip
        )
    if not subjects:
        raise CohortError(f"{manifest.name}: no subjects")
    return subjects


def _worker_init(n_threads: int) -> None:
    set_ants_threads(n_threads)


def _run_one(subject: Subject, out: Path, options: PreprocessOptions) -> tuple[str, dict | str]:
    try:
        return "ok", preprocess_subject(subject, out, options)
    except Exception as exc:  # isolate: one line per failure in failures.csv
        missing = [p for p in (*subject.images, subject.mask) if p is not None and not p.exists()]
        if missing:
            return "failed", f"missing file {missing[0]}"
        return "failed", " ".join(f"{type(exc).__name__}: {exc}".split())


def _settings(options: PreprocessOptions, source: Path) -> dict:
    import ants
    import nilearn

    return {
        "format_version": FORMAT_VERSION,
        "source_manifest": str(source),
        "options": options.to_dict(),
        "template": f"MNI152 2009 (nilearn {nilearn.__version__}) at {options.voxel} mm",
        "ants_version": ants.__version__,
        "steps": [
            "reorient RAS", *(["isotropic resampling"] if options.isotropic_mm else []),
            "affine registration of the reference channel to MNI152 (best of several starts, "
            "never worse than the header by NCC)",
            *(["rigid registration of other channels onto the reference"]
              if options.rigid_channels else []),
            "masks carried with ANTs genericLabel interpolation",
            f"brain extraction: {options.brain_extraction}",
            *(["N4 bias correction"] if options.n4 else []),
            *(["Atropos CSF/GM/WM maps"] if options.tissue_maps else []),
            f"z-score over brain voxels, background {options.background:g}",
        ],
    }  # fmt: skip


def _prepare_out(out: Path, settings: dict, overwrite: bool) -> None:
    sidecar = out / "preprocess.json"
    if out.exists() and overwrite:
        shutil.rmtree(out)
    elif sidecar.exists():
        previous = json.loads(sidecar.read_text())
        if previous.get("options") != settings["options"]:
            raise LesionLensInputError(
                f"{out}: holds a run with other options ({previous.get('options')}); "
                "pass --overwrite or choose another folder"
            )
    elif out.exists() and any(out.iterdir()):
        raise LesionLensInputError(
            f"{out}: exists and is not a preprocess output; choose another folder or --overwrite"
        )
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(sidecar) as tmp:
        tmp.write_text(json.dumps(settings, indent=1, sort_keys=True))


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def preprocess(
    cohort: str | Path,
    out: str | Path,
    *,
    voxel: int = 2,
    n4: bool = False,
    tissue_maps: bool = False,
    brain_extraction: str = "template",
    jobs: int = 1,
    overwrite: bool = False,
    on_subject: Callable[[str], None] | None = None,
    **options,
) -> PreprocessResult:
    """Preprocess every subject of ``cohort`` into ``out`` (see the module docstring).

    ``options`` are the other fields of :class:`PreprocessOptions`. ``jobs`` worker processes
    share the CPU cores (ANTs threads per job = cores // jobs). Raises ``ValueError`` for bad
    options or manifest table; per-subject problems go to ``failures.csv``.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    opts = PreprocessOptions(
        voxel=voxel, n4=n4, tissue_maps=tissue_maps, brain_extraction=brain_extraction, **options
    )
    if opts.brain_extraction == "hd-bet":
        from .hdbet import check_hd_bet

        check_hd_bet()
    source = resolve_manifest(cohort)
    subjects = read_subjects_lenient(source)
    out = Path(out).resolve()
    _prepare_out(out, _settings(opts, source.resolve()), overwrite)
    result = PreprocessResult(out, None)
    records: dict[str, dict] = {}
    todo = []
    for s in subjects:
        done_file = out / "subjects" / f"{s.subject_id}.json"
        if done_file.exists():
            records[s.subject_id] = json.loads(done_file.read_text())
            result.skipped.append(s.subject_id)
            if on_subject:
                on_subject(s.subject_id)
        else:
            todo.append(s)

    def collect(subject: Subject, status: str, payload) -> None:
        if status == "ok":
            records[subject.subject_id] = payload
            result.done.append(subject.subject_id)
        else:
            result.failures[subject.subject_id] = payload
        if on_subject:
            on_subject(subject.subject_id)

    threads = max((os.cpu_count() or 1) // jobs, 1)
    if jobs == 1 or len(todo) <= 1:
        set_ants_threads(threads)
        for s in todo:
            collect(s, *_run_one(s, out, opts))
    else:
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=get_context("spawn"), initializer=_worker_init,
            initargs=(threads,),
        ) as pool:  # fmt: skip
            futures = {pool.submit(_run_one, s, out, opts): s for s in todo}
            for future in as_completed(futures):
                collect(futures[future], *future.result())

    _write_outputs(out, subjects, records, result)
    return result


def _write_outputs(out: Path, subjects: list[Subject], records: dict, result) -> None:
    order = [s for s in subjects if s.subject_id in records]
    failures = [{"subject_id": k, "reason": v} for k, v in result.failures.items()]
    _write_csv(out / "failures.csv", failures, ["subject_id", "reason"])
    qc_rows = [records[s.subject_id]["qc"] for s in order]
    columns = list(dict.fromkeys(k for row in qc_rows for k in row))
    _write_csv(out / "qc.csv", qc_rows, columns or ["subject_id"])
    if not order:
        return
    tissue_columns = [c for c in ("brain", "csf", "gm", "wm") if c in records[order[0].subject_id]]
    rows = []
    for s in order:
        rec = records[s.subject_id]
        extra = {**s.extra, **{c: rec[c] for c in tissue_columns}}
        rows.append(
            Subject(
                s.subject_id,
                tuple(out / p for p in rec["images"]),
                s.label,
                s.split,
                out / rec["mask"] if rec["mask"] else None,
                s.site,
                extra=extra,
            )  # fmt: skip
        )
    extra_columns = list(dict.fromkeys(k for r in rows for k in r.extra))
    result.manifest = write_manifest(rows, out / "manifest.csv", extra_columns)
    sidecar = out / "preprocess.json"
    settings = json.loads(sidecar.read_text())
    settings["counts"] = {"subjects": len(subjects), "done": len(order), "failed": len(failures)}
    with atomic_file(sidecar) as tmp:
        tmp.write_text(json.dumps(settings, indent=1, sort_keys=True))
