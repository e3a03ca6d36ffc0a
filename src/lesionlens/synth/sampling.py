"""Random side of the phantom generator: sites, labels, splits and per-subject parameters.

Everything random is drawn here from ``SynthConfig.seed`` (one child seed per subject, so a
subject's draw does not depend on the others'); the renderer only replays these records.
Ranges follow the issue: tumours 1–5 cm across with necrotic core, bulk and oedema; MS 5–25
lesions of 2–10 mm, mostly periventricular and juxtacortical white matter.
"""

from __future__ import annotations

import math

import numpy as np

from .anatomy import Anatomy
from .config import SynthConfig
from .params import Lesion, SiteSignature, SubjectParams

MS_COUNT = (5, 25)
MS_DIAMETER_MM = (2.0, 10.0)
MS_LOCATIONS = {"periventricular": 0.5, "juxtacortical": 0.3, "deep_wm": 0.2}
TUMOUR_DIAMETER_MM = (10.0, 50.0)
WM_SCALE = 1000.0  # intensity of white matter at scale 1


def _f(x) -> float:
    return round(float(x), 6)


def _vec(x) -> tuple[float, ...]:
    return tuple(_f(v) for v in x)


def sample_sites(config: SynthConfig, rng: np.random.Generator) -> list[SiteSignature]:
    """Scanner signatures: noise and bias log-uniform around the config's, contrast, scale."""
    sites = []
    for k in range(config.sites):
        sites.append(
            SiteSignature(
                name=f"site{k}",
                noise=_f(config.noise * math.exp(rng.uniform(-0.7, 0.7))),
                bias=_f(config.bias * math.exp(rng.uniform(-0.5, 0.5))),
                contrast=_f(rng.uniform(0.8, 1.2)),
                scale=_f(WM_SCALE * math.exp(rng.uniform(-0.5, 0.5))),
            )
        )
    return sites


def sample_design(config: SynthConfig, rng: np.random.Generator) -> list[tuple[int, str]]:
    """(label, split) per subject: classes sized by ``pathological_fraction``, each class split
    by ``ratios`` with at least one subject per split, subject order shuffled."""
    n_path = int(round(config.n * config.pathological_fraction))
    design: list[tuple[int, str]] = []
    for label, count in ((0, config.n - n_path), (1, n_path)):
        n_val = max(1, int(round(count * config.ratios[1])))
        n_test = max(1, int(round(count * config.ratios[2])))
        n_train = count - n_val - n_test
        if n_train < 1:
            raise ValueError(
                f"n={config.n} leaves {count} subjects of class {label}: too few for train, val "
                "and test; increase n"
            )
        design += (
            [(label, "train")] * n_train + [(label, "val")] * n_val + [(label, "test")] * n_test
        )
    order = rng.permutation(len(design))
    return [design[i] for i in order]


def site_pools(config: SynthConfig) -> dict[int, list[int]]:
    """Site indices each class is drawn from (``separate``: healthy first half, patients rest)."""
    every = list(range(config.sites))
    if config.site_mode == "shared":
        return {0: every, 1: every}
    n_healthy = (config.sites + 1) // 2
    return {0: every[:n_healthy], 1: every[n_healthy:]}


def _pick(rng: np.random.Generator, points: np.ndarray) -> np.ndarray:
    return points[rng.integers(len(points))] + rng.uniform(-1, 1, 3)


