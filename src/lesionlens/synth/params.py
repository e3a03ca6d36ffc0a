"""Sampled parameters of a phantom subject (random side, torchio-style) — plain, JSON-able records.

The renderer (:func:`lesionlens.synth.render.render_subject`) is a pure function of these records
and the anatomy; high-dimensional noise (elastic control points, bias pattern, Rician noise, lesion
lobes) is drawn inside it from ``render_seed`` so that cohort.json stays small.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class SiteSignature:
    """A simulated scanner: Rician σ (fraction of WM), bias strength (std of the log-field),
    contrast (scales tissue differences around WM) and intensity scale (WM level)."""

    name: str
    noise: float
    bias: float
    contrast: float
    scale: float


@dataclass(frozen=True)
class Lesion:
    """One lesion in template space (MNI mm): an irregular, star-shaped ellipsoid.

    ``radius_mm`` is the radius of the sphere of the same volume before lobes; ``axes`` (product
    1) and ``angles_deg`` shape and orient it; ``lobes`` are (unit direction, amplitude) pairs
    modulating the radius as ``exp(sum(a * dir·u))``. ``level`` in [0, 1] places the lesion's
    intensity in its kind's range (FLAIR brighter, T1 darker with level). Tumours add a necrotic
    core and a solid bulk (fractions of the radius) inside the oedema, and ``mass_effect``: the
    fraction of the tumour volume that pushes the surrounding tissue away.
    """

    kind: str
    centre_mm: tuple[float, float, float]
    radius_mm: float
    axes: tuple[float, float, float]
    angles_deg: tuple[float, float, float]
    lobes: tuple[tuple[float, float, float, float], ...]
    level: float
    location: str = ""
    core_fraction: float = 0.0
    bulk_fraction: float = 0.0
    mass_effect: float = 0.0


@dataclass(frozen=True)
class SubjectParams:
    """Everything needed to render one subject (see module docstring)."""

    subject_id: str
    label: int
    split: str
    site: SiteSignature
    noise: float
    bias: float
    contrast: float
    scale: float
    rotation_deg: tuple[float, float, float]
    zoom: tuple[float, float, float]
    translation_mm: tuple[float, float, float]
    elastic_mm: float
    atrophy: float
    cap_strength: float
    choroid_strength: float
    render_seed: int
    lesions: tuple[Lesion, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SubjectParams:
        d = dict(d)
        d["site"] = SiteSignature(**d["site"])
        d["lesions"] = tuple(
            Lesion(
                **{
                    **les,
                    "centre_mm": tuple(les["centre_mm"]),
                    "axes": tuple(les["axes"]),
                    "angles_deg": tuple(les["angles_deg"]),
                    "lobes": tuple(tuple(lb) for lb in les["lobes"]),
                }
            )
            for les in d["lesions"]
        )
        for key in ("rotation_deg", "zoom", "translation_mm"):
            d[key] = tuple(d[key])
        return cls(**d)
