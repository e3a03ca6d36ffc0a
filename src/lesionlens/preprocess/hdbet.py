"""Optional HD-BET brain extraction [Isensee et al., 2019], the thesis' skull stripper.

HD-BET is not a dependency: the user installs it (``pip install hd-bet``) with its weights. The
check runs before any subject is processed, so a missing install is one clear error.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..io import read_volume, write_nifti


def check_hd_bet() -> str:
    """Path of the ``hd-bet`` executable, or a ValueError saying how to install it."""
    exe = shutil.which("hd-bet")
    if exe is None:
        raise ValueError(
            "--brain-extraction hd-bet needs the 'hd-bet' command (pip install hd-bet, then let it "
            "download its weights once); it was not found on PATH. Use --brain-extraction "
            "template instead"
        )
    return exe


def hd_bet_mask(image: np.ndarray, affine: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    """Brain mask (X, Y, Z bool) predicted by HD-BET on a T1 in template space."""
    exe = check_hd_bet()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "t1.nii.gz", Path(tmp) / "bet.nii.gz"
        write_nifti(src, image, affine)
        cmd = [exe, "-i", str(src), "-o", str(dst), "-device", device, "-mode", "fast", "-tta", "0"]
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        masks = sorted(Path(tmp).glob("bet*mask*.nii.gz"))
        if run.returncode != 0 or not masks:
            tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"hd-bet failed (exit {run.returncode}): {tail[0]}")
        mask, _ = read_volume(masks[0])
    return mask > 0.5
