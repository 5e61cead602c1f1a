"""``LCCCallback``: add Latent Cluster Correction to any Lightning classifier.

- ``on_train_epoch_start``: ``corr.update(pl_module, cluster_loader, epoch)``;
- ``setup("fit")`` wraps the instance's ``training_step``: the forward pass runs
  inside ``corr.capture``, ``corr.loss(latents, y, idx)`` is added to the returned
  tensor (or ``dict["loss"]``), and ``lcc/loss`` and ``lcc/n_mc`` are logged;
  ``teardown`` unwraps it. One backward pass: DDP and AMP are unaffected.
- ``on_train_epoch_end``: the state is dropped unless ``corr.persist``.

Layer names are relative to the ``LightningModule`` (for
:class:`~latentalign.train.ClassifierModule`: ``"model.penultimate"``).
Without ``cluster_loader`` the training set is read in order (a sequential
loader over the training loader's dataset, so the training sampler is not
advanced), and a warning says that its augmentation then reaches the clustering.

The example is :class:`LCCCallback`'s.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping, Sequence

import torch
from torch.utils.data import DataLoader

from .._extras import require
from ..train import split_batch
from .correction import ClusterCorrection

L = require("lightning", "the LCC Lightning callback")
Callback = L.pytorch.callbacks.Callback

__all__ = ["LCCCallback"]


def _in_order(loader):
    """A sequential loader over ``loader``'s dataset (its sampler's epoch stays untouched)."""
    dataset = getattr(loader, "dataset", None)
    if dataset is None:
        return loader
    return DataLoader(dataset, batch_size=getattr(loader, "batch_size", None) or 256, shuffle=False,
                      collate_fn=getattr(loader, "collate_fn", None))


class LCCCallback(Callback):
    """Lightning callback running ``corr`` (a :class:`ClusterCorrection`) during ``fit``.

    ``batch_keys``: the keys of ``(x, y, idx)`` in dict batches (tuple batches are
    ``(x, y, idx)``).

    Parameters
    ----------
    corr : ClusterCorrection
        The correction to run.
    cluster_loader : iterable, optional
        Batches for the clustering step (default: the trainer's training loader, in order).
    batch_keys : sequence of str, default ("x", "y", "idx")
        The keys of ``(x, y, idx)`` in dict batches (tuple batches are ``(x, y, idx)``).

    Examples
    --------
    >>> from latentalign import lcc
    >>> corr = lcc.ClusterCorrection(["model.penultimate"], n_classes=10, weight=1e-2)
    >>> callback = lcc.LCCCallback(corr, cluster_loader=None)
    >>> # fit_classifier(model, train_loader, epochs=5, callbacks=[callback])
    """

    def __init__(self, corr: ClusterCorrection, cluster_loader: Iterable | None = None,
                 batch_keys: Sequence[str] = ("x", "y", "idx")):
        super().__init__()
        if not isinstance(corr, ClusterCorrection):
            raise TypeError(f"corr: expected a latentalign.lcc.ClusterCorrection, got {type(corr).__name__}")
        keys = tuple(batch_keys)
        if len(keys) != 3 or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"batch_keys: expected three key names (x, y, idx), got {batch_keys!r}")
        self.corr, self.cluster_loader, self.batch_keys = corr, cluster_loader, keys
        self._wrapped = None

    def _labels_and_ids(self, batch):
        if isinstance(batch, Mapping):
            _, y_key, idx_key = self.batch_keys
            return batch.get(y_key), batch.get(idx_key)
        _, y, idx = split_batch(batch)
        return y, idx

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Lightning hook: wrap the module's ``training_step`` to add the LCC loss (fit only)."""
        if stage != "fit" or self._wrapped is not None:
            return
        step = pl_module.training_step
        corr = self.corr

        @functools.wraps(step)
        def training_step(batch, *args, **kwargs):
            with corr.capture(pl_module) as latents:
                out = step(batch, *args, **kwargs)
            if not corr.active:
                return out
            y, idx = self._labels_and_ids(batch)
            extra = corr.loss(latents, y, idx)
            n = int(idx.shape[0])
            pl_module.log("lcc/loss", corr.stats["loss"], on_step=False, on_epoch=True, batch_size=n)
            pl_module.log("lcc/n_mc", float(corr.stats["n_mc"]), on_step=False, on_epoch=True, batch_size=n,
                          reduce_fx="sum")
            if isinstance(out, Mapping):
                return {**out, "loss": out["loss"] + extra}
            if not isinstance(out, torch.Tensor):
                raise TypeError("training_step: LCC needs a loss tensor or a dict with 'loss', "
                                f"got {type(out).__name__}")
            return out + extra

        pl_module.training_step = training_step
        self._wrapped = pl_module

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Lightning hook: restore the module's own ``training_step``."""
        if self._wrapped is not None and "training_step" in vars(self._wrapped):
            del self._wrapped.training_step
        self._wrapped = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Lightning hook: cluster the latents of the training set in sample order before the epoch."""
        loader = self.cluster_loader
        if loader is None:
            if self.corr.scheduled(trainer.current_epoch):
                warnings.warn("LCCCallback: no cluster_loader given; clustering the training loader, so its "
                              "augmentation (if any) reaches the clustering", stacklevel=2)
            loader = _in_order(trainer.train_dataloader)
        self.corr.update(pl_module, loader, trainer.current_epoch)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Lightning hook: drop the clustering unless ``persist``."""
        if not self.corr.persist:
            self.corr.end_epoch()
