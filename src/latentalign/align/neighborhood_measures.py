r"""Neighbourhood measures of Klabunde et al.'s survey (``resi``): Jaccard, rank, second-order cosine.

``N_X(i)`` are the ``k`` cosine nearest neighbours of row ``i`` (self excluded, nearest first).

* **Jaccard kNN similarity**: mean over ``i`` of ``|N_X(i) & N_Y(i)| / |N_X(i) | N_Y(i)|``.
* **rank similarity** (Wang et al. 2020): for each shared neighbour ``j`` with ranks ``r, r'``
  (1 = nearest), ``2 / ((1 + |r - r'|)(r + r'))``, summed and divided by the harmonic number
  ``H_m`` of the ``m`` shared neighbours (0 if none); mean over ``i``.
* **second-order cosine similarity** (Hamilton et al. 2016): for each ``i``, the cosine between
  the vectors of cosine distances from ``i`` to the union ``N_X(i) | N_Y(i)``, in ``X`` and in
  ``Y``; mean over ``i``.

The searches are the core's exact kNN (``O(n k)`` memory); nothing ``n x n`` is formed.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(50, 6))
>>> jaccard_knn(X, 3 * X, k=5), rank_similarity(X, X, k=5), round(second_order_cosine(X, X, k=5), 12)
(1.0, 1.0, 1.0)
"""

from __future__ import annotations

import torch

from .._validate import check_k
from ..kernels import unit_rows
from ._common import as_output, paired
from .neighbor_metrics import neighbor_lists

__all__ = ["jaccard_knn", "rank_similarity", "second_order_cosine"]

_ROWS = 1024  # rows per block of the second-order cosine


def _lists(X, Y, k: int):
    Xt, Yt = paired(X, Y, min_samples=3)
    k = check_k(k, Xt.shape[0], "k")
    return Xt, Yt, neighbor_lists(Xt, k, "cosine", "torch", "X"), neighbor_lists(Yt, k, "cosine", "torch", "Y")


def jaccard_knn(X, Y, *, k: int = 10):
    """Mean Jaccard index of the ``k``-NN sets of each row, in ``[0, 1]``."""
    _, _, Nx, Ny = _lists(X, Y, k)
    shared = (Nx.unsqueeze(2) == Ny.unsqueeze(1)).sum((1, 2)).double()
    return as_output((shared / (2 * Nx.shape[1] - shared)).mean(), X, Y)


def rank_similarity(X, Y, *, k: int = 10):
    """Mean rank similarity of the ``k``-NN lists (module doc), in ``[0, 1]``."""
    _, _, Nx, Ny = _lists(X, Y, k)
    eq = Nx.unsqueeze(2) == Ny.unsqueeze(1)  # (n, k, k): position a in X's list equals position b in Y's
    ranks = torch.arange(1, Nx.shape[1] + 1, dtype=torch.float64, device=Nx.device)
    rx, ry = ranks.view(1, -1, 1), ranks.view(1, 1, -1)
    terms = torch.where(eq, 2.0 / ((1.0 + (rx - ry).abs()) * (rx + ry)), torch.zeros((), dtype=torch.float64))
    m = eq.sum((1, 2))
    harmonic = torch.cat([torch.zeros(1, dtype=torch.float64), (1.0 / ranks).cumsum(0)]).to(Nx.device)[m]
    score = torch.where(m > 0, terms.sum((1, 2)) / harmonic.clamp_min(1e-300), torch.zeros((), dtype=torch.float64))
    return as_output(score.mean(), X, Y)


def second_order_cosine(X, Y, *, k: int = 10):
    """Mean cosine of the distance profiles to the union of both neighbour sets, in ``[0, 1]``."""
    Xt, Yt, Nx, Ny = _lists(X, Y, k)
    Zx, Zy = unit_rows(Xt, "X"), unit_rows(Yt, "Y")
    cand = torch.cat([Nx, Ny], 1)  # (n, 2k); a neighbour in both lists counts once
    dup = (cand.unsqueeze(2) == cand.unsqueeze(1)).tril(-1).any(2)
    keep = (~dup).double()
    total = Xt.new_zeros(())
    for start in range(0, Xt.shape[0], _ROWS):
        rows = slice(start, start + _ROWS)
        c = cand[rows]
        dx = 1.0 - (Zx[c] * Zx[rows].unsqueeze(1)).sum(2)
        dy = 1.0 - (Zy[c] * Zy[rows].unsqueeze(1)).sum(2)
        w = keep[rows]
        num = (w * dx * dy).sum(1)
        den = torch.sqrt((w * dx * dx).sum(1) * (w * dy * dy).sum(1))
        total = total + (num / den).sum()
    return as_output(total / Xt.shape[0], X, Y)
