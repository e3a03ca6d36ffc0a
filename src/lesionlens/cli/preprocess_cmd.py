"""``lesionlens import`` and ``lesionlens preprocess`` (thin layers over lesionlens.preprocess)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, progress, user_errors_exit_2


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, got {text!r}") from None


@user_errors_exit_2
def import_(
    kind: str = typer.Argument(..., help="Layout: brats, msseg, ixi, bids or folder."),
    src: Path = typer.Argument(..., help="Dataset folder."),
    out: Path = typer.Argument(..., help="Output folder for manifest.csv (and masks/)."),
    label: int = typer.Option(None, "--label", help="Label of every subject: 0 or 1."),
    modalities: str = typer.Option(
        None, "--modalities", help="Channels in order, e.g. 'flair,t1' (default per layout)."
    ),
    ratios: str = typer.Option("0.6,0.2,0.2", "--ratios", help="Train,val,test fractions."),
    seed: int = typer.Option(0, "--seed", help="Seed of the stratified split."),
    copy: bool = typer.Option(False, "--copy", help="Copy images into OUT/images."),
    link: bool = typer.Option(False, "--link", help="Hard-link images into OUT/images."),
    site: str = typer.Option(None, "--site", help="Site of every subject (default: layout)."),
    label_column: str = typer.Option(
        None, "--label-column", help="bids: participants.tsv column holding the label."
    ),
    label_map: str = typer.Option(
        None, "--label-map", help="bids: value mapping, e.g. 'control=0,patient=1'."
    ),
    site_column: str = typer.Option(None, "--site-column", help="bids: participants.tsv site."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT."),
) -> None:
    """Write a cohort manifest over a public dataset's files (no copies unless asked)."""
    from ..preprocess import import_cohort

    if copy and link:
        raise ValueError("choose one of --copy and --link")
    mapping = None
    if label_map:
        try:
            mapping = {k.strip(): int(v) for k, v in (p.split("=") for p in label_map.split(","))}
        except ValueError:
            raise ValueError(f"--label-map must look like 'a=0,b=1', got {label_map!r}") from None
    files = "copy" if copy else "link" if link else "absolute"
    layout = {"label_column": label_column, "label_map": mapping, "site_column": site_column}
    result = import_cohort(
        kind, src, out, label=label, seed=seed, site=site, overwrite=overwrite,
        modalities=tuple(m.strip() for m in modalities.split(",")) if modalities else None,
        ratios=_floats(ratios, "--ratios"), files=files,
        **{k: v for k, v in layout.items() if v is not None},
    )  # fmt: skip
    for message in result.warnings:
        console.print(f"[yellow]warning[/yellow]: {message}")
    console.print(f"[green]ok[/green]: {len(result.subjects)} subjects in {result.manifest}")


@user_errors_exit_2
def preprocess(
    cohort: Path = typer.Argument(..., help="Cohort manifest CSV or folder with manifest.csv."),
    out: Path = typer.Argument(..., help="Output folder (resumed if it holds the same run)."),
    voxel: int = typer.Option(2, "--voxel", help="MNI152 output grid in mm: 1 or 2 (4: tests)."),
    n4: bool = typer.Option(False, "--n4/--no-n4", help="N4 bias correction (off for tumours)."),
    tissue_maps: bool = typer.Option(False, "--tissue-maps", help="Atropos CSF/GM/WM maps."),
    brain_extraction: str = typer.Option(
        "template", "--brain-extraction", help="'template' (MNI mask + intensity) or 'hd-bet'."
    ),
    isotropic: float = typer.Option(
        None, "--isotropic", help="Resample to this isotropic voxel (mm) before registration."
    ),
    min_ncc: float = typer.Option(0.25, "--min-ncc", help="Fail subjects below this NCC."),
    jobs: int = typer.Option(1, "--jobs", help="Worker processes."),
    seed: int = typer.Option(0, "--seed", help="Seed of ANTs' metric sampling."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start OUT afresh."),
) -> None:
    """Register to MNI152, skull-strip, [N4], z-score: a cohort in, a cohort out."""
    from ..cohort import read_manifest
    from ..preprocess import preprocess as run_preprocess
    from ..preprocess.pipeline import read_subjects_lenient

    n = len(read_subjects_lenient(cohort))
    with progress() as bar:
        task = bar.add_task("preprocess", total=n)
        result = run_preprocess(
            cohort, out, voxel=voxel, n4=n4, tissue_maps=tissue_maps,
            brain_extraction=brain_extraction, isotropic_mm=isotropic, min_ncc=min_ncc,
            jobs=jobs, seed=seed, overwrite=overwrite, on_subject=lambda _: bar.advance(task),
        )  # fmt: skip
    for sid, reason in result.failures.items():
        console.print(f"[red]failed[/red] {sid}: {reason}")
    if result.manifest is None:
        raise ValueError(f"every subject failed; see {result.out / 'failures.csv'}")
    read_manifest(result.manifest)
    console.print(
        f"[green]ok[/green]: {len(result.done)} done, {len(result.skipped)} already done, "
        f"{len(result.failures)} failed → {result.manifest}"
    )


@user_errors_exit_2
def slices(
    cohort: Path = typer.Argument(..., help="Preprocessed 3-D cohort (e.g. BraTS)."),
    out: Path = typer.Argument(..., help="Output folder of the 2-D slice cohort."),
    n_slices: int = typer.Option(10, "--n-slices", help="Central axial slices per volume."),
    size: int = typer.Option(224, "--size", help="Output slice size (pixels)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the histogram reference slice."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT."),
) -> None:
    """2-D slice cohort: healthy slices (no tumour) vs tumour > 0.1 %, CDF-matched, resized."""
    from ..preprocess import export_slices

    rows = export_slices(cohort, out, n_slices=n_slices, size=size, seed=seed,
                         overwrite=overwrite)  # fmt: skip
    console.print(f"[green]ok[/green]: {len(rows)} slices in {out}")
