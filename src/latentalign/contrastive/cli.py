"""``latentalign contrastive ...``: train two encoders contrastively on a named pair.

Example: latentalign contrastive train --pair mfeat:pix,fou --loss clip --epochs 50 --out runs/pix_fou
"""

from __future__ import annotations

import time
from pathlib import Path

from .._extras import require

typer = require("typer", "the command line")

app = typer.Typer(no_args_is_help=True, add_completion=False)

LOSS_NAMES = ("clip", "cond:<lambda_u>,<lambda_v>", "joint", "joint:<negatives>", "siglip")


def parse_loss(name: str, *, tilt: str = "cosine", temperature=None, gather="auto"):
    """Build the loss that ``--loss NAME`` names.

    Parameters
    ----------
    name : str
        ``clip``, ``cond:<lambda_u>,<lambda_v>`` (e.g. ``cond:2,0``), ``joint``,
        ``joint:<negatives>`` (``offdiag``, ``all``, ``shuffle``) or ``siglip``.
    tilt, temperature, gather
        Passed to the loss (see :class:`~latentalign.contrastive.ClipLoss`).

    Returns
    -------
    torch.nn.Module
        A :class:`~latentalign.contrastive.ClipLoss`, :class:`~latentalign.contrastive.ConditionalLoss`,
        :class:`~latentalign.contrastive.JointLoss` or :class:`~latentalign.contrastive.SigLipLoss`.

    Examples
    --------
    >>> parse_loss("cond:2,0", temperature=1.0)
    ConditionalLoss(
      lambda_u=2, lambda_v=0, tilt='cosine', centered=False
      (temperature): Temperature(fixed, scale=1, max_scale=100)
    )
    """
    from .losses import ClipLoss, ConditionalLoss, JointLoss, SigLipLoss

    if not isinstance(name, str):
        raise TypeError(f"loss: expected a name such as 'clip', got {type(name).__name__}")
    common = dict(tilt=tilt, temperature=temperature, gather=gather)
    if name == "clip":
        return ClipLoss(**common)
    if name == "siglip":
        return SigLipLoss(**common)
    if name == "joint" or name.startswith("joint:"):
        return JointLoss(name.partition(":")[2] or "offdiag", **common)
    if name.startswith("cond:"):
        try:
            lambdas = [float(part) for part in name[len("cond:"):].split(",")]
        except ValueError:
            lambdas = []
        if len(lambdas) == 2:
            return ConditionalLoss(*lambdas, **common)
    raise ValueError(f"loss: unknown loss {name!r}; expected one of {', '.join(LOSS_NAMES)}")


@app.callback()
def contrastive() -> None:
    """Contrastive learning as a tilted model: train and evaluate two encoders.

    Example: latentalign contrastive train --pair mfeat:pix,zer --loss joint --epochs 50 --out runs/joint
    """


@app.command()
def train(
    pair: str = typer.Option(..., "--pair", help="mfeat:<view>,<view> (views fou fac kar pix zer mor), "
                                                 "digits:captions or gaussian:g43."),
    loss: str = typer.Option("clip", "--loss", help="clip, cond:<lambda_u>,<lambda_v> (e.g. cond:2,0), joint, "
                                                    "joint:<offdiag|all|shuffle> or siglip."),
    tilt: str = typer.Option("cosine", "--tilt", help="cosine, inner or l2."),
    temperature: float | None = typer.Option(None, "--temperature",
                                                help="Fix tau > 0; default: learnable 1/tau (init 1/0.07, clamp 100)."),
    epochs: int = typer.Option(50, "--epochs", help="Training epochs."),
    batch_size: int = typer.Option(128, "--batch-size", help="Pairs per step (drop_last)."),
    lr: float = typer.Option(1e-3, "--lr", help="AdamW learning rate."),
    weight_decay: float = typer.Option(1e-4, "--weight-decay", help="AdamW weight decay (not on 1/tau or bias)."),
    embed_dim: int = typer.Option(64, "--embed-dim", help="Embedding width e."),
    hidden: int = typer.Option(256, "--hidden", help="Hidden width of the MLP encoders (0: linear)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the initialisation and the batches."),
    out: Path = typer.Option(..., "--out", help="Folder for metrics.json, the checkpoint last.ckpt and run.json."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/last.ckpt if it exists (same options "
                                                        "but --epochs, which is the total)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the training progress bar."),
) -> None:
    """Train encoders for the two sides of PAIR with LOSS; write OUT/metrics.json and OUT/last.ckpt,
    then OUT/run.json, the manifest that marks the run complete (a rerun deletes it first).

    Metrics are on the test split: recall@1/5 both ways, class-match@1, the learned
    scale 1/tau, and zero-shot accuracy on held-out prompts for digits:captions
    (whose captions are templated, not human-written).

    Example: latentalign contrastive train --pair mfeat:pix,fou --loss clip --epochs 50 --out runs/pix_fou
    """
    from .._io import check_output, write_json
    from .._manifest import begin_set, write_manifest
    from .experiment import evaluate_pair, train_pair
    from .pairs import load_pair

    check_output(out, "out", folder=True)
    data = load_pair(pair, seed=seed)
    loss_fn = parse_loss(loss, tilt=tilt, temperature=temperature)
    config = dict(pair=pair, loss=loss, tilt=tilt, temperature=temperature, epochs=epochs, batch_size=batch_size,
                  lr=lr, weight_decay=weight_decay, embed_dim=embed_dim, hidden=hidden, seed=seed)
    begin_set(out, stale=["metrics.json"])
    start = time.perf_counter()
    module = train_pair(data, loss_fn, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                        embed_dim=embed_dim, hidden=hidden, seed=seed, ckpt_dir=out, resume=resume,
                        run_config={k: v for k, v in config.items() if k != "epochs"}, progress=progress)
    seconds = time.perf_counter() - start
    metrics = evaluate_pair(module, data)
    write_json(out / "metrics.json", {"config": config, "n_train": int(data.u_train.shape[0]),
                                      "n_test": int(data.u_test.shape[0]), "train_seconds": seconds,
                                      "test": metrics, "data": data.description})
    write_manifest(out, ["metrics.json", "last.ckpt"], {"command": "contrastive train"})
    recall = metrics["recall"]
    typer.echo(f"{pair} {loss}: R@1 u->v {recall['u_to_v'][1]:.3f}, v->u {recall['v_to_u'][1]:.3f}, "
               f"1/tau {metrics['scale']:.1f}; wrote {out / 'metrics.json'} and {out / 'last.ckpt'}")
