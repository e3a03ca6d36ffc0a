"""Acquisition augmentation: randomise the cues a scanner leaves, inside the brain only.

A classifier trained on healthy controls from one site and patients from another can separate
them by the site's noise level, bias field, contrast or resolution instead of the lesion (thesis
ch. 4, the shortcut; issue #3 asks for "augmentation that randomises acquisition and size
cues"). These MONAI dictionary transforms, each with its own probability, draw such cues at
random for every training image so that none of them stays informative:

1. contrast: gamma in ``gamma_range`` (``RandAdjustContrastd``);
2. bias: a smooth multiplicative field, polynomial degree 3, coefficients in ``bias_range``
   (``RandBiasFieldd``; applied to the standardised image);
3. noise: additive Gaussian noise, std drawn in ``[0, noise_std]`` (``RandGaussianNoised``);
4. blur: Gaussian smoothing, σ per axis in ``blur_sigma`` voxels (``RandGaussianSmoothd``) —
   changes the apparent resolution and the noise texture.

They act on ``image`` only and leave every voxel outside ``brain`` as it was, so the background
stays constant (the networks see it as "no brain"); afterwards each channel's brain voxels get
back their mean and standard deviation, as :func:`~lesionlens.data.loading.standardise` would
give a scan from that simulated scanner. Size cues (brain volume) are randomised by
:data:`zoom` in :func:`~lesionlens.data.augmentation.make_augmentation`, a spatial transform.

Shape convention: ``image`` ``(C, *spatial)``, ``brain`` ``(1, *spatial)``; 2-D or 3-D.
"""

from __future__ import annotations

from typing import Any

import torch
from monai.transforms import (
    Compose,
    MapTransform,
    RandAdjustContrastd,
    RandBiasFieldd,
    RandGaussianNoised,
    RandGaussianSmoothd,
    Randomizable,
)

ACQUISITION_PROBABILITIES = ("p_contrast", "p_bias", "p_noise", "p_blur")


class InsideBrain(Randomizable, MapTransform):
    """Apply intensity ``transforms`` to ``image``, restore the voxels outside ``brain`` and give
    each channel's brain voxels back their mean and standard deviation."""

    def __init__(self, transforms: list) -> None:
        MapTransform.__init__(self, keys="image")
        self.inner = Compose(transforms)

    def set_random_state(self, seed: int | None = None, state=None) -> InsideBrain:
        self.inner.set_random_state(seed=seed, state=state)
        return self

    def randomize(self, data: Any = None) -> None:  # the inner transforms draw their own
        pass

    def __call__(self, data: dict) -> dict:
        before = torch.as_tensor(data["image"])
        out = self.inner(dict(data))
        inside = (torch.as_tensor(data["brain"]) > 0.5)[0]
        image = torch.as_tensor(out["image"]).to(before.dtype).clone()
        if inside.any():
            for c in range(image.shape[0]):
                new, old = image[c][inside], before[c][inside]
                std = new.std(unbiased=False)
                scale = old.std(unbiased=False) / std if std > 0 else 1.0
                image[c][inside] = (new - new.mean()) * scale + old.mean()
        out["image"] = torch.where(inside, image, before)
        return out


def make_acquisition_augmentation(
    spatial_dims: int,
    p_contrast: float = 0.0,
    p_bias: float = 0.0,
    p_noise: float = 0.0,
    p_blur: float = 0.0,
    gamma_range: tuple[float, float] = (0.7, 1.5),
    bias_range: tuple[float, float] = (0.0, 0.3),
    noise_std: float = 0.15,
    blur_sigma: tuple[float, float] = (0.25, 1.0),
) -> InsideBrain | None:
    """The contrast / bias / noise / blur transforms of the module docstring, or ``None`` when
    every probability is 0. Ranges are in the units of the standardised image (z-scores) and
    voxels. Raises ``ValueError`` on a bad probability or range."""
    probabilities = (p_contrast, p_bias, p_noise, p_blur)
    for name, p in zip(ACQUISITION_PROBABILITIES, probabilities, strict=True):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    for name, (lo, hi) in (
        ("gamma_range", gamma_range), ("bias_range", bias_range), ("blur_sigma", blur_sigma)
    ):
        if not 0.0 <= lo <= hi:
            raise ValueError(f"{name} must be (min, max) with 0 <= min <= max, got {(lo, hi)}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    if not any((p_contrast, p_bias, p_noise, p_blur)):
        return None
    sigma = {f"sigma_{axis}": blur_sigma for axis in "xyz"[:spatial_dims]}
    return InsideBrain(
        [
            RandAdjustContrastd("image", prob=p_contrast, gamma=gamma_range),
            RandBiasFieldd("image", prob=p_bias, coeff_range=bias_range),
            RandGaussianNoised("image", prob=p_noise, std=noise_std),
            RandGaussianSmoothd("image", prob=p_blur, **sigma),
        ]
    )
