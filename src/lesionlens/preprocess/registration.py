"""Affine registration to the MNI152 template with a guarded choice of initialisation (ANTsPy).

The thesis uses FSL FLIRT (affine, on T1) and Elastix (rigid, other channels onto T1); here both
are ANTs (``ants.registration``), thesis ch. 1 §III.2. A default centre-of-mass start sends
partial fields of view astray, so several starts are tried (scanner header, centre of mass,
±15° about each axis), each refined briefly at a coarse level; the best by normalised
cross-correlation (NCC) against the template over the overlap is refined fully, and the result is
kept only if it beats the header's own alignment — registration never ends worse than no
registration. Transforms follow ITK: they map template (fixed) points to subject (moving) points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .antsio import to_ants
from .template import TemplateSpace

ROTATION_DEG = 15.0
MIN_SCALE, MAX_SCALE = 0.5, 2.0  # plausible head-size ratios (determinant of the affine part)


@dataclass(frozen=True)
class Alignment:
    """Outcome of :func:`register_to_template`: transform file(s) and quality figures."""

    transforms: tuple[str, ...]  # ANTs transform list, template → subject (empty: header)
    start: str  # which initialisation won, or "header" when registration did not help
    ncc: float  # NCC with the template over the overlap, after registration
    ncc_header: float  # the same with the scanner header alone (identity transform)
    overlap_fraction: float  # fraction of the template's head voxels covered by the scan


def ncc_with_template(template, moving, transforms: list[str]) -> tuple[float, float]:
    """NCC of ``moving`` resampled onto ``template`` (ANTs images) over the overlap of the scan's
    field of view with the template's head, and the overlap's share of the head."""

    ones = moving.new_image_like(np.ones(moving.shape, np.float32))
    warped = _apply(template, moving, transforms, "linear").numpy()
    fov = _apply(template, ones, transforms, "nearestNeighbor").numpy() > 0.5
    fixed = template.numpy()
    head = fixed > 0.05 * fixed.max()
    overlap = fov & head
    if overlap.sum() < 100:
        return 0.0, float(overlap.sum() / max(head.sum(), 1))
    a, b = fixed[overlap].astype(np.float64), warped[overlap].astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    ncc = float((a * b).sum() / denom) if denom > 0 else 0.0
    return ncc, float(overlap.sum() / head.sum())


def _apply(fixed, moving, transforms, interpolator: str):
    """``ants.apply_transforms``; an empty list means the scanner header alone (identity)."""
    import ants

    if not transforms:
        return ants.resample_image_to_target(moving, fixed, interp_type=interpolator)
    return ants.apply_transforms(fixed, moving, list(transforms), interpolator=interpolator)


def _centre_of_mass(image) -> np.ndarray:
    """Intensity centre of mass in ITK physical (LPS) coordinates."""
    data = np.clip(image.numpy().astype(np.float64), 0, None)
    total = data.sum()
    if total <= 0:
        return np.asarray(image.origin, dtype=np.float64)
    idx = np.indices(data.shape).reshape(3, -1) @ data.ravel() / total
    return np.asarray(image.origin) + np.asarray(image.direction) @ (
        np.asarray(image.spacing) * idx
    )


def _rotation(axis: int, degrees: float) -> np.ndarray:
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    i, j = [a for a in range(3) if a != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def _start_transform(template, moving, rotation: np.ndarray, workdir: Path, name: str) -> str:
    """Affine start: rotate about the template's centre of mass, then match centres of mass."""
    import ants

    c_fixed, c_moving = _centre_of_mass(template), _centre_of_mass(moving)
    tx = ants.create_ants_transform(
        transform_type="AffineTransform", dimension=3, matrix=rotation,
        center=tuple(c_fixed), translation=tuple(c_moving - c_fixed),
    )  # fmt: skip
    path = workdir / f"start_{name}.mat"
    ants.write_transform(tx, str(path))
    return str(path)


def _affine_scale(transform_file: str) -> float:
    import ants

    params = np.asarray(ants.read_transform(transform_file).parameters, dtype=np.float64)
    return float(abs(np.linalg.det(params[:9].reshape(3, 3))))


