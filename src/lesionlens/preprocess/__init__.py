"""MRI preprocessing (thesis ch. 1 §III.2) and dataset importers.

- :func:`import_cohort`: BraTS / MSSEG / IXI / BIDS / two-folder layouts → cohort manifest.
- :func:`preprocess`: RAS, affine registration to MNI152 (ANTsPy, guarded initialisation),
  brain extraction, optional N4 and tissue maps, brain z-score, QC; parallel and resumable.
- :func:`export_slices`: the 2-D BraTS slice cohort (10 central axial slices, 224²).
"""

from .importers import IMPORTERS, ImportResult, import_cohort
from .pipeline import PreprocessResult, preprocess
from .slices2d import export_slices, match_histogram
from .subject import PreprocessOptions, RegistrationFailed, preprocess_subject
from .template import TemplateSpace, load_template

__all__ = [
    "IMPORTERS",
    "ImportResult",
    "PreprocessOptions",
    "PreprocessResult",
    "RegistrationFailed",
    "TemplateSpace",
    "export_slices",
    "import_cohort",
    "load_template",
    "match_histogram",
    "preprocess",
    "preprocess_subject",
]
