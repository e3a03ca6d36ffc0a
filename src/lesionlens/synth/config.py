"""Generation parameters of a phantom cohort (``lesionlens synth``), serialised to cohort.json.

Thesis context: Wargnier-Dauchelle 2023, Ch. 1 §III (MS and glioma on FLAIR/T1, multi-site data
whose scanner signatures a classifier can exploit). Every option of the CLI is a field here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

KINDS = ("tumour", "ms")
CONTRASTS = {"flair": ("flair",), "t1": ("t1",), "both": ("flair", "t1")}
VOXELS = (1, 2, 4, 8)
SITE_MODES = ("shared", "separate")


def _choice(name: str, value: object, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}, got {value!r}")


def _in_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {value!r}")


@dataclass(frozen=True)
class SynthConfig:
    """Every parameter of a phantom cohort; the same config (and seed) gives the same files.

    Attributes:
        kind: ``"tumour"`` (one glioma-like mass) or ``"ms"`` (5–25 small white-matter lesions).
        n: number of subjects.
        voxel: isotropic voxel size in mm (1, 2, 4 or 8; 8 mm gives 23×27×23 volumes).
        seed: seed of every random draw.
        contrast: ``"flair"``, ``"t1"`` or ``"both"`` (two channels, FLAIR first).
        sites: number of simulated scanners, each with its own noise, bias, contrast and scale.
        site_mode: ``"shared"`` (both classes drawn from all sites) or ``"separate"`` (healthy and
            patients come from disjoint sites, as in the thesis' own datasets).
        swap_test_sites: in the test split, healthy subjects get a patients' site and vice versa.
        size_shift: relative change of the patients' brain linear size (0.05 = 5 % larger).
        atrophy: extra atrophy of patients in [0, 1] (enlarged ventricles and sulci).
        noise: median Rician noise σ as a fraction of white-matter intensity.
        bias: median bias-field strength (standard deviation of the log-field).
        elastic_mm: standard deviation of the elastic displacement at its control points (mm).
        pathological_fraction: fraction of patients (0.5 = balanced classes).
        ratios: train/val/test fractions, applied per class.
    """

    kind: str
    n: int
    voxel: int
    seed: int
    contrast: str = "flair"
    sites: int = 1
    site_mode: str = "shared"
    swap_test_sites: bool = False
    size_shift: float = 0.0
    atrophy: float = 0.0
    noise: float = 0.03
    bias: float = 0.15
    elastic_mm: float = 3.0
    pathological_fraction: float = 0.5
    ratios: tuple[float, float, float] = field(default=(0.6, 0.2, 0.2))

    def __post_init__(self) -> None:
        _choice("kind", self.kind, KINDS)
        _choice("contrast", self.contrast, tuple(CONTRASTS))
        _choice("voxel", self.voxel, VOXELS)
        _choice("site_mode", self.site_mode, SITE_MODES)
        if not isinstance(self.n, int) or self.n < 6:
            raise ValueError(
                f"n must be an integer >= 6 (both classes in every split), got {self.n!r}"
            )
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.sites, int) or self.sites < 1:
            raise ValueError(f"sites must be a positive integer, got {self.sites!r}")
        if self.site_mode == "separate" and self.sites < 2:
            raise ValueError(f"site_mode 'separate' needs sites >= 2, got sites={self.sites}")
        if self.swap_test_sites and self.site_mode != "separate":
            raise ValueError(
                "swap_test_sites needs site_mode 'separate' (classes on distinct sites)"
            )
        _in_range("size_shift", self.size_shift, -0.3, 0.3)
        _in_range("atrophy", self.atrophy, 0.0, 1.0)
        _in_range("noise", self.noise, 0.0, 0.5)
        _in_range("bias", self.bias, 0.0, 1.0)
        _in_range("elastic_mm", self.elastic_mm, 0.0, 10.0)
        _in_range("pathological_fraction", self.pathological_fraction, 0.1, 0.9)
        ratios = tuple(float(r) for r in self.ratios)
        if len(ratios) != 3 or min(ratios) <= 0 or abs(sum(ratios) - 1) > 1e-6:
            raise ValueError(
                "ratios must be 3 positive train/val/test fractions summing to 1, "
                f"got {self.ratios!r}"
            )
        object.__setattr__(self, "ratios", ratios)

    @property
    def channels(self) -> tuple[str, ...]:
        return CONTRASTS[self.contrast]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ratios"] = list(self.ratios)
        return d