def _shape(rng: np.random.Generator, n_lobes: int, max_amp: float) -> dict:
    axes = np.exp(rng.normal(0, 0.15, 3))
    axes /= np.prod(axes) ** (1 / 3)
    dirs = rng.normal(size=(n_lobes, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    amps = rng.uniform(0, max_amp, n_lobes)
    return {
        "axes": _vec(axes),
        "angles_deg": _vec(rng.uniform(0, 360, 3)),
        "lobes": tuple((*_vec(d), _f(a)) for d, a in zip(dirs, amps, strict=True)),
    }


def sample_ms_lesions(rng: np.random.Generator, anatomy: Anatomy) -> tuple[Lesion, ...]:
    count = int(rng.integers(MS_COUNT[0], MS_COUNT[1] + 1))
    names = list(MS_LOCATIONS)
    where = rng.choice(len(names), size=count, p=list(MS_LOCATIONS.values()))
    return tuple(
        Lesion(
            kind="ms",
            centre_mm=_vec(_pick(rng, anatomy.candidates[names[w]])),
            radius_mm=_f(rng.uniform(*MS_DIAMETER_MM) / 2),
            level=_f(rng.uniform(0, 1)),
            location=names[w],
            **_shape(rng, 3, 0.12),
        )
        for w in where
    )


def sample_tumour(rng: np.random.Generator, anatomy: Anatomy) -> tuple[Lesion, ...]:
    radius = rng.uniform(*TUMOUR_DIAMETER_MM) / 2
    deep_enough = anatomy.candidates["brain"][anatomy.brain_depth >= 0.8 * radius]
    core = rng.uniform(0.2, 0.45)
    return (
        Lesion(
            kind="tumour",
            centre_mm=_vec(_pick(rng, deep_enough)),
            radius_mm=_f(radius),
            level=_f(rng.uniform(0, 1)),
            location="brain",
            core_fraction=_f(core),
            bulk_fraction=_f(core + rng.uniform(0.15, 0.3)),
            mass_effect=_f(rng.uniform(0.3, 0.7)),
            **_shape(rng, 4, 0.1),
        ),
    )


def sample_subject(
    config: SynthConfig,
    anatomy: Anatomy,
    rng: np.random.Generator,
    subject_id: str,
    label: int,
    split: str,
    site: SiteSignature,
) -> SubjectParams:
    """Subject-level jitter around its site, spatial variation, atrophy and lesions."""
    size = math.exp(rng.normal(0, 0.04)) * (1 + config.size_shift if label else 1.0)
    zoom = size * np.exp(rng.normal(0, 0.02, 3))
    atrophy = min(1.0, rng.uniform(0, 0.15) + (config.atrophy if label else 0.0))
    sampler = sample_tumour if config.kind == "tumour" else sample_ms_lesions
    return SubjectParams(
        subject_id=subject_id,
        label=label,
        split=split,
        site=site,
        noise=_f(site.noise * rng.uniform(0.9, 1.1)),
        bias=_f(site.bias * rng.uniform(0.8, 1.2)),
        contrast=_f(site.contrast * rng.uniform(0.97, 1.03)),
        scale=_f(site.scale * rng.uniform(0.93, 1.07)),
        rotation_deg=_vec(rng.uniform(-6, 6, 3)),
        zoom=_vec(zoom),
        translation_mm=_vec(rng.uniform(-4, 4, 3)),
        elastic_mm=_f(config.elastic_mm),
        atrophy=_f(atrophy),
        cap_strength=_f(rng.uniform(0.3, 1.0)),
        choroid_strength=_f(rng.uniform(0.3, 1.0)),
        render_seed=int(rng.integers(2**31 - 1)),
        lesions=sampler(rng, anatomy) if label else (),
    )


def sample_cohort(
    config: SynthConfig, anatomy: Anatomy
) -> tuple[list[SiteSignature], list[SubjectParams]]:
    """Draw the sites and every subject's parameters from ``config.seed``."""
    site_seq, design_seq, subject_seq = np.random.SeedSequence(config.seed).spawn(3)
    sites = sample_sites(config, np.random.default_rng(site_seq))
    design_rng = np.random.default_rng(design_seq)
    design = sample_design(config, design_rng)
    pools = site_pools(config)
    subjects = []
    for i, ((label, split), seq) in enumerate(
        zip(design, subject_seq.spawn(len(design)), strict=True)
    ):
        pool_label = 1 - label if (config.swap_test_sites and split == "test") else label
        pool = pools[pool_label]
        site = sites[pool[int(design_rng.integers(len(pool)))]]
        rng = np.random.default_rng(seq)
        subjects.append(sample_subject(config, anatomy, rng, f"sub-{i:04d}", label, split, site))
    return sites, subjects
