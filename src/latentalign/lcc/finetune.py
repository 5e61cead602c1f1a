"""Fine-tuning with LCC on the bundled data: data splits, augmentation and the training loop.

Used by ``latentalign lcc finetune`` and the LCC study. The loop is the plain
API of :class:`~latentalign.lcc.ClusterCorrection`: at every epoch start
``corr.update`` clusters clean training latents; every batch is augmented
(``shift_and_noise``) and adds ``corr.loss`` to the cross-entropy. Batches and
augmentation depend only on ``(seed, epoch)``, so arms that start from the same
checkpoint see the same inputs.

Examples
--------
>>> split = load_split("digits", seed=0)
>>> split.X_train.shape, split.X_val.shape, split.X_test.shape
((718, 64), (179, 64), (900, 64))
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._threads import thread_policy
from .._validate import check_choice, check_int, check_nonnegative, check_seed
from ..data import digits, mnist1d
from ..models import build_model
from ..train import epoch_seed, evaluate_classifier, knn_probe, make_loader, torch_generator
from ..train.augment import random_shift
from ..train.classifier import step_work
from ..train.divergence import check_loss
from .collect import collect_latents
from .correction import ClusterCorrection
from .state import cluster_latents

__all__ = ["DATASETS", "MODELS", "Split", "load_split", "make_model", "shift_and_noise", "train_epochs",
           "latent_metrics"]

DATASETS = ("digits", "mnist1d")
MODELS = ("mlp", "cnn")
_MNIST1D_VAL = 500


@dataclass
class Split:
    """Train / val / test arrays (float32 inputs, int64 labels) and the input shape for the models."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    in_shape: tuple[int, ...]
    max_shift: int

    @property
    def n_classes(self) -> int:
        """Number of classes in the train and test labels."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def accuracy(self, model: nn.Module, part: str = "test") -> float:
        """Accuracy of ``model`` on ``part`` (``"train"``, ``"val"`` or ``"test"``), by
        :func:`~latentalign.train.evaluate_classifier` (eval mode, training flags restored).
        """
        check_choice(part, "part", ("train", "val", "test"))
        X, y = getattr(self, f"X_{part}"), getattr(self, f"y_{part}")
        return evaluate_classifier(model, [(torch.from_numpy(X), torch.from_numpy(y))])["acc"]


def load_split(name: str, seed: int = 0) -> Split:
    """``digits``: stratified 40% train / 10% val / 50% test (``random_state=seed``);
    ``mnist1d``: the published 4000/1000 split (data seed 42), 500 train rows to val per ``seed``.
    """
    from sklearn.model_selection import train_test_split

    check_choice(name, "data", DATASETS)
    seed = check_seed(seed)
    if name == "digits":
        ds = digits()
        X_tr, X_rest, y_tr, y_rest = train_test_split(ds.X, ds.y, train_size=0.4, stratify=ds.y, random_state=seed)
        X_va, X_te, y_va, y_te = train_test_split(X_rest, y_rest, train_size=1 / 6, stratify=y_rest,
                                                  random_state=seed)
        return Split(name, X_tr, y_tr, X_va, y_va, X_te, y_te, (1, 8, 8), 1)
    ds = mnist1d()
    train, test = ds.split["train"], ds.split["test"]
    X_tr, X_va, y_tr, y_va = train_test_split(ds.X[train], ds.y[train], test_size=_MNIST1D_VAL,
                                              stratify=ds.y[train], random_state=seed)
    return Split(name, X_tr, y_tr, X_va, y_va, ds.X[test], ds.y[test], (1, ds.X.shape[1]), 3)


def make_model(name: str, split: Split) -> nn.Module:
    """``mlp``: ``in -> 256 -> 64 -> C``; ``cnn``: the digits ``CNN2d`` or the MNIST-1D ``CNN1d``.
    The 64-d layer is ``penultimate``. Seed the global torch RNG first for a fixed init.
    """
    check_choice(name, "model", MODELS)
    if name == "mlp":
        return build_model("mlp", in_dim=int(np.prod(split.in_shape)), n_classes=split.n_classes)
    return build_model("cnn", in_shape=split.in_shape, n_classes=split.n_classes)


def shift_and_noise(x: torch.Tensor, in_shape: tuple[int, ...], max_shift: int, noise: float,
                    generator: torch.Generator) -> torch.Tensor:
    """Shift each sample by a uniform integer in ``[-max_shift, max_shift]`` per spatial axis
    (zero fill; :func:`latentalign.train.augment.random_shift`), then add Gaussian noise of
    std ``noise``. ``x`` is flat ``(B, prod(in_shape))``, ``in_shape = (C, *spatial)``.
    """
    B = x.shape[0]
    img = random_shift(x.reshape(B, *in_shape), max_shift, generator) if max_shift > 0 else x
    if noise > 0:
        img = img + noise * torch.randn(img.shape, generator=generator)
    return img.reshape(B, -1)


def latent_metrics(model: nn.Module, split: Split, layers, *, k: int = 10, seed: int = 0) -> dict[str, dict]:
    """Per layer: the cluster metrics of one fixed clustering of the clean training latents
    (``k``, ``seed``) and the test -> train kNN probe accuracy.
    """
    layers = [layers] if isinstance(layers, str) else list(layers)
    train = collect_latents(model, make_loader(split.X_train, split.y_train, batch_size=512), layers)
    test = collect_latents(model, make_loader(split.X_test, split.y_test, batch_size=512), layers)
    out = {}
    for name in layers:
        state = cluster_latents(train.latents[name], train.labels, split.n_classes, k=k, seed=seed)
        out[name] = {**state.metrics, "knn_probe": knn_probe(
            train.latents[name], train.labels, test.latents[name], test.labels, k=k, metric="euclidean")}
    return out


def train_epochs(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    split: Split,
    epochs: int,
    *,
    corr: ClusterCorrection | None = None,
    batch_size: int = 64,
    seed: int = 0,
    first_epoch: int = 0,
    noise: float = 0.05,
    augment: bool = True,
    on_epoch=None,
) -> list[dict]:
    """Train ``epochs`` epochs (CE, plus ``corr.loss`` when ``corr`` has a positive weight).

    Epoch ``e`` (counting from ``first_epoch`` for the batch order and the
    augmentation, from 0 for ``corr``'s schedule) clusters clean training inputs
    when ``corr`` is given (with ``weight = 0`` only to monitor). Returns one
    record per epoch: ``train_s`` (whole epoch minus clustering), ``lcc_loss_s``,
    ``cluster_s``, the mean unweighted LCC loss, ``n_mc`` and the clustering's metrics.
    """
    epochs = check_int(epochs, "epochs", minimum=0)
    noise = check_nonnegative(noise, "noise")
    X, y = torch.from_numpy(split.X_train), torch.from_numpy(split.y_train)
    loader = make_loader(X, y, batch_size=batch_size, shuffle=True, seed=seed)
    cluster_loader = make_loader(X, y, batch_size=512)
    records = []
    with thread_policy(step_work(model, loader)):
        for e in range(epochs):
            record = {"epoch": first_epoch + e}
            if corr is not None:
                t0 = time.perf_counter()
                if corr.update(model, cluster_loader, e):
                    record["metrics"] = {n: h["metrics"] for n, h in corr.history[-1]["layers"].items()}
                record["cluster_s"] = time.perf_counter() - t0
            use_lcc = corr is not None and corr.weight > 0 and corr.active
            loader.sampler.set_epoch(first_epoch + e)
            gen = torch_generator(epoch_seed(seed, first_epoch + e))
            model.train()
            t_start, loss_s, lcc_sum, n_mc, n_batches, n_steps = time.perf_counter(), 0.0, 0.0, 0, 0, 0
            for x, yb, idx in loader:
                if augment:
                    x = shift_and_noise(x, split.in_shape, split.max_shift, noise, gen)
                if use_lcc:
                    with corr.capture(model) as lat:
                        logits = model(x)
                    t0 = time.perf_counter()
                    extra = corr.loss(lat, yb, idx)
                    loss_s += time.perf_counter() - t0
                    lcc_sum += corr.stats["loss"]
                    n_mc += corr.stats["n_mc"]
                    n_batches += 1
                    loss = F.cross_entropy(logits, yb) + extra
                else:
                    loss = F.cross_entropy(model(x), yb)
                check_loss(loss, epoch=first_epoch + e, step=n_steps)
                n_steps += 1
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            record.update(train_s=time.perf_counter() - t_start, lcc_loss_s=loss_s,
                          lcc_loss=lcc_sum / n_batches if n_batches else None, n_mc=n_mc)
            if corr is not None and not corr.persist:
                corr.end_epoch()
            records.append(record)
            if on_epoch is not None:
                on_epoch(record)
    return records
