"""Training augmentation of the thesis (§III.3) as MONAI dictionary transforms.

Three random transforms, each applied with its own probability:

1. brightness: ``image × U[0.5, 2]`` (``RandScaleIntensityd``, factor ``1 + U[lo - 1, hi - 1]``);
2. left–right mirror about the sagittal plane (``RandFlipd`` on spatial axis 0, the x axis of
   RAS voxel order; for axial slices also their first axis);
3. elastic deformation of the brain's shape [Isensee et al., 2020] (``Rand3DElasticd`` /
   ``Rand2DElasticd``; the defaults move voxels by about 1–4 voxels).

Spatial transforms move ``image``, ``mask`` and ``brain`` together (masks with nearest
interpolation); the brightness factor touches ``image`` only. The thesis gives no probabilities;
0.5 each is our default. Given ``seed`` the sequence of outputs is reproducible.

Against site and brain-size shortcuts (not in the thesis; default off) the same call adds the
acquisition transforms of :mod:`lesionlens.data.acquisition` (contrast, bias field, noise, blur,
inside the brain, applied first) and a random isotropic zoom (``RandZoomd``, factor in
``zoom_range``, grid size kept), which changes the brain's apparent size.
"""

from __future__ import annotations

from monai.transforms import (
    Compose,
    Rand2DElasticd,
    Rand3DElasticd,
    RandFlipd,
    Randomizable,
    RandScaleIntensityd,
    RandZoomd,
)

from .acquisition import make_acquisition_augmentation

SPATIAL_KEYS = ("image", "mask", "brain")
ELASTIC_MODES = ("bilinear", "nearest", "nearest")


class Inactive(Randomizable):
    """A random transform at probability 0, kept in its place but not run.

    MONAI's elastic and zoom transforms resample every key on an identity grid even when they
    draw "do not apply" (≈ 6 and 3 ms per 4 mm slice here, most of an item's augmentation);
    skipping them returns the input unchanged. The wrapped transform is still seeded as before
    (``Compose.set_random_state`` draws a seed for it, ``data.reseed.reseed_in_place`` finds
    its states in the same traversal order), so every other transform makes the same draws as
    when it was run."""

    def __init__(self, transform: Randomizable) -> None:
        self.transform = transform
        self.R = None  # its own states are the wrapped transform's

    def set_random_state(self, seed: int | None = None, state=None) -> Inactive:
        self.transform.set_random_state(seed=seed, state=state)
        return self

    def randomize(self, data=None) -> None:
        return None

    def __call__(self, data):
        return data

    def __repr__(self) -> str:
        return f"Inactive({type(self.transform).__name__})"


def _check_probability(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")


def _check_range(name: str, bounds: tuple[float, float], low: float) -> None:
    if len(bounds) != 2 or not low <= bounds[0] <= bounds[1]:
        raise ValueError(f"{name} must be (min, max) with {low} <= min <= max, got {bounds}")


def make_augmentation(
    spatial_dims: int,
    p_intensity: float = 0.5,
    p_flip: float = 0.5,
    p_elastic: float = 0.5,
    intensity_range: tuple[float, float] = (0.5, 2.0),
    flip_axis: int = 0,
    elastic_sigma: tuple[float, float] = (5.0, 8.0),
    elastic_spacing: tuple[float, float] = (20.0, 20.0),
    elastic_magnitude: tuple[float, float] | None = None,
    seed: int = 0,
    p_contrast: float = 0.0,
    p_bias: float = 0.0,
    p_noise: float = 0.0,
    p_blur: float = 0.0,
    p_zoom: float = 0.0,
    zoom_range: tuple[float, float] = (0.9, 1.1),
) -> Compose:
    """Build the brightness / flip / elastic augmentation for ``{"image", "mask", "brain"}`` dicts.

    Args:
        spatial_dims: 3 for volumes ``(C, X, Y, Z)``, 2 for slices ``(C, X, Y)``.
        p_intensity, p_flip, p_elastic: probability of each transform.
        intensity_range: bounds of the uniform brightness factor.
        flip_axis: spatial axis mirrored (0 = left–right in RAS order).
        elastic_sigma: 3-D only, smoothing of the displacement field (voxels).
        elastic_spacing: 2-D only, spacing of the B-spline control grid (pixels).
        elastic_magnitude: displacement scale; default (100, 200) in 3-D, (1, 2) in 2-D.
        seed: seed of the random state.
        p_contrast, p_bias, p_noise, p_blur: probabilities of the acquisition transforms
            (:func:`~lesionlens.data.acquisition.make_acquisition_augmentation`; default off).
        p_zoom, zoom_range: probability and bounds of the random isotropic zoom (default off).

    Returns:
        A MONAI ``Compose`` (call it on a dict; ``set_random_state`` re-seeds it).

    Raises:
        ValueError: bad dimension, probability or range.
    """
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
    if flip_axis not in range(spatial_dims):
        raise ValueError(f"flip_axis must be in [0, {spatial_dims - 1}], got {flip_axis!r}")
    for name, p in (
        ("p_intensity", p_intensity), ("p_flip", p_flip), ("p_elastic", p_elastic),
        ("p_zoom", p_zoom),
    ):
        _check_probability(name, p)
    _check_range("intensity_range", intensity_range, 0.0)
    _check_range("zoom_range", zoom_range, 1e-3)
    acquisition = make_acquisition_augmentation(
        spatial_dims, p_contrast=p_contrast, p_bias=p_bias, p_noise=p_noise, p_blur=p_blur
    )
    lo, hi = intensity_range
    if spatial_dims == 3:
        magnitude = elastic_magnitude or (100.0, 200.0)
        _check_range("elastic_sigma", elastic_sigma, 0.0)
        _check_range("elastic_magnitude", magnitude, 0.0)
        elastic = Rand3DElasticd(
            keys=SPATIAL_KEYS,
            sigma_range=elastic_sigma,
            magnitude_range=magnitude,
            prob=p_elastic,
            mode=ELASTIC_MODES,
            padding_mode="border",
        )
    else:
        magnitude = elastic_magnitude or (1.0, 2.0)
        _check_range("elastic_magnitude", magnitude, 0.0)
        elastic = Rand2DElasticd(
            keys=SPATIAL_KEYS,
            spacing=elastic_spacing,
            magnitude_range=magnitude,
            prob=p_elastic,
            mode=ELASTIC_MODES,
            padding_mode="border",
        )
    zoom = RandZoomd(
        keys=SPATIAL_KEYS,
        prob=p_zoom,
        min_zoom=zoom_range[0],
        max_zoom=zoom_range[1],
        mode=ELASTIC_MODES,
        padding_mode="edge",
        keep_size=True,
    )
    transform = Compose(
        [
            *([acquisition] if acquisition is not None else []),
            RandScaleIntensityd(keys="image", factors=(lo - 1.0, hi - 1.0), prob=p_intensity),
            RandFlipd(keys=SPATIAL_KEYS, prob=p_flip, spatial_axis=flip_axis),
            elastic if p_elastic > 0 else Inactive(elastic),
            zoom if p_zoom > 0 else Inactive(zoom),
        ]
    )
    transform.set_random_state(seed=seed)
    return transform
