"""``explain``: a trained run + a cohort split → per-subject lesion maps and predictions.

Writes ``maps/<subject_id>.nii.gz`` (float32, the subject image's shape and affine, positive =
evidence for pathology; counterfactual maps are 4-D with K channels last) and ``predictions.csv``
(subject_id, label, logit, prob, pred) — DESIGN.md "Maps directory". 3-D models see the volume
cropped/padded to the training grid; 2-D models are run slice by slice (axial, last axis) and the
maps restacked; their image-level logit is the maximum slice logit.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .cohort import Subject, read_manifest
from .io import atomic_dir, read_image, write_nifti


def subject_map(
    model: torch.nn.Module,
    image: np.ndarray,
    shape: tuple[int, ...],
    attribution: str,
    *,
    dim: int = 3,
    seed: int = 0,
    chunk: int = 16,
    slice_context: int = 0,
    **kwargs,
) -> tuple[np.ndarray, float]:
    """One image (C, X, Y, Z) → (map (X, Y, Z) [or (X, Y, Z, K)], image-level logit).

    2-D models with ``slice_context`` k see each slice with its k neighbours per side as channels
    (:func:`lesionlens.data.context_stack`); the slice's map is the attribution on its own
    (centre) channels."""
    from .data import centre_channels, context_stack, crop_or_pad, standardise, undo_crop_or_pad

    image, _ = standardise(image)  # the training datasets' intensity scale
    bg = 0.0
    if dim == 3:
        x = torch.from_numpy(crop_or_pad(image, shape, bg)).unsqueeze(0)
        with torch.no_grad():
            logit = float(_image_logit(model, x)[0])
        amap = _maps(model, x, attribution, seed, **kwargs)[0]
        if amap.ndim == len(shape) + 1:  # K counterfactual channels → channels last
            amap = np.moveaxis(undo_crop_or_pad(amap, (amap.shape[0], *image.shape[1:])), 0, -1)
            return np.ascontiguousarray(amap), logit
        return undo_crop_or_pad(amap, image.shape[1:]), logit
    slices = [
        crop_or_pad(context_stack(image, z, slice_context), shape, bg)
        for z in range(image.shape[-1])
    ]
    xs = torch.from_numpy(np.stack(slices))
    centre = centre_channels(image.shape[0], slice_context)
    maps, logits = [], []
    for start in range(0, len(xs), chunk):
        xb = xs[start : start + chunk]
        with torch.no_grad():
            logits.append(_image_logit(model, xb))
        maps.extend(_maps(model, xb, attribution, seed + start, centre=centre, **kwargs))
    if maps[0].ndim == 3:  # (K, X, Y) counterfactual channels → (X, Y, Z, K)
        restacked = [undo_crop_or_pad(m, (m.shape[0], *image.shape[1:3])) for m in maps]
        return np.stack(restacked, axis=-1).transpose(1, 2, 3, 0), float(torch.cat(logits).max())
    stacked = np.stack([undo_crop_or_pad(m, image.shape[1:3]) for m in maps], axis=2)
    return stacked, float(torch.cat(logits).max())


def _maps(
    model, x: torch.Tensor, attribution: str, seed: int, precision: str = "fp32",
    centre: slice | None = None, **kwargs,
) -> list[np.ndarray]:
    """Per-image maps: (*spatial) for attributions (channels summed), (K, *spatial) for the
    counterfactual of a monotone model (thesis ch. 6: α ≥ 0 with M(f − α) < m); a segmentation
    network (the supervised U-Net upper bound) gives its voxel logits, whatever ``attribution``.
    ``precision`` "bf16" runs the network under bfloat16 autocast (not the counterfactual);
    ``centre`` keeps only those input channels of an attribution (2.5-D inputs)."""
    from .attributions import attribution_map, compute_precision

    if getattr(model, "is_segmentation", False):
        with torch.no_grad(), compute_precision(x.device.type, precision):
            return [m[0].float().cpu().numpy().astype(np.float32) for m in model(x)]
    if attribution == "counterfactual":
        from .monotone import counterfactual_maps

        if not hasattr(model, "forward_features"):
            raise ValueError("--attribution counterfactual needs a --method monotone run")
        cf = counterfactual_maps(model, x, seed=seed, **kwargs)
        return [m.detach().cpu().numpy().astype(np.float32) for m in cf]
    amaps = attribution_map(
        model, x, method=attribution, precision=precision, **_seeded(attribution, seed), **kwargs
    )
    return [_channels_to_map(m if centre is None else m[centre]) for m in amaps]


def training_references(subjects: list[Subject], cfg, n: int = 16) -> torch.Tensor:
    """EG/IEG references from the data distribution (thesis Eq. 2.28): up to ``n`` training images
    (evenly spread over the split) on the model's input grid — volumes for 3-D models, their
    central axial slices (with their context slices) for 2-D ones."""
    from .data import context_stack, crop_or_pad, standardise

    if not subjects:
        raise ValueError("EG/IEG maps need training images as references; the cohort has none")
    index = np.linspace(0, len(subjects) - 1, min(n, len(subjects))).astype(int)
    picks = [subjects[i] for i in index]
    refs = []
    for s in picks:
        image, _ = standardise(read_image(s.images)[0])
        if cfg.dim == 2:
            image = context_stack(image, image.shape[-1] // 2, cfg.slice_context)
        refs.append(crop_or_pad(image, tuple(cfg.shape), 0.0))
    return torch.from_numpy(np.stack(refs))


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["n_steps=30", "lr=1e-2", "relu=true"]`` → ``{"n_steps": 30, "lr": 0.01, "relu": True}``
    (int, then float, then true/false, else the word)."""
    from .errors import LesionLensInputError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise LesionLensInputError(f"--option {pair!r}: expected KEY=VALUE, e.g. n_steps=30")
        options[key.strip()] = _scalar(value.strip())
    return options


