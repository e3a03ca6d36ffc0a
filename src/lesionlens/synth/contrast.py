"""Tissue and lesion intensities relative to white matter (WM = 1), FLAIR-like and T1-like.

Thesis Ch. 1 §II: FLAIR suppresses CSF (dark) and shows GM brighter than WM; T1 shows WM brighter
than GM and CSF dark. MS lesions are hyperintense on FLAIR and hypointense on T1 ("black holes");
gliomas are hyperintense on FLAIR (oedema, infiltration) and hypointense on T1, with a necrotic
core. Lesion ranges are ``(level 0, level 1)`` pairs and deliberately overlap GM and the
periventricular caps, so that a plain intensity threshold cannot segment them.
"""

from __future__ import annotations

TISSUE = {
    "flair": {"csf": 0.12, "gm": 1.35, "wm": 1.0, "cap": 1.45, "choroid": 1.05},
    "t1": {"csf": 0.25, "gm": 0.62, "wm": 1.0, "cap": 0.92, "choroid": 0.6},
}
LESION = {
    "flair": {"ms": (1.3, 1.9), "oedema": (1.5, 1.9), "bulk": (1.35, 1.7), "core": (0.75, 1.2)},
    "t1": {"ms": (0.85, 0.5), "oedema": (0.8, 0.65), "bulk": (0.7, 0.55), "core": (0.45, 0.25)},
}


def site_level(value: float, contrast: float) -> float:
    """A site's contrast scales every tissue's difference to WM: ``1 + c (value - 1)``."""
    return 1.0 + contrast * (value - 1.0)


def tissue_level(channel: str, tissue: str, contrast: float) -> float:
    return site_level(TISSUE[channel][tissue], contrast)


def lesion_level(channel: str, compartment: str, level: float, contrast: float) -> float:
    lo, hi = LESION[channel][compartment]
    return site_level(lo + level * (hi - lo), contrast)
