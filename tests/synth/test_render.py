"""Rendering: lesions, contrasts, realism and confounders (tiny 8 mm / 4 mm grids)."""

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from lesionlens.synth import SynthConfig, render_subject, sample_cohort
from lesionlens.synth.sampling import MS_COUNT


def _patients(anatomy, kind, n=12, seed=0, **kw):
    _, subjects = sample_cohort(
        SynthConfig(kind=kind, n=n, voxel=anatomy.voxel, seed=seed, **kw), anatomy
    )
    return [s for s in subjects if s.label == 1]


def test_render_is_pure(anatomy8):
    params = _patients(anatomy8, "tumour")[0]
    a, b = (
        render_subject(anatomy8, params, ("flair", "t1")),
        render_subject(anatomy8, params, ("flair", "t1")),
    )
    for ch in ("flair", "t1"):
        np.testing.assert_array_equal(a.images[ch], b.images[ch])
    np.testing.assert_array_equal(a.mask, b.mask)


@pytest.mark.parametrize("kind", ["tumour", "ms"])
def test_masks_inside_brain_and_background_zero(anatomy8, kind):
    for params in _patients(anatomy8, kind)[:4]:
        r = render_subject(anatomy8, params)
        assert r.mask.any()
        assert (r.brain[r.mask.astype(bool)] >= 0.5).all()
        assert (r.images["flair"][r.brain <= 0.01] == 0).all()


def test_tumour_equivalent_diameter_1_to_5_cm(anatomy8):
    patients = _patients(anatomy8, "tumour", n=30, seed=3)
    diameters = []
    for params in patients:
        (tumour,) = params.lesions
        assert 10 <= 2 * tumour.radius_mm <= 50
        assert 0 < tumour.core_fraction < tumour.bulk_fraction < 1
        volume = render_subject(anatomy8, params).mask.sum() * 8**3
        diameters.append((6 * volume / np.pi) ** (1 / 3))
    assert 8 <= min(diameters) and max(diameters) <= 55  # 8 mm voxelisation tolerance
    assert max(diameters) - min(diameters) > 15  # sizes span the range


def test_ms_lesion_count_sizes_and_sites(anatomy8):
    locations = []
    for params in _patients(anatomy8, "ms", n=20, seed=4):
        assert MS_COUNT[0] <= len(params.lesions) <= MS_COUNT[1]
        assert all(1 <= les.radius_mm <= 5 for les in params.lesions)
        locations += [les.location for les in params.lesions]
        _, n_components = ndimage.label(render_subject(anatomy8, params).mask)
        assert n_components >= 1
    share = np.mean([loc in ("periventricular", "juxtacortical") for loc in locations])
    assert share > 0.65


@pytest.mark.parametrize("kind", ["tumour", "ms"])
def test_lesions_brighter_on_flair_darker_on_t1_but_not_thresholdable(anatomy4, kind):
    wm_template = anatomy4.map("wm") > 0.9
    best = []
    for params in _patients(anatomy4, kind, n=8, seed=1):
        r = render_subject(anatomy4, params, ("flair", "t1"))
        lesion = r.mask.astype(bool)
        wm = wm_template & ~ndimage.binary_dilation(lesion, iterations=2) & (r.brain >= 0.5)
        flair, t1 = r.images["flair"], r.images["t1"]
        assert flair[lesion].mean() > 1.1 * flair[wm].mean()
        assert t1[lesion].mean() < 0.95 * t1[wm].mean()
        brain = r.brain >= 0.5
        values, truth = flair[brain], lesion[brain]
        dices = [
            2 * (truth & (values > t)).sum() / (truth.sum() + (values > t).sum())
            for t in np.quantile(values, np.linspace(0.5, 0.999, 200))
        ]
        best.append(max(dices))
    assert max(best) < 0.97  # overlap with normal tissue: no threshold recovers the masks


def test_healthy_brains_have_physiological_hyperintensities(anatomy4):
    _, subjects = sample_cohort(SynthConfig(kind="ms", n=6, voxel=4, seed=0), anatomy4)
    healthy = next(s for s in subjects if s.label == 0)
    with_caps = render_subject(anatomy4, replace(healthy, noise=0.0))
    no_caps = render_subject(anatomy4, replace(healthy, noise=0.0, cap_strength=0.0))
    diff = with_caps.images["flair"] - no_caps.images["flair"]
    assert diff.max() > 0.2 * healthy.scale  # caps add FLAIR signal above WM
    assert not with_caps.mask.any()


def test_noise_sigma_measured_against_noiseless_render(anatomy4):
    _, subjects = sample_cohort(
        SynthConfig(kind="ms", n=12, voxel=4, seed=0, sites=3, noise=0.05), anatomy4
    )
    by_site = {s.site.name: s for s in subjects}
    assert len(by_site) >= 2
    for params in by_site.values():
        noisy = render_subject(anatomy4, params).images["flair"]
        clean = render_subject(anatomy4, replace(params, noise=0.0)).images["flair"]
        inner = (render_subject(anatomy4, params).brain > 0.99) & (clean > 0.5 * params.scale)
        measured = (noisy - clean)[inner].std() / params.scale
        assert measured == pytest.approx(params.noise, rel=0.1)


def test_size_shift_changes_brain_volume(anatomy8):
    def mean_volume(size_shift, label):
        _, subjects = sample_cohort(
            SynthConfig(kind="tumour", n=12, voxel=8, seed=1, size_shift=size_shift), anatomy8
        )
        return np.mean(
            [render_subject(anatomy8, s).brain.sum() for s in subjects if s.label == label]
        )

    assert mean_volume(0.15, 1) > 1.3 * mean_volume(0.15, 0)
    assert mean_volume(0.0, 1) == pytest.approx(mean_volume(0.0, 0), rel=0.1)


def test_atrophy_enlarges_csf(anatomy8):
    params = _patients(anatomy8, "ms")[0]
    csf0 = render_subject(anatomy8, replace(params, atrophy=0.0)).csf.sum()
    csf1 = render_subject(anatomy8, replace(params, atrophy=0.8)).csf.sum()
    assert csf1 > 1.2 * csf0