def _scalar(text: str) -> int | float | bool | str:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def check_precision(attribution: str, precision: str) -> None:
    """Refuse, before any work, an unknown precision, or bf16 for the counterfactual (an
    optimisation whose margin test needs float32 logits), in one line."""
    from .attributions import check_precision as check_precision_name
    from .errors import LesionLensInputError

    check_precision_name(precision)
    if precision != "fp32" and attribution == "counterfactual":
        raise LesionLensInputError(
            "--precision bf16 applies to attribution maps, not to the counterfactual "
            "optimisation; drop --precision or use fp32"
        )


def check_options(attribution: str, options: dict[str, Any]) -> None:
    """Refuse, before any work, options that ``attribution`` does not take (one line)."""
    import inspect

    from .errors import LesionLensInputError

    if "seed" in options:
        raise LesionLensInputError(
            "--option seed: the seed is the run's (config.yaml), not an option"
        )
    if attribution == "counterfactual":
        from .monotone import counterfactual

        allowed = set(inspect.signature(counterfactual).parameters) - {"model", "x", "seed"}
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise LesionLensInputError(
                f"unknown option(s) {unknown} for attribution 'counterfactual'; expected some of "
                f"{sorted(allowed)}"
            )
    else:
        from .attributions import split_kwargs

        split_kwargs(attribution, {k: v for k, v in options.items() if k != "references"})


def _recordable(options: dict) -> dict[str, Any]:
    """The scalar options (numbers, words, booleans), for ``explain.yaml``."""
    return {k: v for k, v in options.items() if isinstance(v, int | float | str | bool)}


def _prediction_row(subject: Subject, logit: float) -> list:
    """One ``predictions.csv`` row: subject_id, label, logit, prob (stable sigmoid), pred."""
    from scipy.special import expit

    prob = float(expit(logit))
    return [subject.subject_id, subject.label, f"{logit:.6g}", f"{prob:.6g}", int(logit > 0)]


