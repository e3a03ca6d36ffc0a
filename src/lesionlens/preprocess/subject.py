"""One subject through the pipeline (thesis ch. 1 §III.2), every step a switch in
:class:`PreprocessOptions`: RAS → [isotropic resampling] → affine T1→MNI152 (guarded, see
:mod:`.registration`) → other channels rigid onto the T1, carried by the same transform → masks
carried with a label interpolator → brain extraction → [N4] → brain z-score → [tissue maps] → QC.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..cohort import Subject
from ..errors import LesionLensInputError
from ..io import atomic_file, write_nifti
from .channels import channel_names, read_ras, reference_channel
from .intensity import n4_correct, refine_brain_mask, tissue_probability_maps, zscore_in_brain
from .registration import register_rigid, register_to_template, resample_to_template
from .template import VOXEL_SIZES, load_template

BRAIN_EXTRACTION = ("template", "hd-bet")


class RegistrationFailed(LesionLensInputError):
    """The scan does not match the template well enough (noise, wrong body part, ...)."""


@dataclass(frozen=True)
class PreprocessOptions:
    """Every switch of the pipeline; recorded in ``OUT/preprocess.json``."""

    voxel: int = 2  # output grid: MNI152 at 1 or 2 mm (4 mm for quick tests)
    n4: bool = False  # off by default: N4 can erase tumour contrast (thesis Fig. 1.18)
    tissue_maps: bool = False  # Atropos CSF/GM/WM probabilities of the reference channel
    brain_extraction: str = "template"  # "template" (MNI mask refined by intensity) or "hd-bet"
    isotropic_mm: float | None = None  # resample anisotropic scans before registration
    reference: int | None = None  # channel registered to MNI; None: the T1, else the first
    rigid_channels: bool = True  # register other channels rigidly onto the reference
    rotations: bool = True  # also try ±15° starts (see registration)
    min_ncc: float = 0.25  # below this NCC with the template the subject fails
    background: float = 0.0  # value outside the brain after z-score
    qc_png: bool = True
    seed: int = 0  # ANTs metric sampling

    def __post_init__(self) -> None:
        if self.voxel not in VOXEL_SIZES:
            raise ValueError(f"voxel must be one of {VOXEL_SIZES} mm, got {self.voxel!r}")
        if self.brain_extraction not in BRAIN_EXTRACTION:
            raise ValueError(
                f"brain extraction must be one of {BRAIN_EXTRACTION}, got {self.brain_extraction!r}"
            )
        if self.isotropic_mm is not None and self.isotropic_mm <= 0:
            raise ValueError(f"isotropic voxel size must be > 0 mm, got {self.isotropic_mm}")
        if not -1.0 <= self.min_ncc <= 1.0:
            raise ValueError(f"min_ncc must be in [-1, 1], got {self.min_ncc}")

    def to_dict(self) -> dict:
        return asdict(self)


def _isotropic(data: np.ndarray, affine: np.ndarray, mm: float, interpolator: str):
    import ants

    from .antsio import from_ants, to_ants

    zooms = np.linalg.norm(affine[:3, :3], axis=0)
    if np.allclose(zooms, mm, atol=1e-3):
        return data, affine
    interp = {"linear": 0, "nearestNeighbor": 1}[interpolator]
    out = ants.resample_image(to_ants(data, affine), (mm, mm, mm), use_voxels=False,
                              interp_type=interp)  # fmt: skip
    return from_ants(out)


def _write_json(path: Path, record: dict) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True))


def preprocess_subject(subject: Subject, out: Path, options: PreprocessOptions) -> dict:
    """Run the pipeline for ``subject``; write its files under ``out`` and return its record
    (outputs relative to ``out`` + QC figures). ``out/subjects/<id>.json`` is written last: its
    presence marks the subject as done. Raises on any failure (the caller isolates it)."""
    template = load_template(options.voxel)
    sid, t_start = subject.subject_id, time.perf_counter()
    timings: dict[str, float] = {}

    def lap(step: str, since: float) -> float:
        now = time.perf_counter()
        timings[f"seconds_{step}"] = round(now - since, 3)
        return now

    raw = [read_ras(p) for p in subject.images]
    mask_raw = read_ras(subject.mask) if subject.mask else None
    if mask_raw is not None and mask_raw[0].shape != raw[0][0].shape:
        raise LesionLensInputError(
            f"mask {subject.mask.name} shape {mask_raw[0].shape} differs from the first "
            f"channel's {raw[0][0].shape}"
        )
    if options.isotropic_mm:
        raw = [_isotropic(d, a, options.isotropic_mm, "linear") for d, a in raw]
        if mask_raw is not None:
            mask_raw = _isotropic(*mask_raw, options.isotropic_mm, "nearestNeighbor")
    ref = reference_channel(subject.images, options.reference)
    t = lap("read", t_start)

    with tempfile.TemporaryDirectory(prefix=f"lesionlens-{sid}-") as work:
        work_dir = Path(work)
        alignment = register_to_template(
            *raw[ref], template, work_dir / "affine", rotations=options.rotations,
            seed=options.seed,
        )  # fmt: skip
        if alignment.ncc < options.min_ncc:
            raise RegistrationFailed(
                f"registration failed: NCC with the MNI template {alignment.ncc:.2f} < "
                f"{options.min_ncc:.2f} (header alone {alignment.ncc_header:.2f}); is this a "
                "brain MRI?"
            )
        chains: list[tuple[str, ...]] = []
        for i, (data, affine) in enumerate(raw):
            rigid: tuple[str, ...] = ()
            if i != ref and options.rigid_channels:
                rigid = register_rigid(*raw[ref], data, affine, work_dir / f"rigid{i}",
                                       seed=options.seed)  # fmt: skip
            chains.append(rigid + alignment.transforms)
        t = lap("registration", t)
        images = [
            resample_to_template(d, a, template, c) for (d, a), c in zip(raw, chains, strict=True)
        ]
        mask = None
        if mask_raw is not None:
            mask = resample_to_template(*mask_raw, template, chains[0], "genericLabel") > 0.5
        if alignment.transforms:
            (out / "transforms").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(alignment.transforms[0], out / "transforms" / f"{sid}_to_mni.mat")
    t = lap("resampling", t)

    if options.brain_extraction == "hd-bet":
        from .hdbet import hd_bet_mask

        brain = hd_bet_mask(images[ref], template.affine)
    else:
        brain = refine_brain_mask(images[ref], template.brain_mask)
    if brain.sum() < 100:
        raise RegistrationFailed(f"brain extraction left {int(brain.sum())} voxels")
    t = lap("brain_extraction", t)
    if options.n4:
        images = [n4_correct(im, template.affine, brain, voxel=options.voxel) for im in images]
        t = lap("n4", t)
    tissue = (
        tissue_probability_maps(images[ref], template.affine, brain) if options.tissue_maps else {}
    )
    if options.tissue_maps:
        t = lap("tissue_maps", t)
    normalised = [zscore_in_brain(im, brain, background=options.background) for im in images]

    names = channel_names(subject.images)
    record: dict = {
        "subject_id": sid,
        "images": [],
        "mask": "",
        "brain": f"brain/{sid}_brain.nii.gz",
    }
    for name, volume in zip(names, normalised, strict=True):
        rel = f"images/{sid}_{name}.nii.gz"
        write_nifti(out / rel, volume, template.affine)
        record["images"].append(rel)
    write_nifti(out / record["brain"], brain, template.affine, np.uint8)
    if mask is not None:
        record["mask"] = f"masks/{sid}_mask.nii.gz"
        write_nifti(out / record["mask"], mask, template.affine, np.uint8)
    for tissue_name, prob in tissue.items():
        record[tissue_name] = f"tissue/{sid}_{tissue_name}.nii.gz"
        write_nifti(out / record[tissue_name], prob, template.affine)
    if options.qc_png:
        write_qc_png_for(out / "qc" / f"{sid}.png", normalised[ref], template.brain_mask, brain,
                         f"{sid}  NCC {alignment.ncc:.2f} (header {alignment.ncc_header:.2f}), "
                         f"start {alignment.start}")  # fmt: skip
    lap("write", t)
    record["qc"] = {
        "subject_id": sid, "reference_channel": names[ref], "registration_start": alignment.start,
        "ncc": round(alignment.ncc, 4), "ncc_header": round(alignment.ncc_header, 4),
        "overlap_fraction": round(alignment.overlap_fraction, 4),
        "brain_volume_ml": round(float(brain.sum()) * options.voxel**3 / 1000.0, 1),
        "mask_volume_ml": round(float(mask.sum()) * options.voxel**3 / 1000.0, 2)
        if mask is not None else "",
        **timings, "seconds_total": round(time.perf_counter() - t_start, 3),
    }  # fmt: skip
    _write_json(out / "subjects" / f"{sid}.json", record)
    return record


def write_qc_png_for(path, image, template_mask, brain, title):
    from .qc import write_qc_png

    return write_qc_png(path, image, template_mask, brain, title)
