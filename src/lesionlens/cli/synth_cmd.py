"""``lesionlens synth``: a phantom cohort on MNI152 anatomy (thin layer over lesionlens.synth)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, progress, user_errors_exit_2


@user_errors_exit_2
def synth(
    out: Path = typer.Argument(
        ..., help="Output folder (refused if it exists, unless --overwrite)."
    ),
    kind: str = typer.Option(
        ..., "--kind", help="Pathology: 'tumour' (one mass) or 'ms' (5-25 lesions)."
    ),
    n: int = typer.Option(..., "--n", help="Number of subjects (at least 6)."),
    voxel: int = typer.Option(2, "--voxel", help="Isotropic voxel size in mm: 1, 2, 4 or 8."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw; same seed, same files."),
    contrast: str = typer.Option(
        "flair", "--contrast", help="'flair', 't1' or 'both' (two channels)."
    ),
    sites: int = typer.Option(1, "--sites", help="Number of simulated scanners (site signatures)."),
    site_mode: str = typer.Option(
        "shared",
        "--site-mode",
        help="'shared': classes drawn from all sites; 'separate': "
        "healthy and patients from different sites.",
    ),
    swap_test_sites: bool = typer.Option(
        False,
        "--swap-test-sites",
        help="Shortcut test: in test, healthy get a patients' site and vice versa.",
    ),
    size_shift: float = typer.Option(
        0.0, "--size-shift", help="Relative change of patients' brain size (0.05 = +5%)."
    ),
    atrophy: float = typer.Option(
        0.0, "--atrophy", help="Extra atrophy of patients in [0, 1] (larger ventricles, sulci)."
    ),
    noise: float = typer.Option(
        0.03, "--noise", help="Median Rician noise sigma, fraction of WM intensity."
    ),
    bias: float = typer.Option(
        0.15, "--bias", help="Median bias-field strength (std of the log-field)."
    ),
    elastic_mm: float = typer.Option(
        3.0, "--elastic-mm", help="Elastic deformation amplitude (mm)."
    ),
    pathological_fraction: float = typer.Option(
        0.5, "--pathological-fraction", help="Fraction of patients (0.5 = balanced)."
    ),
    ratios: str = typer.Option(
        "0.6,0.2,0.2", "--ratios", help="Train,val,test fractions per class."
    ),
    preview: bool = typer.Option(
        False, "--preview", help="Also write OUT/preview.png (masks in red)."
    ),
    jobs: int = typer.Option(
        2, "--jobs", help="Worker processes, at most the CPU count (same files for any value)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT."),
) -> None:
    """Generate a phantom cohort: images, masks, manifest.csv and cohort.json in OUT."""
    from ..synth import SynthConfig
    from ..synth import synth as run_synth

    try:
        split_ratios = tuple(float(r) for r in ratios.split(","))
    except ValueError:
        raise ValueError(
            f"--ratios must be three numbers like 0.6,0.2,0.2, got {ratios!r}"
        ) from None
    config = SynthConfig(  # refuse bad options before the progress bar starts
        kind=kind, n=n, voxel=voxel, seed=seed, contrast=contrast, sites=sites,
        site_mode=site_mode, swap_test_sites=swap_test_sites, size_shift=size_shift,
        atrophy=atrophy, noise=noise, bias=bias, elastic_mm=elastic_mm,
        pathological_fraction=pathological_fraction, ratios=split_ratios,
    )  # fmt: skip
    with progress() as bar:
        task = bar.add_task("synth", total=n)
        run_synth(
            out, **config.to_dict(), preview=preview, overwrite=overwrite, jobs=jobs,
            on_subject=lambda _: bar.advance(task),
        )  # fmt: skip
    console.print(f"[green]ok[/green]: {n} subjects in {out} (manifest.csv, cohort.json)")
