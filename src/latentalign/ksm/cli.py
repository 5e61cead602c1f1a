"""``latentalign ksm ...``: fit a KSM model from an array file, draw samples from it.

Examples
--------
    latentalign ksm fit data.npy --latent-dim 2 --kernel rbf --out model.pt
    latentalign ksm sample model.pt -n 64 --png grid.png --out samples.npy
"""

from __future__ import annotations

import math
from pathlib import Path

from .._extras import require

typer = require("typer", "the command line")

app = typer.Typer(help="Kernel similarity matching: fit an implicit generative model, sample from it.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command()
def fit(
    data: Path = typer.Argument(..., help="Training data (n, d): .npy, .npz[:key] or .pt[:key]."),
    out: Path = typer.Option(..., "--out", help="Where to write the fitted model (.pt, loadable safely)."),
    n_components: int = typer.Option(2, "--latent-dim", "--n-components", help="Latent size m."),
    kernel: str = typer.Option("rbf", help="Latent kernel: rbf (Gaussian) or linear."),
    sigma: float = typer.Option(1.0, help="Gaussian latent bandwidth (the start, with --learn-sigma)."),
    learn_sigma: bool = typer.Option(False, "--learn-sigma", help="Learn the Gaussian bandwidth with the latents."),
    ridge: float = typer.Option(1e-3, help="Per-sample ridge (gamma_N = ridge * N)."),
    alpha: float = typer.Option(0.0, help="L1 (sparsity) weight of the prior."),
    nonneg: bool = typer.Option(False, "--nonneg", help="Non-negative latents."),
    budget: str = typer.Option("ball", help="Metabolic budget: ball, sphere, l1, total or none."),
    solver: str = typer.Option("admm", help="admm or online."),
    batch_size: str = typer.Option("auto", help="Minibatch size, 'auto' or 'full'."),
    max_iter: str = typer.Option("auto", help="Iterations (full batch) or epochs, or 'auto'."),
    seed: int = typer.Option(0, help="Random seed (same seed, same model)."),
    key: str | None = typer.Option(None, help="Array name inside an .npz / .pt file holding several."),
    embedding: Path | None = typer.Option(None, help="Also write the learned latents to this .npy file."),
) -> None:
    """Fit KernelSimilarityMatching to DATA and save the model.

    Example: latentalign ksm fit data.npy --latent-dim 2 --kernel rbf --out model.pt
    """
    from .._io import check_output, load_array, save_array
    from .estimator import KernelSimilarityMatching
    from .io import save_model

    check_output(out, "out", suffix=".pt")
    if embedding is not None:
        check_output(embedding, "embedding", suffix=".npy")
    X = load_array(data, "data", key=key)
    est = KernelSimilarityMatching(
        n_components=n_components, kernel=kernel, sigma=sigma, learn_sigma=learn_sigma, ridge=ridge, alpha=alpha,
        nonneg=nonneg,
        budget=None if budget == "none" else budget, solver=solver,
        batch_size=None if batch_size == "full" else _auto_or_int(batch_size, "batch_size"),
        max_iter=_auto_or_int(max_iter, "max_iter"), random_state=seed, verbose=1,
    ).fit(X)
    save_model(est, out)
    if embedding is not None:
        save_array(embedding, est.embedding_)
    typer.echo(f"wrote {out}: {X.shape[0]} samples x {X.shape[1]} features -> {n_components} latents "
               f"({kernel}, sigma {est.sigma_:.4g}), objective {est.objective_:.6g} after {est.n_iter_} iterations")


@app.command()
def sample(
    model: Path = typer.Argument(..., help="A model written by `latentalign ksm fit` (.pt)."),
    n: int = typer.Option(64, "-n", "--n", help="Number of samples."),
    out: Path | None = typer.Option(None, "--out", help="Write the samples (n, d) to this .npy file."),
    png: Path | None = typer.Option(None, "--png", help="Draw the samples as an image grid (PNG)."),
    image_shape: str | None = typer.Option(None, help="HxW of one image for --png (default: square)."),
    method: str = typer.Option("kde", help="kde (jittered training latents) or gaussian (baseline)."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Draw N samples from a fitted model.

    Example: latentalign ksm sample model.pt -n 64 --png grid.png
    """
    from .._io import check_output, save_array
    from .io import load_model

    if out is None and png is None:
        raise ValueError("out: give --out samples.npy and/or --png grid.png")
    if out is not None:
        check_output(out, "out", suffix=".npy")
    if png is not None:
        check_output(png, "png", suffix=".png")
    est = load_model(model)
    shape = _image_shape(image_shape, est.n_features_in_) if png is not None else None
    X = est.sample(n, method=method, random_state=seed)
    if out is not None:
        save_array(out, X)
    if png is not None:
        _save_grid(X, shape, png)
    typer.echo(f"drew {n} samples ({method}) from {model}" + "".join(f"; wrote {p}" for p in (out, png) if p))


def _auto_or_int(value: str, name: str):
    if value == "auto":
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}: expected an integer or 'auto', got {value!r}") from None


def _image_shape(spec: str | None, n_features: int) -> tuple[int, int]:
    if spec is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(f"image_shape: {n_features} features are not a square image; pass --image-shape HxW")
        return side, side
    try:
        h, w = (int(s) for s in spec.lower().split("x"))
    except ValueError:
        raise ValueError(f"image_shape: expected HxW like 8x8, got {spec!r}") from None
    if h * w != n_features:
        raise ValueError(f"image_shape: {h}x{w} = {h * w} pixels, the model has {n_features} features")
    return h, w


def _save_grid(X, shape: tuple[int, int], path: Path) -> None:
    require("matplotlib", "the sample grid").use("Agg")
    plt = require("matplotlib.pyplot", "the sample grid")
    from .._io import save_figure

    cols = math.ceil(math.sqrt(X.shape[0]))
    rows = math.ceil(X.shape[0] / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.8), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, x in zip(axes.ravel(), X):
        ax.imshow(x.reshape(shape), cmap="gray_r")
    save_figure(fig, path)