def _write_predictions(path: Path, rows: list[list]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject_id", "label", "logit", "prob", "pred"])
        w.writerows(rows)


def _image_logit(model, x: torch.Tensor) -> torch.Tensor:
    """(B,) image-level logits; a segmentation network's is its maximum voxel logit."""
    out = model(x)
    return out.flatten(1).amax(1) if getattr(model, "is_segmentation", False) else out.reshape(-1)


def _seeded(attribution: str, seed: int) -> dict[str, int]:
    """``{"seed": seed}`` for attribution methods with random parts (EG, IEG), else ``{}``."""
    import inspect

    from .attributions import ATTRIBUTIONS

    cls = ATTRIBUTIONS.get(attribution)
    takes_seed = "seed" in inspect.signature(cls.attribute).parameters
    return {"seed": seed} if takes_seed else {}


def _channels_to_map(amap: torch.Tensor) -> np.ndarray:
    """Attribution (C, *spatial) → map: channels summed (one map per voxel)."""
    return amap.detach().sum(0).cpu().numpy().astype(np.float32)


def explain(
    run: str | Path,
    cohort: str | Path,
    out: str | Path,
    *,
    split: str = "test",
    attribution: str = "g",
    overwrite: bool = False,
    options: dict | None = None,
    smooth_mm: float = 0.0,
    positive: bool = False,
    precision: str = "fp32",
    on_subject=None,
) -> Path:
    """Write the maps directory ``out`` for ``split`` of ``cohort`` with ``run``'s model.

    ``options`` go to the attribution method (e.g. ``{"n_steps": 30}`` for IG, ``{"steps": 200}``
    for the counterfactual). ``positive`` / ``smooth_mm`` (Gaussian FWHM in mm) post-process each
    map (:mod:`lesionlens.map_filters`; default none, as the thesis) and are recorded in
    ``explain.yaml``, with ``precision`` ("fp32", or "bf16": the network under bfloat16 autocast,
    about 2× faster G maps on CPUs with AVX512-BF16; predictions stay float32)."""
    import yaml

    from .evaluation.segmentation import voxel_spacing
    from .map_filters import check_smoothing, filter_map
    from .training import load_run

    check_smoothing(smooth_mm)
    check_precision(attribution, precision)

    cfg, model = load_run(run)
    coh = read_manifest(cohort)
    subjects: list[Subject] = coh.split(split)
    if not subjects:
        raise ValueError(f"split {split!r} of {cohort} has no subjects; choose train, val or test")
    torch.manual_seed(cfg.seed)
    options = dict(options or {})
    check_options(attribution, options)
    recorded = _recordable(options)
    if attribution in ("eg", "ieg") and "references" not in options:
        options["references"] = training_references(coh.split("train"), cfg)
    rows = []
    with atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "maps").mkdir()
        for s in subjects:
            image, affine = read_image(s.images)
            amap, logit = subject_map(
                model, image, tuple(cfg.shape), attribution, dim=cfg.dim, seed=cfg.seed,
                precision=precision, slice_context=cfg.slice_context, **options,
            )
            if positive or smooth_mm > 0:
                amap = filter_map(
                    amap, voxel_spacing(affine), smooth_fwhm_mm=smooth_mm, positive=positive
                )
            write_nifti(tmp / "maps" / f"{s.subject_id}.nii.gz", amap, affine)
            rows.append(_prediction_row(s, logit))
            if on_subject is not None:
                on_subject(s)
        _write_predictions(tmp / "predictions.csv", rows)
        (tmp / "explain.yaml").write_text(
            f"run: {Path(run).resolve()}\ncohort: {Path(cohort).resolve()}\nsplit: {split}\n"
            f"attribution: {attribution}\nseed: {cfg.seed}\n"
            f"positive_part: {str(positive).lower()}\nsmooth_fwhm_mm: {float(smooth_mm)}\n"
            f"precision: {precision}\n"
            + yaml.safe_dump({"options": recorded})
        )
    return Path(out)


def intensity_maps(
    cohort: str | Path, out: str | Path, *, split: str = "test", channel: int = 0,
    overwrite: bool = False, polarity: str = "bright",
) -> Path:
    """The plain intensity-threshold floor: the standardised image itself as the lesion map.

    Thresholded by ``evaluate`` like any map (e.g. max-F1 on validation), it is the floor a
    learned method must beat on FLAIR-like hyperintense lesions (field anchors, spec 05).
    ``polarity="dark"`` negates the image, the floor for hypointense lesions (T1 black holes,
    tumour cores). ``predictions.csv`` carries the 99.9th brain percentile of the map as the
    image-level score.
    """
    from .data import standardise

    if polarity not in ("bright", "dark"):
        raise ValueError(f"polarity must be 'bright' or 'dark', got {polarity!r}")
    sign = 1.0 if polarity == "bright" else -1.0
    subjects = read_manifest(cohort).split(split)
    rows = []
    with atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "maps").mkdir()
        for s in subjects:
            image, affine = read_image(s.images)
            z, brain = standardise(image)
            z = sign * z[channel]
            write_nifti(tmp / "maps" / f"{s.subject_id}.nii.gz", z, affine)
            score = float(np.percentile(z[brain], 99.9)) if brain.any() else 0.0
            rows.append(_prediction_row(s, score))
        _write_predictions(tmp / "predictions.csv", rows)
        (tmp / "explain.yaml").write_text(
            f"run: null\ncohort: {Path(cohort).resolve()}\nsplit: {split}\n"
            f"attribution: intensity\nchannel: {channel}\npolarity: {polarity}\n"
        )
    return Path(out)
