"""Acquisition (site) and size augmentation: inside the brain only, seeded, off by default."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import distance_transform_edt

from lesionlens.data import make_augmentation
from lesionlens.data.acquisition import make_acquisition_augmentation
from lesionlens.training import TrainConfig

SITE_CUES = ("p_contrast", "p_bias", "p_noise", "p_blur")


def _sample(spatial: tuple[int, ...]) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    brain = torch.zeros((1, *spatial))
    brain[(0, *(slice(4, s - 4) for s in spatial))] = 1.0
    image = torch.randn((2, *spatial), generator=g) * brain - 3.0 * (1 - brain)  # background −3
    mask = ((image[:1] > 1.5) & (brain > 0)).float()
    return {"image": image, "mask": mask, "brain": brain}


def _only(name: str, spatial_dims: int, seed: int = 1):
    off = {"p_intensity": 0.0, "p_flip": 0.0, "p_elastic": 0.0}
    return make_augmentation(spatial_dims, seed=seed, **off, **{name: 1.0})


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", SITE_CUES)
def test_site_cues_change_the_brain_and_keep_the_background(name, spatial_dims):
    sample = _sample((24, 26, 20)[:spatial_dims])
    out = _only(name, spatial_dims)({k: v.clone() for k, v in sample.items()})
    image, before = torch.as_tensor(out["image"]).float(), sample["image"]
    inside = sample["brain"][0] > 0.5
    torch.testing.assert_close(image[:, ~inside], before[:, ~inside])  # background untouched
    assert (image[:, inside] - before[:, inside]).abs().mean() > 1e-3  # the brain did change
    np.testing.assert_array_equal(np.asarray(out["mask"]), sample["mask"].numpy())
    np.testing.assert_array_equal(np.asarray(out["brain"]), sample["brain"].numpy())


@pytest.mark.parametrize("name", SITE_CUES)
def test_each_channel_keeps_its_brain_mean_and_std(name):
    sample = _sample((40, 44))
    sample["image"][1] = sample["image"][1] * 2.0 + 0.5 * sample["brain"][0]  # other statistics
    inside = sample["brain"][0] > 0.5
    out = _only(name, 2)({k: v.clone() for k, v in sample.items()})
    after, before = torch.as_tensor(out["image"])[:, inside], sample["image"][:, inside]
    torch.testing.assert_close(after.mean(1), before.mean(1), atol=1e-4, rtol=0)
    torch.testing.assert_close(after.std(1), before.std(1), atol=1e-4, rtol=1e-4)


def test_noise_strength_is_drawn_up_to_its_std():
    sample = _sample((40, 44))
    inside = sample["brain"][0] > 0.5
    before = sample["image"][:, inside]
    augment = _only("p_noise", 2)
    noise_std = []
    for _ in range(20):
        noisy = torch.as_tensor(augment({k: v.clone() for k, v in sample.items()})["image"])
        noise_std.append(float((noisy[:, inside] - before).std()))
    assert max(noise_std) <= 0.15 * 1.1 and max(noise_std) > 0.05  # std drawn in [0, 0.15]


def test_zoom_changes_the_brain_size_with_image_and_masks_aligned():
    sample = _sample((48, 48, 40))
    augment = _only("p_zoom", 3, seed=2)
    sizes = []
    for _ in range(8):
        out = augment({k: v.clone() for k, v in sample.items()})
        brain = np.asarray(out["brain"])[0]
        assert set(np.unique(brain)) <= {0.0, 1.0} and set(np.unique(out["mask"])) <= {0.0, 1.0}
        image = np.asarray(out["image"])[0]
        far = distance_transform_edt(brain == 0) > 2  # bilinear image vs nearest brain edges
        np.testing.assert_allclose(image[far], -3.0, atol=1e-4)  # background away from the brain
        sizes.append(brain.sum() / sample["brain"].sum().item())
    assert min(sizes) < 0.95 and max(sizes) > 1.05  # ×[0.9, 1.1] per axis → volume ±27 %


def test_off_by_default_and_seeded():
    assert make_acquisition_augmentation(3) is None
    default = make_augmentation(3)
    assert not any(type(t).__name__ in ("InsideBrain", "RandZoomd") and t.prob > 0
                   for t in default.transforms if hasattr(t, "prob"))
    sample = _sample((20, 22, 18))

    def run(seed: int) -> list[np.ndarray]:
        augment = make_augmentation(3, seed=seed, **{name: 0.7 for name in SITE_CUES})
        return [np.asarray(augment({k: v.clone() for k, v in sample.items()})["image"])
                for _ in range(4)]

    first, again, other = run(5), run(5), run(6)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize(
    "kwargs",
    [{"p_noise": 1.5}, {"p_blur": -0.1}, {"noise_std": -1.0}, {"gamma_range": (1.5, 0.7)}],
)
def test_bad_acquisition_options_are_refused(kwargs):
    with pytest.raises(ValueError):
        make_acquisition_augmentation(2, **kwargs)


def test_train_config_checks_and_records_the_new_probabilities(tmp_path):
    with pytest.raises(ValueError, match="--p-zoom"):
        TrainConfig(p_zoom=2.0)
    cfg = TrainConfig(p_noise=0.5, p_zoom=0.3)
    cfg.save(tmp_path / "config.yaml")
    again = TrainConfig.load(tmp_path / "config.yaml")
    assert (again.p_noise, again.p_zoom, again.p_bias) == (0.5, 0.3, 0.0)
