"""``lesionlens train`` and ``lesionlens explain``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, progress, user_errors_exit_2


@user_errors_exit_2
def train(
    cohort: Path = typer.Argument(..., help="Manifest CSV, or the folder holding manifest.csv."),
    out: Path = typer.Argument(..., help="Run directory to write."),
    method: str = typer.Option(
        "none", help="none | unsup | sup | unsup-tv | ross | erion | supervised-unet | monotone..."
    ),
    attribution: str = typer.Option(
        "g", help="Attribution inside the constraint: g | eg | ig | ieg."
    ),
    model: str = typer.Option(
        "patchgan",
        help="Classifier: patchgan | patchcnn (small patches, max) | resnet18 ... resnet152.",
    ),
    dim: int = typer.Option(3, help="2 (axial slices) or 3 (volumes)."),
    width: int = typer.Option(32, help="Width of the first layer (thesis PatchGAN: 64)."),
    norm: str = typer.Option(None, help="batch | instance | none (default: the model's own)."),
    depth: int = typer.Option(
        None,
        help="PatchGAN stride-2 layers (thesis 4; fewer = smaller patches on coarse grids) / "
        "PatchCNN levels (default 2: 11-voxel patches).",
    ),
    pool: str = typer.Option(
        None, help="Patch pooling: mean (PatchGAN, thesis) | max (PatchCNN) | lse (smooth max)."
    ),
    alpha: str = typer.Option(
        None,
        help="Constraint weight α_A: a number, or auto (the weight balancing the BCE's and the "
        "constraint's gradients at initialisation, times --alpha-factor; lesionlens addition). "
        "Default: the thesis value for the attribution.",
    ),
    alpha_factor: float = typer.Option(
        1.0, help="With --alpha auto: multiple of the balanced weight."
    ),
    scale_free: bool = typer.Option(
        False,
        "--scale-free/--no-scale-free",
        help="Constrain A/mean|A| instead of raw attributions (lesionlens variant; use --alpha 1).",
    ),
    batch_statistics: str = typer.Option(
        None,
        help="Constrained methods, BatchNorm in the constraint pass: shared (thesis code: G "
        "reuses the classification forward) | frozen (the classification pass' statistics as "
        "constants; per-image maps, cheaper).",
    ),
    encoder_norm: str = typer.Option(
        None, help="Monotone methods: encoder normalisation instance (thesis) | none."
    ),
    encoder_last_activation: bool = typer.Option(
        None,
        "--encoder-last-activation/--no-encoder-last-activation",
        help="Monotone methods: LeakyReLU on the interpretable features (thesis: yes).",
    ),
    encoder_bias: bool = typer.Option(
        None,
        "--encoder-bias/--no-encoder-bias",
        help="Monotone methods: biases in the encoder's convolutions (thesis: none).",
    ),
    patch_support: str = typer.Option(
        None,
        help="Monotone methods: patches pooled, all (thesis) | brain (features outside the "
        "non-zero input filled with the brain's minimum, only brain patches pooled; needed by "
        "max pooling in 3-D).",
    ),
    optimizer: str = typer.Option(
        "auto",
        help="auto (yogi lr 1 if constrained, else adam 1e-3) | adam | yogi | adadelta | sgd.",
    ),
    lr: float = typer.Option(None, help="Learning rate (default per optimiser)."),
    weight_decay: float = typer.Option(
        0.0, help="L2 weight decay of the optimiser (torch's weight_decay; 0 = thesis)."
    ),
    max_epochs: int = typer.Option(40, help="Maximum epochs."),
    patience: int = typer.Option(
        10, help="Early-stopping patience on validation balanced accuracy."
    ),
    batch_size: int = typer.Option(8, help="Global batch size (split across devices)."),
    slices: str = typer.Option("central10", help="2-D: central10 | brain (all brain slices)."),
    slice_context: int = typer.Option(
        0, help="2-D: neighbouring slices per side stacked as channels (2.5-D input; 0 = none)."
    ),
    balanced: bool = typer.Option(
        True, "--balanced/--no-balanced", help="Draw training items class-balanced."
    ),
    subject_balanced: bool = typer.Option(
        False,
        "--subject-balanced",
        help="2-D: within each class, draw every subject equally often (a small lesion's few "
        "pathological slices weigh as much as a large lesion's many).",
    ),
    p_intensity: float = typer.Option(0.5, help="Probability of intensity ×U[0.5, 2]."),
    p_flip: float = typer.Option(0.5, help="Probability of a left–right flip."),
    p_elastic: float = typer.Option(0.0, help="Probability of an elastic deformation."),
    p_contrast: float = typer.Option(
        0.0, help="Site cues: probability of a random gamma (0.7–1.5, mean/std kept)."
    ),
    p_bias: float = typer.Option(0.0, help="Site cues: probability of a random bias field."),
    p_noise: float = typer.Option(
        0.0, help="Site cues: probability of Gaussian noise (std up to 0.15 z-units)."
    ),
    p_blur: float = typer.Option(
        0.0, help="Site cues: probability of a Gaussian blur (σ 0.25–1 voxel)."
    ),
    p_zoom: float = typer.Option(
        0.0, help="Size cues: probability of an isotropic zoom ×[0.9, 1.1]."
    ),
    seed: int = typer.Option(0, help="Seed of every random step (recorded in config.yaml)."),
    devices: int = typer.Option(1, help="Devices (processes) per node; >1 uses DDP."),
    nodes: int = typer.Option(1, help="Nodes for multi-node DDP."),
    accelerator: str = typer.Option("cpu", help="cpu | gpu | auto."),
    precision: str = typer.Option(
        "32-true",
        help="32-true | bf16-mixed (bfloat16 autocast, float32 weights: 2 mm steps 1.7–2× "
        "faster on a CPU with AVX512-BF16; changes the run's numbers).",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue OUT from checkpoints/last.ckpt."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT."),
) -> None:
    """Train a healthy-vs-pathological classifier, optionally attribution-constrained (ch. 5)."""
    from ..training import TrainConfig
    from ..training import train as train_fn
    from ..training.methods import METHODS, MonotoneTraining

    method_cls = METHODS.get(method)
    if scale_free and not method_cls.constrained:
        raise ValueError(
            f"--scale-free applies to attribution constraints (unsup, sup, unsup-tv, ross, "
            f"erion), not --method {method}"
        )
    method_options: dict = {"scale_free": True} if scale_free else {}
    if batch_statistics is not None:
        from ..constraints import BATCH_STATISTICS

        if not method_cls.constrained:
            raise ValueError(
                f"--batch-statistics applies to attribution constraints (unsup, sup, unsup-tv, "
                f"ross, erion), not --method {method}"
            )
        if batch_statistics not in BATCH_STATISTICS:
            raise ValueError(
                f"--batch-statistics must be one of {', '.join(BATCH_STATISTICS)}, got "
                f"{batch_statistics!r}"
            )
        method_options["batch_statistics"] = batch_statistics
    encoder = {
        "encoder_norm": encoder_norm,
        "encoder_last_activation": encoder_last_activation,
        "encoder_bias": encoder_bias,
        "patch_support": patch_support,
    }
    encoder = {k: v for k, v in encoder.items() if v is not None}
    if encoder and not issubclass(method_cls, MonotoneTraining):
        raise ValueError(
            "--encoder-norm, --encoder-last-activation, --encoder-bias and --patch-support apply "
            "to the monotone methods (monotone, monotone-baseline, monotone-baseline-c), "
            f"not --method {method}"
        )
    if patch_support is not None:
        from ..monotone.classifier import PATCH_SUPPORTS

        if patch_support not in PATCH_SUPPORTS:
            raise ValueError(
                f"--patch-support must be one of {', '.join(PATCH_SUPPORTS)}, got "
                f"{patch_support!r}"
            )
    method_options |= encoder

    cfg = TrainConfig(
        method=method,
        attribution=attribution,
        model=model,
        dim=dim,
        width=width,
        norm=norm,
        depth=depth,
        pool=pool,
        alpha=alpha,
        alpha_factor=alpha_factor,
        optimizer=optimizer,
        lr=lr,
        weight_decay=weight_decay,
        max_epochs=max_epochs,
        patience=patience,
        batch_size=batch_size,
        slices=slices,
        slice_context=slice_context,
        balanced=balanced,
        subject_balanced=subject_balanced,
        p_intensity=p_intensity,
        p_flip=p_flip,
        p_elastic=p_elastic,
        p_contrast=p_contrast,
        p_bias=p_bias,
        p_noise=p_noise,
        p_blur=p_blur,
        p_zoom=p_zoom,
        seed=seed,
        devices=devices,
        nodes=nodes,
        accelerator=accelerator,
        precision=precision,
        method_options=method_options,
    )
    try:
        run = train_fn(cohort, out, cfg, resume=resume, overwrite=overwrite)
    except FloatingPointError as exc:
        console.print(f"lesionlens: training stopped: {exc}", markup=False)
        raise typer.Exit(code=1) from None
    console.print(f"run written to [bold]{run}[/bold]")


@user_errors_exit_2
def explain(
    run: Path = typer.Argument(..., help="Run directory written by `lesionlens train`."),
    cohort: Path = typer.Argument(..., help="Manifest CSV, or the folder holding manifest.csv."),
    out: Path = typer.Argument(..., help="Maps directory to write."),
    split: str = typer.Option("test", help="train | val | test."),
    attribution: str = typer.Option(
        "g", help="g | ixg | ig | eg | ieg | gradcam | occlusion | counterfactual."
    ),
    option: list[str] = typer.Option(
        None,
        "--option",
        help="KEY=VALUE for the attribution method, repeatable (e.g. IG n_steps=30; "
        "counterfactual margin=0 lr=0.01 steps=200; nonnegative=false for the thesis' "
        "unprojected search on the non-monotone baselines).",
    ),
    smooth_mm: float = typer.Option(
        0.0, "--smooth-mm", help="Gaussian smoothing of each map, FWHM in mm (0 = none)."
    ),
    positive: bool = typer.Option(
        False, "--positive", help="Keep only the evidence for pathology (negatives → 0)."
    ),
    precision: str = typer.Option(
        "fp32",
        "--precision",
        help="fp32 | bf16: run the network under bfloat16 autocast (≈2× faster G maps on CPUs "
        "with AVX512-BF16; not for the counterfactual).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT."),
) -> None:
    """Write per-subject lesion maps (NIfTI, positive = pathology) and predictions.csv."""
    from ..cohort import read_manifest
    from ..explain import explain as explain_fn
    from ..explain import parse_options

    n = len(read_manifest(cohort).split(split))
    with progress() as bar:
        task = bar.add_task(f"explain ({attribution})", total=n)
        explain_fn(
            run,
            cohort,
            out,
            split=split,
            attribution=attribution,
            overwrite=overwrite,
            options=parse_options(option or []),
            smooth_mm=smooth_mm,
            positive=positive,
            precision=precision,
            on_subject=lambda s: bar.advance(task),
        )
    console.print(f"maps written to [bold]{out}[/bold]")
