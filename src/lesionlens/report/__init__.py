"""HTML report: cohort summary, training curves, comparison table, Dice-vs-threshold curves,
attribution histograms (thesis Fig. 5.9), per-subject montages and interactive viewers."""

from .build import cohort_summary, pick_subjects, report
from .inputs import resolve_inputs
from .montage import overlay_rgba, subject_montage
from .viewer import external_references, viewer_html

__all__ = [
    "cohort_summary",
    "external_references",
    "overlay_rgba",
    "pick_subjects",
    "report",
    "resolve_inputs",
    "subject_montage",
    "viewer_html",
]
