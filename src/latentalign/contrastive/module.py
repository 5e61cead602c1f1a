r"""Train two encoders with a contrastive loss in Lightning (spec §7).

:class:`ContrastiveModule` wraps ``encoder_u``, ``encoder_v`` and a loss of this
package: AdamW (lr 1e-3, weight decay 1e-4 on the encoders, none on the
temperature or the SigLIP bias), the learnable scale clamped to
``[1, max_scale]`` after every step, ``train/loss`` and ``train/scale`` (``1/tau``)
logged every step, and validation recall@1/5 both ways on the embeddings of all
ranks. Batches come from :func:`pair_loader`: ``((x_u, x_v), y, idx)``.

``x_v`` may carry ``T`` alternatives per sample, shape ``(B, T, d)`` (e.g. caption
templates): training encodes one drawn uniformly per sample and step (global torch
RNG, so runs are seeded and resumable), evaluation encodes all ``T`` and merges
them with :func:`~latentalign.contrastive.retrieval.prompt_ensemble`.

Examples
--------
>>> import torch
>>> from latentalign.models import MLP
>>> from latentalign.train import fit_classifier
>>> from latentalign.contrastive import ClipLoss
>>> u = torch.randn(64, 5); v = u @ torch.randn(5, 3)
>>> module = ContrastiveModule(MLP(5, 16, 4), MLP(3, 16, 4), ClipLoss())
>>> _ = fit_classifier(module, pair_loader(u, v, batch_size=16, shuffle=True), epochs=2)
>>> module.embed(pair_loader(u, v))[0].shape
torch.Size([64, 4])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from .._extras import require
from .._validate import (
    _to_tensor,
    as_labels,
    check_ints,
    check_nonnegative,
)
from ..train import make_loader, split_batch
from ..train.divergence import check_lr
from .losses import _TiltedLoss
from .retrieval import prompt_ensemble, recall_at_k

L = require("lightning", "contrastive training")

__all__ = ["ContrastiveModule", "PairDataset", "pair_loader"]


class PairDataset(Dataset):
    """Paired inputs with optional labels; item ``i`` is ``((x_u[i], x_v[i]), y[i])`` (float32).

    Parameters
    ----------
    x_u : array-like of shape (n, ...)
        The ``u`` side.
    x_v : array-like of shape (n, ...)
        The ``v`` side, same samples.
    y : array-like of shape (n,), optional
        int64 labels (``-1`` for every item without).

    Examples
    --------
    >>> ds = PairDataset([[0.0], [1.0]], [[2.0], [3.0]])
    >>> (u, v), y = ds[1]
    >>> float(u), float(v), int(y)
    (1.0, 3.0, -1)
    """

    def __init__(self, x_u, x_v, y=None):
        self.x_u = _as_float(x_u, "x_u")
        self.x_v = _as_float(x_v, "x_v")
        n = self.x_u.shape[0]
        if self.x_v.shape[0] != n:
            raise ValueError(f"x_v: expected the same number of samples as x_u ({n}), got {self.x_v.shape[0]}")
        self.y = torch.full((n,), -1, dtype=torch.int64) if y is None else as_labels(y, "y", n_samples=n)

    def __len__(self) -> int:
        return self.x_u.shape[0]

    def __getitem__(self, i):
        return (self.x_u[i], self.x_v[i]), self.y[i]


def _as_float(x, name: str) -> torch.Tensor:
    t = _to_tensor(x, name).detach().to(torch.float32)
    if t.ndim < 2 or t.shape[0] == 0:
        raise ValueError(f"{name}: expected an array (n_samples, features...), got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}: contains non-finite values (NaN or Inf); clean or impute them first")
    return t


def pair_loader(x_u, x_v, y=None, *, batch_size: int = 128, shuffle: bool = False, seed: int = 0,
                drop_last: bool = False):
    """A loader of ``((x_u, x_v), y, idx)`` batches over :class:`PairDataset` (epoch-seeded shuffling).

    Parameters
    ----------
    x_u : array-like of shape (n, ...)
        The ``u`` side.
    x_v : array-like of shape (n, ...)
        The ``v`` side, same samples.
    y : array-like of shape (n,), optional
        Labels.
    batch_size : int, default 128
        Pairs per batch.
    shuffle : bool, default False
        Shuffle per epoch, seeded by ``(seed, epoch)``.
    seed : int, default 0
        The shuffling seed.
    drop_last : bool, default False
        Drop the last incomplete batch.

    Returns
    -------
    torch.utils.data.DataLoader
        Batches ``((x_u, x_v), y, idx)``.

    Examples
    --------
    >>> (xu, xv), y, idx = next(iter(pair_loader([[0.0], [1.0]], [[2.0], [3.0]], batch_size=2)))
    >>> xu.shape, idx.tolist()
    (torch.Size([2, 1]), [0, 1])
    """
    return make_loader(PairDataset(x_u, x_v, y), batch_size=batch_size, shuffle=shuffle, seed=seed,
                       drop_last=drop_last)


class ContrastiveModule(L.LightningModule):
    """Two encoders trained with ``loss`` (a :mod:`latentalign.contrastive` loss).

    ``ks``: the recall cut-offs logged at validation (``val/R@k_u_to_v``, ``val/R@k_v_to_u``).

    Parameters
    ----------
    encoder_u, encoder_v : torch.nn.Module
        The two encoders, ``(B, ...)`` to ``(B, e)``.
    loss : torch.nn.Module
        A :mod:`latentalign.contrastive` loss (it owns the temperature).
    lr : float, default 1e-3
        AdamW learning rate.
    weight_decay : float, default 1e-4
        AdamW weight decay of the encoders (not of ``1/tau`` or a bias).
    ks : sequence of int, default (1, 5)
        The recall cut-offs logged at validation (``val/R@k_u_to_v``, ``val/R@k_v_to_u``).

    Examples
    --------
    >>> from torch import nn
    >>> from latentalign.contrastive import ClipLoss
    >>> module = ContrastiveModule(nn.Linear(4, 2), nn.Linear(3, 2), ClipLoss())
    >>> [t.shape for t in module(torch.zeros(5, 4), torch.zeros(5, 3))]
    [torch.Size([5, 2]), torch.Size([5, 2])]
    """

    def __init__(self, encoder_u: nn.Module, encoder_v: nn.Module, loss: nn.Module, *, lr: float = 1e-3,
                 weight_decay: float = 1e-4, ks=(1, 5)):
        super().__init__()
        for module, name in ((encoder_u, "encoder_u"), (encoder_v, "encoder_v")):
            if not isinstance(module, nn.Module):
                raise TypeError(f"{name}: expected a torch.nn.Module, got {type(module).__name__}")
        if not isinstance(loss, _TiltedLoss):
            raise TypeError(f"loss: expected a loss of latentalign.contrastive, got {type(loss).__name__}")
        self.encoder_u, self.encoder_v, self.loss = encoder_u, encoder_v, loss
        self.lr = check_lr(lr)
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.ks = check_ints(ks, "ks")
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []

    # -- encoding ------------------------------------------------------------------
    def encode_u(self, x_u: torch.Tensor) -> torch.Tensor:
        """Embed the ``u`` side: ``(B, ...)`` inputs to ``(B, e)``."""
        return self.encoder_u(x_u)

    def encode_v(self, x_v: torch.Tensor) -> torch.Tensor:
        """Embed ``x_v``; with alternatives ``(B, T, d)``: one random alternative per sample in
        training mode, the prompt ensemble of all ``T`` in evaluation mode.
        """
        if x_v.ndim != 3:
            return self.encoder_v(x_v)
        B, T = x_v.shape[:2]
        if self.training:
            pick = torch.randint(T, (B,), device=x_v.device)
            return self.encoder_v(x_v[torch.arange(B, device=x_v.device), pick])
        z = self.encoder_v(x_v.reshape(B * T, *x_v.shape[2:]))
        return prompt_ensemble(z.reshape(B, T, -1), self.loss.tilt)

    def forward(self, x_u, x_v) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed both sides of a batch of pairs.

        Parameters
        ----------
        x_u : torch.Tensor of shape (B, ...)
            Inputs of the ``u`` side.
        x_v : torch.Tensor of shape (B, ...) or (B, T, ...)
            Inputs of the ``v`` side (``T`` alternatives each, see :meth:`encode_v`).

        Returns
        -------
        tuple of torch.Tensor, each of shape (B, e)
            ``(z_u, z_v)``.
        """
        return self.encode_u(x_u), self.encode_v(x_v)

    # -- Lightning hooks -----------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        """Lightning hook: the contrastive loss of one ``((x_u, x_v), y, idx)`` batch."""
        (x_u, x_v), _, _ = split_batch(batch)
        loss = self.loss(*self(x_u, x_v))
        n = x_u.shape[0]
        self.log("train/loss", loss.detach(), on_step=True, on_epoch=True, batch_size=n, prog_bar=True)
        self.log("train/scale", self.loss.scale().detach(), on_step=True, on_epoch=False, batch_size=n)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        """Lightning hook: clamp the learnable scale ``1/tau`` after each optimiser step."""
        self.loss.clamp_()

    def validation_step(self, batch, batch_idx):
        """Lightning hook: keep the batch's embeddings for the epoch's retrieval metrics."""
        (x_u, x_v), _, _ = split_batch(batch)
        z_u, z_v = self(x_u, x_v)
        self._val.append((z_u.detach(), z_v.detach()))

    def on_validation_epoch_end(self) -> None:
        """Lightning hook: log recall@k both ways over the (gathered) validation embeddings."""
        if not self._val:
            return
        z_u = torch.cat([z for z, _ in self._val])
        z_v = torch.cat([z for _, z in self._val])
        self._val.clear()
        if self.trainer is not None and self.trainer.world_size > 1:
            z_u = self.all_gather(z_u).reshape(-1, z_u.shape[1])
            z_v = self.all_gather(z_v).reshape(-1, z_v.shape[1])
        if z_u.shape[0] < 2:
            return
        S = self.scores(z_u, z_v)
        ks = tuple(k for k in self.ks if k <= z_u.shape[0])
        for direction, values in recall_at_k(S, ks).items():
            for k, value in values.items():
                self.log(f"val/R@{k}_{direction}", value)

    def configure_optimizers(self):
        """Lightning hook: AdamW with weight decay on the encoders only (not on ``1/tau`` or a bias)."""
        decay = [*self.encoder_u.parameters(), *self.encoder_v.parameters()]
        groups = [{"params": decay, "weight_decay": self.weight_decay}]
        no_decay = list(self.loss.parameters())
        if no_decay:
            groups.append({"params": no_decay, "weight_decay": 0.0})
        return torch.optim.AdamW(groups, lr=self.lr)

    # -- evaluation helpers ----------------------------------------------------------------
    def scores(self, z_u, z_v) -> torch.Tensor:
        """``S[i, k] = s(u_i, v_k)`` with this module's tilt and current scale (no grad)."""
        from .tilts import scores

        with torch.no_grad():
            return scores(z_u, z_v, self.loss.tilt, self.loss.scale().detach())

    def embed(self, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(z_u, z_v, y)`` over ``loader`` in evaluation mode, CPU, rows ordered by sample id."""
        was_training = self.training
        self.eval()
        parts = []
        try:
            with torch.no_grad():
                for batch in loader:
                    (x_u, x_v), y, idx = split_batch(batch)
                    z_u, z_v = self(x_u.to(self.device), x_v.to(self.device))
                    parts.append((z_u.cpu(), z_v.cpu(), y, idx))
        finally:
            self.train(was_training)
        if not parts:
            raise ValueError("loader: yielded no batches")
        z_u, z_v, y, idx = (torch.cat([p[i] for p in parts]) for i in range(4))
        order = torch.from_numpy(np.argsort(idx.numpy(), kind="stable"))
        return z_u[order], z_v[order], y[order]
