"""make_augmentation: alignment of image and masks, brightness range, flip, seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from lesionlens.data import SliceDataset, VolumeDataset, make_augmentation

from .conftest import LESION


def _sample(spatial: tuple[int, ...], lesion: tuple[slice, ...]) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    mask = torch.zeros((1, *spatial))
    mask[(0, *lesion)] = 1.0
    brain = torch.ones((1, *spatial))
    image = torch.rand((2, *spatial)) + 4.0 * mask
    return {"image": image, "mask": mask, "brain": brain}


def _only(name: str, spatial_dims: int, seed: int = 0, **kwargs):
    probabilities = {"p_intensity": 0.0, "p_flip": 0.0, "p_elastic": 0.0, name: 1.0}
    return make_augmentation(spatial_dims, seed=seed, **probabilities, **kwargs)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_flip_mirrors_image_mask_and_brain_left_right(spatial_dims):
    spatial, lesion = (12, 10, 8)[:spatial_dims], (slice(1, 4), slice(2, 5), slice(3, 6))
    sample = _sample(spatial, lesion[:spatial_dims])
    out = _only("p_flip", spatial_dims)({k: v.clone() for k, v in sample.items()})
    for key in ("image", "mask", "brain"):
        np.testing.assert_array_equal(np.asarray(out[key]), sample[key].flip(1).numpy())
    moved = out["mask"][0].nonzero()[:, 0]
    assert moved.min().item() == 12 - 4 and moved.max().item() == 12 - 2  # x 1..3 → 8..10


@pytest.mark.parametrize("seed", range(12))
def test_brightness_factor_is_one_constant_in_half_to_double(seed):
    sample = _sample((10, 12), (slice(2, 5), slice(3, 6)))
    out = _only("p_intensity", 2, seed=seed)({k: v.clone() for k, v in sample.items()})
    ratio = np.asarray(out["image"]) / sample["image"].numpy()
    assert 0.5 <= ratio.min() and ratio.max() <= 2.0
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(out["mask"]), sample["mask"].numpy())


def test_brightness_factors_spread_over_the_range():
    sample = _sample((6, 6), (slice(1, 2), slice(1, 2)))
    augment = _only("p_intensity", 2, seed=0)
    factors = [
        float(np.asarray(augment(dict(sample))["image"])[0, 0, 0] / sample["image"][0, 0, 0])
        for _ in range(40)
    ]
    assert min(factors) < 0.8 and max(factors) > 1.6


@pytest.mark.parametrize(
    ("spatial_dims", "spatial", "lesion"),
    [
        (2, (48, 48), (slice(14, 30), slice(18, 34))),
        (3, (24, 24, 24), (slice(6, 14), slice(8, 16), slice(7, 15))),
    ],
)
def test_elastic_deforms_image_and_mask_together(spatial_dims, spatial, lesion):
    mask = torch.zeros((1, *spatial))
    mask[(0, *lesion)] = 1.0
    sample = {"image": mask.clone(), "mask": mask.clone(), "brain": mask.clone()}
    out = _only("p_elastic", spatial_dims, seed=1)(sample)
    image, moved = np.asarray(out["image"])[0], np.asarray(out["mask"])[0]
    assert set(np.unique(moved)) <= {0.0, 1.0}  # nearest interpolation keeps the mask binary
    assert (moved != mask[0].numpy()).any()  # the shape did change
    agreement = (image > 0.5) == (moved > 0.5)
    assert agreement.mean() > 0.99
    np.testing.assert_array_equal(np.asarray(out["brain"]), np.asarray(out["mask"]))


def test_same_seed_same_sequence_other_seed_other_sequence():
    sample = _sample((16, 16, 12), LESION)

    def run(seed: int) -> list[np.ndarray]:
        augment = make_augmentation(3, seed=seed)
        outputs = [augment({k: v.clone() for k, v in sample.items()}) for _ in range(4)]
        return [np.asarray(out["image"]) for out in outputs]

    first, again, other = run(5), run(5), run(6)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_datasets_apply_it_reproducibly_and_return_plain_tensors(cohort_path):
    def items(seed: int) -> list[dict]:
        ds = VolumeDataset(cohort_path, split="train", transform=make_augmentation(3), seed=seed)
        return [ds[i % len(ds)] for i in range(6)]

    a, b = items(3), items(3)
    for x, y in zip(a, b, strict=True):
        assert type(x["image"]) is torch.Tensor and x["brain"].dtype == torch.bool
        torch.testing.assert_close(x["image"], y["image"])
        torch.testing.assert_close(x["mask"], y["mask"])

    slices = SliceDataset(cohort_path, split="train", transform=make_augmentation(2), seed=0)
    batch = next(iter(DataLoader(slices, batch_size=5)))
    assert batch["image"].shape[:2] == (5, 2) and type(batch["mask"]) is torch.Tensor


@pytest.mark.parametrize(
    "kwargs",
    [
        {"spatial_dims": 4},
        {"spatial_dims": 3, "p_flip": 1.5},
        {"spatial_dims": 2, "intensity_range": (2.0, 0.5)},
        {"spatial_dims": 2, "flip_axis": 2},
    ],
)
def test_bad_options_are_refused(kwargs):
    with pytest.raises(ValueError):
        make_augmentation(**kwargs)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_reseed_in_place_makes_every_transform_a_function_of_the_seed(spatial_dims):
    """All transforms on at p = 0.5, acquisition ones included: after ``reseed_in_place`` the
    output depends on the seed only (not on earlier draws), and the seed does drive it."""
    from lesionlens.data.reseed import random_states, reseed_in_place

    names = ("p_intensity", "p_flip", "p_elastic", "p_contrast", "p_bias", "p_noise", "p_blur",
             "p_zoom")
    aug = make_augmentation(spatial_dims, seed=0, **dict.fromkeys(names, 0.5))
    assert len(random_states(aug)) >= len(names)
    spatial = (12, 14, 10)[:spatial_dims]
    sample = _sample(spatial, tuple(slice(3, 6) for _ in spatial))

    def draw(seed: int) -> torch.Tensor:
        reseed_in_place(aug, seed)
        out = aug({k: v.clone() for k, v in sample.items()})
        return torch.cat([torch.as_tensor(out[k]).float() for k in ("image", "mask", "brain")])

    first = draw(7)
    for seed in range(3):
        draw(seed)
    aug.set_random_state(seed=99)
    torch.testing.assert_close(draw(7), first)
    assert any(not torch.equal(draw(s), first) for s in range(8, 12))


def _as_run_before(augment):
    """The same transforms with the probability-0 ones run (the Compose before ``Inactive``)."""
    from monai.transforms import Compose

    from lesionlens.data.augmentation import Inactive

    return Compose([t.transform if isinstance(t, Inactive) else t for t in augment.transforms])


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize(
    "probabilities",
    [dict(p_elastic=0.0, p_zoom=0.5, p_noise=0.5), dict(p_elastic=0.5, p_zoom=0.0)],
    ids=["zoom-only", "elastic-only"],
)
def test_probability_zero_transforms_are_skipped_without_moving_any_draw(
    spatial_dims, probabilities
):
    """Elastic / zoom at probability 0 are not run (MONAI would resample on an identity grid),
    and every other transform draws as if they were: by ``Compose.set_random_state`` and by the
    per-item ``reseed_in_place``."""
    from lesionlens.data.augmentation import Inactive
    from lesionlens.data.reseed import reseed_in_place

    spatial = (24, 24) if spatial_dims == 2 else (16, 16, 12)
    lesion = LESION[:spatial_dims]
    sample = _sample(spatial, lesion)
    augment = make_augmentation(spatial_dims, seed=4, **probabilities)
    assert sum(isinstance(t, Inactive) for t in augment.transforms) == 1
    before = _as_run_before(make_augmentation(spatial_dims, seed=0, **probabilities))
    before.set_random_state(seed=4)  # as make_augmentation seeded the Compose before
    for step in range(6):
        if step >= 3:  # per-item seeds, as the training sampler's keys do
            reseed_in_place(augment, 100 + step)
            reseed_in_place(before, 100 + step)
        got = augment({k: v.clone() for k, v in sample.items()})
        expected = before({k: v.clone() for k, v in sample.items()})
        for key in ("image", "mask", "brain"):
            torch.testing.assert_close(torch.as_tensor(got[key]), torch.as_tensor(expected[key]),
                                       rtol=0, atol=1e-6)


def test_items_are_augmented_as_with_monai_metadata_tracking(cohort_path):
    """Datasets run the transform on plain tensors (no ``MetaTensor`` bookkeeping, which items
    drop): same values as with MONAI's default tracking, which is restored afterwards."""
    from monai.data import get_track_meta

    from lesionlens.data import SeededIndex
    from lesionlens.data.reseed import reseed_in_place

    kwargs = dict(p_elastic=0.5, p_zoom=0.5, p_noise=0.5, p_bias=0.5, p_flip=0.5)
    ds = VolumeDataset(cohort_path, split="train", transform=make_augmentation(3, **kwargs))
    plain = VolumeDataset(cohort_path, split="train")
    reference = make_augmentation(3, **kwargs)
    assert get_track_meta()
    for i in range(4):
        item = ds[SeededIndex(i % len(ds), 7 + i)]
        assert get_track_meta()
        raw = plain[i % len(ds)]
        reseed_in_place(reference, 7 + i)
        out = reference({"image": raw["image"], "mask": raw["mask"],
                         "brain": raw["brain"].float()})
        assert type(out["image"]).__name__ == "MetaTensor"
        torch.testing.assert_close(item["image"], out["image"].as_tensor(), rtol=0, atol=0)
        torch.testing.assert_close(item["mask"], out["mask"].as_tensor(), rtol=0, atol=0)
