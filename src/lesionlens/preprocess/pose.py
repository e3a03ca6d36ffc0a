"""Random scanner-like pose for round-trip checks: a volume on the template grid is resampled
onto an anisotropic grid whose header ignores a random rigid head motion (rotation, translation),
with a smooth multiplicative bias field — what preprocessing must undo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class Pose:
    rotation_deg: tuple[float, float, float]
    translation_mm: tuple[float, float, float]
    voxel_mm: tuple[float, float, float]


def scanner_pose(
    image: np.ndarray, mask: np.ndarray, affine: np.ndarray, *, seed: int,
    max_rotation_deg: float = 15.0, max_translation_mm: float = 20.0,
    voxel_mm: tuple[float, float, float] = (2.0, 2.0, 4.0), bias: float = 0.2,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Pose]:  # fmt: skip
    """→ (moved image, moved mask, header affine, pose). Image (X, Y, Z) on ``affine``."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(-max_rotation_deg, max_rotation_deg, 3)
    shift = rng.uniform(-max_translation_mm, max_translation_mm, 3)
    motion = np.eye(4)
    motion[:3, :3] = Rotation.from_euler("xyz", angles, degrees=True).as_matrix()
    motion[:3, 3] = shift
    extent = np.asarray(image.shape) * np.linalg.norm(affine[:3, :3], axis=0)
    shape = np.ceil(extent / np.asarray(voxel_mm)).astype(int)
    header = np.diag([*voxel_mm, 1.0])
    header[:3, 3] = affine[:3, 3]
    # header voxel → world (as claimed) → moved world → template voxel
    to_template = np.linalg.inv(affine) @ motion @ header
    coords = np.indices(shape).reshape(3, -1).astype(np.float64)
    src = to_template[:3, :3] @ coords + to_template[:3, 3:4]
    moved = ndimage.map_coordinates(image, src, order=1, mode="constant").reshape(shape)
    moved_mask = ndimage.map_coordinates(mask.astype(np.float32), src, order=1).reshape(shape)
    grid = np.indices(shape).astype(np.float64) / np.asarray(shape)[:, None, None, None]
    field = np.exp(bias * np.sin(np.pi * (grid * rng.uniform(0.5, 1.5, (3, 1, 1, 1))).sum(0)))
    pose = Pose(tuple(angles.round(2)), tuple(shift.round(2)), tuple(voxel_mm))  # type: ignore[arg-type]
    return (moved * field).astype(np.float32), moved_mask > 0.5, header, pose
