"""lesionlens: brain MRI classifiers whose decisions rest on the lesions (Wargnier-Dauchelle, 2023).

Stages (data flows one way): cohort → preprocess → data → models / constraints / monotone →
training → attributions / explain → evaluation → report.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lesionlens")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
