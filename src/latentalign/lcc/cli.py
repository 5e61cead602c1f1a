"""``latentalign lcc ...``: fine-tune a classifier with Latent Cluster Correction.

Example: latentalign lcc finetune --data digits --model mlp --layer penultimate --weight 1e-2
"""

from __future__ import annotations

from pathlib import Path

from .._extras import require

typer = require("typer", "the command line")

app = typer.Typer(help="Latent Cluster Correction (Ho Thanh 2025): fine-tune with cluster-corrected latents.\n\n"
                       "Example: latentalign lcc finetune --data digits --model mlp --layer penultimate --weight 1e-2",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def lcc() -> None:
    """Latent Cluster Correction: fine-tune a classifier with cluster-corrected latents.

    Example: latentalign lcc finetune --data digits --model mlp --layer penultimate --weight 1e-2
    """


@app.command()
def finetune(
    data: str = typer.Option("digits", help="digits or mnist1d (bundled / generated offline)."),
    model: str = typer.Option("mlp", help="mlp (in-256-64-C) or cnn (digits CNN2d, MNIST-1D CNN1d)."),
    layer: list[str] = typer.Option(["penultimate"], "--layer", help="Layer to correct (repeatable)."),
    weight: float = typer.Option(1e-2, help="LCC weight w_lcc (the paper swept 1e-4 and 1e-2)."),
    k: int = typer.Option(10, "-k", help="Neighbours of the kNN graph and exact-loss targets."),
    loss: str = typer.Option("exact", help="exact or randomized."),
    matching: str = typer.Option("aligned", help="aligned, or shuffled (the ablation)."),
    preset: str = typer.Option("exact", help="exact (default) or fast (PCA 64 + faiss IVF)."),
    pretrain_epochs: int = typer.Option(20, help="Cross-entropy epochs before LCC (phase 1)."),
    epochs: int = typer.Option(10, help="Fine-tuning epochs with LCC (phase 2)."),
    lr: float = typer.Option(3e-3, help="AdamW learning rate."),
    seed: int = typer.Option(0, help="Seed of the split, init, batches, augmentation and clustering."),
    augment: bool = typer.Option(True, help="Shift + noise augmentation of training batches."),
    out: Path = typer.Option(Path("lcc_finetune.json"), "--out", help="JSON file with accuracies and metrics."),
) -> None:
    """Train CE for --pretrain-epochs, then fine-tune with CE + w*LCC; report test accuracy and cluster metrics.

    Example: latentalign lcc finetune --data digits --model mlp --layer penultimate --weight 1e-2
    """
    import torch
    from rich.progress import Progress

    from .._io import check_output, write_json
    from .._validate import check_int, check_nonnegative
    from ..models import LayerRecorder
    from ..train import seed_everything
    from ..train.divergence import check_lr
    from .correction import ClusterCorrection
    from .finetune import latent_metrics, load_split, make_model, train_epochs

    check_output(out, "out")
    check_int(pretrain_epochs, "pretrain_epochs", minimum=0)
    check_int(epochs, "epochs", minimum=0)
    check_lr(lr)
    check_nonnegative(weight, "weight")
    split = load_split(data, seed)
    seed_everything(seed)
    net = make_model(model, split)
    LayerRecorder(net, list(layer))  # an unknown layer fails now, listing the valid names, not after training
    corr = ClusterCorrection(layer, split.n_classes, weight=weight, k=k, loss=loss, matching=matching,
                             preset=preset, warmup=0, seed=seed)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)

    with Progress(transient=True) as bar:
        task = bar.add_task("CE pre-training", total=pretrain_epochs + epochs)
        step = lambda record: bar.advance(task)  # noqa: E731
        train_epochs(net, opt, split, pretrain_epochs, seed=seed, augment=augment, on_epoch=step)
        before = {"test_accuracy": split.accuracy(net, "test"),
                  "clusters": latent_metrics(net, split, corr.layers, k=k)}
        bar.update(task, description="LCC fine-tuning")
        records = train_epochs(net, opt, split, epochs, corr=corr, seed=seed, first_epoch=pretrain_epochs,
                               augment=augment, on_epoch=step)
        after = {"test_accuracy": split.accuracy(net, "test"),
                 "clusters": latent_metrics(net, split, corr.layers, k=k)}
    write_json(out, {
        "config": {"data": data, "model": model, "layers": list(layer), "weight": weight, "k": k, "loss": loss,
                   "matching": matching, "preset": preset, "pretrain_epochs": pretrain_epochs, "epochs": epochs,
                   "lr": lr, "seed": seed, "augment": augment},
        "before": before, "after": after, "epochs": records,
    })
    typer.echo(f"test accuracy {before['test_accuracy']:.4f} -> {after['test_accuracy']:.4f} "
               f"(CE {pretrain_epochs} epochs, then CE + {weight:g} LCC {epochs} epochs); wrote {out}")