def _schedule(voxel: int, coarse: bool) -> dict:
    """Iterations per level; shrink factors are relative to the template grid (``voxel`` mm)."""
    if coarse:  # one short level near 8 mm, enough to rank the starts
        return {"aff_iterations": (40,), "aff_shrink_factors": (max(8 // voxel, 1),),
                "aff_smoothing_sigmas": (2,)}  # fmt: skip
    if voxel == 1:
        return {"aff_iterations": (200, 100, 10), "aff_shrink_factors": (4, 2, 1),
                "aff_smoothing_sigmas": (2, 1, 0)}  # fmt: skip
    return {"aff_iterations": (100, 20), "aff_shrink_factors": (2, 1),
            "aff_smoothing_sigmas": (1, 0)}  # fmt: skip


def register_to_template(
    data: np.ndarray,
    affine: np.ndarray,
    template: TemplateSpace,
    workdir: str | Path,
    *,
    rotations: bool = True,
    seed: int = 0,
) -> Alignment:
    """Affine registration of one (X, Y, Z) RAS volume to the MNI template; never worse than the
    header. ``workdir`` receives the transform files; ``seed`` fixes ANTs' metric sampling."""
    import ants

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    fixed = to_ants(template.image, template.affine)
    moving = to_ants(data, affine)
    ncc_header, overlap_header = ncc_with_template(fixed, moving, [])

    starts: dict[str, list[str] | None] = {"header": ["Identity"], "centre-of-mass": None}
    if rotations:
        for axis, axis_name in enumerate("xyz"):
            for sign in (-1, 1):
                name = f"rot-{axis_name}{'+' if sign > 0 else '-'}{ROTATION_DEG:g}"
                rot = _rotation(axis, sign * ROTATION_DEG)
                starts[name] = [_start_transform(fixed, moving, rot, workdir, name)]

    common = {"type_of_transform": "Affine", "aff_metric": "mattes", "random_seed": seed,
              "aff_random_sampling_rate": 0.1}  # fmt: skip
    best: tuple[float, str, list[str]] | None = None
    for name, start in starts.items():
        out = ants.registration(
            fixed, moving, initial_transform=start, outprefix=str(workdir / f"coarse_{name}_"),
            **common, **_schedule(template.voxel, coarse=True),
        )  # fmt: skip
        tx = list(out["fwdtransforms"])
        if not MIN_SCALE <= _affine_scale(tx[0]) <= MAX_SCALE:
            continue
        ncc, _ = ncc_with_template(fixed, moving, tx)
        if best is None or ncc > best[0]:
            best = (ncc, name, tx)

    final: tuple[float, str, list[str], float] = (ncc_header, "header-only", [], overlap_header)
    if best is not None:
        out = ants.registration(
            fixed, moving, initial_transform=best[2], outprefix=str(workdir / "affine_"),
            **common, **_schedule(template.voxel, coarse=False),
        )  # fmt: skip
        tx = list(out["fwdtransforms"])
        ncc, overlap = ncc_with_template(fixed, moving, tx)
        if best[0] > ncc:  # the fine stage drifted: keep the coarse result
            tx, ncc = best[2], best[0]
            overlap = ncc_with_template(fixed, moving, tx)[1]
        if _affine_scale(tx[0]) >= MIN_SCALE and ncc > ncc_header:
            final = (ncc, best[1], tx, overlap)
    return Alignment(tuple(final[2]), final[1], final[0], ncc_header, final[3])


def register_rigid(
    fixed_data: np.ndarray, fixed_affine: np.ndarray, moving_data: np.ndarray,
    moving_affine: np.ndarray, workdir: str | Path, *, seed: int = 0,
) -> tuple[str, ...]:  # fmt: skip
    """Rigid (6 dof, Mattes MI) registration of another channel onto the reference channel."""
    import ants

    out = ants.registration(
        to_ants(fixed_data, fixed_affine), to_ants(moving_data, moving_affine),
        type_of_transform="Rigid", initial_transform=["Identity"], random_seed=seed,
        outprefix=str(Path(workdir) / "rigid_"), aff_iterations=(100, 50, 20),
        aff_shrink_factors=(4, 2, 1), aff_smoothing_sigmas=(2, 1, 0),
    )  # fmt: skip
    return tuple(out["fwdtransforms"])


def resample_to_template(
    data: np.ndarray, affine: np.ndarray, template: TemplateSpace, transforms: tuple[str, ...],
    interpolator: str = "linear",
) -> np.ndarray:  # fmt: skip
    """Carry a subject-space volume onto the template grid (``transforms``: template → subject,
    outermost first, as ANTs lists them). Use ``"genericLabel"`` or ``"nearestNeighbor"`` for
    masks."""
    fixed = to_ants(template.image, template.affine)
    out = _apply(fixed, to_ants(data, affine), transforms, interpolator)
    return out.numpy().astype(np.float32)
