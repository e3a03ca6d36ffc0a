"""``lesionlens bench science --suite constraint``: the thesis' Table 5.4/5.5 on phantoms (ch. 5).

Cohort: ``synth --kind tumour`` with site and brain-size confounders (healthy and patients from
different simulated scanners, as in the thesis' own datasets), tested twice — on a test split from
the training sites (the thesis' setting) and on one whose sites are swapped (the shortcut test).
Rows: each method × test mode with Dice at the max-F1 validation threshold, voxel AUROC/AUPRC,
classification TPR/TNR/balanced accuracy, and the plain intensity-threshold floor.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from . import SCIENCE

FULL_METHODS: dict[str, dict[str, Any]] = {
    "none": dict(method="none"),
    "unsup-g": dict(method="unsup", attribution="g"),
    "unsup-eg": dict(method="unsup", attribution="eg"),
    "unsup-ig": dict(method="unsup", attribution="ig"),
    "unsup-ieg": dict(method="unsup", attribution="ieg"),
    "ross": dict(method="ross", attribution="g"),
    "erion": dict(method="erion", attribution="eg"),
    "supervised-unet": dict(method="supervised-unet"),
    "monotone": dict(method="monotone"),  # ch. 6: counterfactual maps, best channel on val
}
# counterfactual search per subject; the thesis' Adam lr 1e-5 barely moves α in 1000 steps here
COUNTERFACTUAL = {"steps": 300, "lr": 1e-2}
QUICK_METHODS = {k: FULL_METHODS[k] for k in ("none", "unsup-g")}


def cohort_options(quick: bool) -> dict[str, Any]:
    return dict(kind="tumour", n=40 if quick else 160, voxel=8 if quick else 4, seed=0,
                sites=2, site_mode="separate", size_shift=0.05)


def run_constraint_table(
    root: Path, *, quick: bool, device: str = "cpu", training: dict[str, Any] | None = None,
    methods: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Train each method on the same-site cohort and score it on both test modes."""
    from ..evaluation import evaluate
    from ..explain import explain, intensity_maps
    from ..synth import synth
    from ..training import TrainConfig, train

    opts = cohort_options(quick)
    same = synth(root / "same-site", jobs=2, **opts)
    swapped = synth(root / "swapped", jobs=2, swap_test_sites=True, **opts)
    train_opts = dict(max_epochs=3 if quick else 40, width=8 if quick else 32, patience=10,
                      accelerator="gpu" if device.startswith("cuda") else "cpu") | (training or {})
    rows: list[dict[str, Any]] = []

    def score(name: str, maps_val: Path, maps: dict[str, Path], seconds: float) -> None:
        for mode, (cohort, maps_test) in maps.items():
            m = evaluate(maps_test, cohort, split="test", val_maps=maps_val, threshold="val-f1")
            rows.append({"method": name, "test": mode, "dice": m["dice_mean"],
                         "dice_std": m["dice_std"], "auroc": m["auroc"], "auprc": m["auprc"],
                         "tpr": m["tpr"], "tnr": m["tnr"], "bacc": m["balanced_accuracy"],
                         "seconds": round(seconds, 1)})

    t0 = time.perf_counter()
    val = intensity_maps(same, root / "intensity" / "val", split="val")
    tests = {"same-site": (same, intensity_maps(same, root / "intensity" / "same", split="test")),
             "swapped": (swapped, intensity_maps(swapped, root / "intensity" / "swap",
                                                 split="test"))}
    score("intensity-threshold", val, tests, time.perf_counter() - t0)
    for name, method in (methods or (QUICK_METHODS if quick else FULL_METHODS)).items():
        t0 = time.perf_counter()
        run = train(same, root / "runs" / name, TrainConfig(**method, **train_opts),
                    progress=False)
        # maps by G for every attribution-trained method (thesis Conjecture 1: G- and EG-trained
        # models give equivalent G maps); the U-Net's map is its own segmentation logit; the
        # monotone network's is its counterfactual α (8 channels, the best chosen on val)
        kw: dict[str, Any] = dict(attribution="g")
        if method["method"] == "monotone":
            kw = dict(attribution="counterfactual", options=COUNTERFACTUAL)
        val = explain(run, same, root / name / "val", split="val", **kw)
        tests = {"same-site": (same, explain(run, same, root / name / "same", split="test", **kw)),
                 "swapped": (swapped, explain(run, swapped, root / name / "swap", split="test",
                                              **kw))}
        score(name, val, tests, time.perf_counter() - t0)
    return rows


@SCIENCE.register("constraint")
def constraint_table(device: str, quick: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="lesionlens-science-") as tmp:
        return run_constraint_table(Path(tmp), quick=quick, device=device)
