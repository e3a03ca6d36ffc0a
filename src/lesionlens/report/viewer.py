"""Interactive slice viewer of one map over its scan: nilearn ``plotting.view_img``.

nilearn inlines jQuery, brainsprite.js and the sprites as base64 PNG; the only external
reference of its standalone page is a favicon on raw.githubusercontent.com, which is replaced
here by an empty data URI so that opening the report makes no network request.
"""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np

EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
_ICON_LINK = re.compile(r"<link\b[^>]*rel=[\"']icon[\"'][^>]*>", re.IGNORECASE | re.DOTALL)
OFFLINE_ICON = '<link rel="icon" href="data:,">'


def external_references(html: str) -> list[str]:
    """``src=``/``href=`` attributes pointing to another host (http(s) or protocol-relative)."""
    return [m.group(0) for m in EXTERNAL_URL.finditer(html)]


def viewer_html(
    scan: np.ndarray, attribution: np.ndarray, affine: np.ndarray, vmax: float, title: str
) -> str:
    """Standalone HTML page viewing ``attribution`` (X, Y, Z) over ``scan`` (X, Y, Z).

    Colours as the montages (``RdBu_r``, symmetric ±vmax, values under 0.1·vmax hidden).

    Raises:
        ValueError: shapes differ, or nilearn's page still references another host.
    """
    from nilearn import plotting

    if scan.shape != attribution.shape or scan.ndim != 3:
        raise ValueError(
            f"scan and map must be (X, Y, Z) of one shape, got {scan.shape} and {attribution.shape}"
        )
    view = plotting.view_img(
        nib.Nifti1Image(attribution.astype(np.float32), affine),
        bg_img=nib.Nifti1Image(scan.astype(np.float32), affine),
        cmap="RdBu_r",
        symmetric_cmap=True,
        vmax=float(vmax),
        threshold=0.1 * float(vmax),
        black_bg=False,
        dim=0,
        title=title,
        resampling_interpolation="nearest",
    )
    html = _ICON_LINK.sub(OFFLINE_ICON, view.get_standalone())
    external = external_references(html)
    if external:
        raise ValueError(f"nilearn's viewer references other hosts: {external[:3]}")
    return html
