"""``latentalign ssl ...``: train a self-supervised encoder; compute alignment thresholds.

Examples
--------
    latentalign ssl train --method vicreg --data digits --epochs 50 --out runs/vicreg
    latentalign ssl thresholds --signal-var 1,1.5,2,2.5,3 --theta 0.5 --gamma 3 --n-noise 15
"""

from __future__ import annotations

import time
from pathlib import Path

from .._extras import require

typer = require("typer", "the command line")

app = typer.Typer(help="Joint-embedding vs reconstruction self-supervised learning.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise ValueError(f"{name}: expected comma-separated numbers, got {text!r}") from exc


@app.command()
def train(
    method: str = typer.Option("vicreg", help="vicreg, simclr, byol (joint embedding), dae or mae (reconstruction)."),
    data: str = typer.Option("digits", help="digits (stratified 1200/597 split) or mnist1d (4000/1000)."),
    epochs: int = typer.Option(50, help="Training epochs."),
    seed: int = typer.Option(0, help="Seed of the split, the initialisation and the augmentations."),
    batch_size: int = typer.Option(128, help="Batch size."),
    lr: float = typer.Option(1e-3, help="Adam learning rate."),
    embed_dim: int = typer.Option(16, help="Width of the encoder's output (the probed representation)."),
    devices: int = typer.Option(1, help="Processes; >1 trains with Lightning DDP (gloo)."),
    out: Path = typer.Option(Path("ssl_run"), "--out",
                             help="Folder for encoder.pt, metrics.json, embeddings.npz and run.json (written last)."),
    progress: bool = typer.Option(True, help="Show the training progress bar."),
) -> None:
    """Train an SSL encoder on the training split, then probe it on the test split.

    Writes OUT/encoder.pt (state dict), OUT/metrics.json (logistic and lstsq linear
    probes, weighted kNN accuracy, config, protocol) and OUT/embeddings.npz (test),
    then OUT/run.json, the manifest that marks the set complete (a rerun deletes it first).

    Example: latentalign ssl train --method vicreg --data digits --epochs 50 --out runs/vicreg
    """
    from .._io import check_output, save_array, save_torch, write_json
    from .._manifest import begin_set, write_manifest
    from ..train import knn_probe, linear_probe
    from .evaluate import KNN_SETTINGS, embed
    from .module import fit_ssl, split_dataset

    files = ["encoder.pt", "embeddings.npz", "metrics.json"]
    check_output(out, "out", folder=True)
    split = split_dataset(data, seed)
    begin_set(out, stale=files)
    start = time.perf_counter()
    module = fit_ssl(method, split.X_train, split.y_train, epochs=epochs, seed=seed, image_shape=split.image_shape,
                     embed_dim=embed_dim, batch_size=batch_size, lr=lr, devices=devices, progress=progress)
    seconds = time.perf_counter() - start
    Z_tr, Z_te = embed(module.encoder, split.X_train), embed(module.encoder, split.X_test)
    metrics = {
        "method": method, "data": data, "epochs": epochs, "seed": seed, "batch_size": batch_size, "lr": lr,
        "embed_dim": embed_dim, "train_seconds": seconds,
        "n_train": int(len(split.y_train)), "n_test": int(len(split.y_test)),
        "logistic_probe": linear_probe(Z_tr, split.y_train, Z_te, split.y_test, kind="logistic"),
        "lstsq_probe": linear_probe(Z_tr, split.y_train, Z_te, split.y_test, kind="lstsq"),
        "knn_probe": knn_probe(Z_tr, split.y_train, Z_te, split.y_test, **KNN_SETTINGS),
        "protocol": "encoder trained on the unlabelled training split; probes fit on training embeddings, "
                    "scored on test embeddings; kNN k=20, cosine, exp(sim/0.1) votes",
    }
    save_torch(out / "encoder.pt", module.encoder.state_dict())
    save_array(out / "embeddings.npz", Z_test=Z_te, y_test=split.y_test)
    write_json(out / "metrics.json", metrics)
    write_manifest(out, files, {"command": "ssl train"})
    typer.echo(f"{method} on {data}: logistic probe {metrics['logistic_probe']:.3f}, "
               f"kNN {metrics['knn_probe']:.3f} ({seconds:.1f} s); wrote {out}")


@app.command()
def thresholds(
    signal_var: str = typer.Option(..., help="Signal variances s_i, comma-separated."),
    theta: float = typer.Option(..., help="Augmentation variance λ^Θ on the signal components."),
    gamma: str = typer.Option(
        ..., help="Noise variances λ^Γ (comma-separated, or one value repeated --n-noise times)."),
    theta_noise: float = typer.Option(None, help="λ^Θ on the noise components (default: --theta)."),
    n_noise: int = typer.Option(1, help="Number of noise components when --gamma is one value."),
    json_out: Path = typer.Option(None, "--json", help="Also write the thresholds to this JSON file."),
) -> None:
    """Alignment thresholds α²_RC, α²_JE (asymptotic, Van Assel et al. 2025) and the preferred family.

    Example: latentalign ssl thresholds --signal-var 1,1.5,2,2.5,3 --theta 0.5 --gamma 3 --n-noise 15
    """
    from .._io import check_output, write_json
    from .._validate import check_int
    from .theory import alignment_thresholds

    if json_out is not None:
        check_output(json_out, "json")
    gammas = _floats(gamma, "gamma")
    if len(gammas) == 1:
        gammas = gammas * check_int(n_noise, "n_noise")
    t = alignment_thresholds(_floats(signal_var, "signal_var"), theta, theta if theta_noise is None else theta_noise,
                             gammas)
    values = {"alpha2_rc": t.alpha2_rc, "alpha2_je": t.alpha2_je, "eta": t.eta, "delta": t.delta,
              "crossover": t.crossover, "regime": t.regime, "preferred": t.preferred}
    typer.echo(f"alpha^2_RC = {t.alpha2_rc:.4f}, alpha^2_JE = {t.alpha2_je:.4f}, crossover eta^2/delta = "
               f"{t.crossover:.4f}, regime {t.regime}, preferred: {t.preferred}")
    if json_out is not None:
        write_json(json_out, values)
