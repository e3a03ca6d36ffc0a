"""Phantom cohorts on real anatomy: MNI152 tissue maps, lesions, scanner signatures, confounders.

Random sampling (:func:`sample_cohort` → :class:`SubjectParams`) is split from deterministic
rendering (:func:`render_subject`); :func:`synth` writes a cohort per the manifest contract.
"""

from .anatomy import Anatomy, load_anatomy
from .api import synth
from .config import SynthConfig
from .params import Lesion, SiteSignature, SubjectParams
from .preview import preview_montage
from .render import Rendered, render_subject
from .sampling import sample_cohort

__all__ = [
    "Anatomy",
    "Lesion",
    "Rendered",
    "SiteSignature",
    "SubjectParams",
    "SynthConfig",
    "load_anatomy",
    "preview_montage",
    "render_subject",
    "sample_cohort",
    "synth",
]
