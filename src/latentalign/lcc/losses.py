"""The LCC losses: pull misclustered latents toward correctly clustered latents of their class.

For a batch of current latents ``u`` (train mode, with grad), labels ``y`` and
the batch MC set ``S = {i : y_i >= 0, m(c[idx_i]) != y_i, y_i matched}``:

- exact: for each cluster ``b`` with ``m(b) = y_i``, ``t_{i,b}`` is the mean of
  the ``min(k_target, n_b)`` bank members nearest ``u_i.detach()``,
  ``d_{i,b} = ||u_i - t_{i,b}||_2 / sqrt(D)``, ``l_i = min_b d_{i,b}``;
- randomized: ``l_i = min_r ||u_i - r|| / sqrt(D)`` over ``n_per_cluster`` members
  drawn with replacement from each bank of class ``y_i`` (a ``torch.Generator``
  seeded with ``seed + epoch``) -- the exact term with one bank of draws and ``k = 1``;
- ``L = (1/|S|) sum_{i in S} l_i``; ``u.sum() * 0`` when ``S`` is empty (keeps
  every parameter in the graph, as DDP needs).

Everything runs with torch on the batch's device, one (class, bank) pair at a
time (``cdist`` + ``topk``): no per-sample loop, no search library in the step.
The gradient is finite (zero) at zero distance.

Example (the spec's check 3)
-------
>>> import torch
>>> banks = {0: [torch.tensor([[0.0, 0.0], [2.0, 0.0]]), torch.tensor([[10.0, 0.0]])]}
>>> u = torch.tensor([[4.0, 0.0], [9.0, 0.0]], dtype=torch.float64, requires_grad=True)
>>> L = lcc_loss(u, torch.tensor([0, 0]), torch.tensor([True, True]), banks, k=2)
>>> round(L.item(), 8)
1.41421356
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch
from torch import nn

from .._validate import check_int, check_seed
from .state import ClusterState

__all__ = ["lcc_distances", "lcc_loss", "ExactLCCLoss", "RandomizedLCCLoss", "Targets"]

Targets = Mapping[int, Sequence[torch.Tensor]]
"""Class -> its banks (each ``(n_b, D)``); a class absent from the map has no target."""


def lcc_distances(u: torch.Tensor, banks: Sequence[torch.Tensor], k: int) -> torch.Tensor:
    """``(n, len(banks))``: ``||u_i - t_{i,b}|| / sqrt(D)``, ``t_{i,b}`` the mean of the
    ``min(k, n_b)`` members of bank ``b`` nearest ``u_i.detach()``."""
    cols = []
    scale = math.sqrt(u.shape[1])
    anchor = u.detach()
    for bank in banks:
        bank = bank.to(device=u.device, dtype=u.dtype)
        near = torch.cdist(anchor, bank).topk(min(k, bank.shape[0]), dim=1, largest=False).indices
        target = bank[near].mean(dim=1)
        cols.append(torch.linalg.vector_norm(u - target, dim=1) / scale)
    return torch.stack(cols, dim=1)


def lcc_loss(u: torch.Tensor, labels: torch.Tensor, mc: torch.Tensor, targets: Targets, k: int) -> torch.Tensor:
    """Mean over ``S = mc & (labels >= 0) & (class has a bank)`` of ``min_b lcc_distances``.

    ``u`` ``(n, D)``, ``labels`` ``(n,)`` int, ``mc`` ``(n,)`` bool: the batch's
    misclustered flags. Returns ``u.sum() * 0`` when ``S`` is empty.
    """
    labels = labels.to(u.device)
    mc = mc.to(u.device)
    total, count = u.sum() * 0.0, 0
    for a in torch.unique(labels[mc & (labels >= 0)]).tolist():
        banks = targets.get(int(a))
        if not banks:
            continue  # targetless: class a received no cluster
        rows = torch.nonzero(mc & (labels == a)).flatten()
        total = total + lcc_distances(u[rows], banks, k).min(dim=1).values.sum()
        count += rows.numel()
    return total / count if count else total


def _check_latents(u: torch.Tensor, dim: int) -> torch.Tensor:
    if not isinstance(u, torch.Tensor):
        raise TypeError(f"latents: expected a torch.Tensor, got {type(u).__name__}")
    if u.ndim != 2:
        u = u.reshape(u.shape[0], -1)
    if u.shape[1] != dim:
        raise ValueError(f"latents: expected {dim} features like the clustered latents, got {u.shape[1]}")
    return u


class _BankLoss(nn.Module):
    """``forward(u, labels, mc, targets)``: :func:`lcc_loss` with the subclass's ``k``."""

    k: int

    def forward(self, u: torch.Tensor, labels: torch.Tensor, mc: torch.Tensor, targets: Targets) -> torch.Tensor:
        dim = next((b[0].shape[1] for b in targets.values() if b), u.shape[-1])
        return lcc_loss(_check_latents(u, dim), labels, mc, targets, self.k)


class ExactLCCLoss(_BankLoss):
    """Exact LCC: distance to the mean of the ``k_target`` nearest CC latents of the closest matched cluster.

    ``targets(state)`` gives the per-class banks of a :class:`ClusterState`;
    ``forward(u, labels, mc, targets)`` the loss of a batch.
    """

    def __init__(self, k_target: int = 10):
        super().__init__()
        self.k = self.k_target = check_int(k_target, "k_target")

    def targets(self, state: ClusterState, epoch: int = 0) -> dict[int, list[torch.Tensor]]:
        return state.class_banks()


class RandomizedLCCLoss(_BankLoss):
    """Randomized LCC: distance to the nearest of ``n_per_cluster`` draws (with replacement) per matched cluster.

    The draws are made once per clustering, by ``targets(state, epoch)`` with a
    ``torch.Generator`` seeded ``seed + epoch`` (no global RNG).
    """

    def __init__(self, n_per_cluster: int = 100, seed: int = 0):
        super().__init__()
        self.n_per_cluster = check_int(n_per_cluster, "n_per_cluster")
        self.seed = check_seed(seed)
        self.k = 1

    def targets(self, state: ClusterState, epoch: int = 0) -> dict[int, list[torch.Tensor]]:
        g = torch.Generator().manual_seed(self.seed + int(epoch))
        draws: dict[int, list[torch.Tensor]] = {}
        for b in sorted(state.banks):
            bank = state.banks[b]
            pick = torch.randint(bank.shape[0], (self.n_per_cluster,), generator=g)
            draws.setdefault(int(state.matching[b]), []).append(bank[pick])
        return {a: [torch.cat(chunks)] for a, chunks in draws.items()}
