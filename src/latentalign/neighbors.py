"""Exact k-nearest neighbours: blocked torch search or faiss flat, identical results.

``knn(X, k)`` returns, for every row ``i``, the ``k`` rows ``j != i`` nearest to
it, ordered by distance with ties going to the smaller ``j``. Self is excluded
by index, not by dropping the first hit, so duplicated rows stay neighbours of
each other. Memory is ``O(block_size x n)``: the ``n x n`` distance matrix is
never formed and never sorted.

How it stays exact: candidates (``k + margin`` per row) are found in the input
precision with their search distances ``||q||^2 + ||x||^2 - 2 q.x``, taken to be within
``tol = 4 (sqrt(D) + 4) eps (||q||^2 + max ||x||^2)`` of the truth (rounding errors add
up like ``sqrt(D)``; the largest seen on Gaussian data, D = 16..2048, shifted or not,
with both backends, was 7.6 eps (...), at least 10x below ``tol``). The search order is
kept where consecutive distances among the first ``k + 1`` differ by more than
``2 tol``; rows with a closer pair are re-ranked in float64 by ``(distance, index)``,
and a row whose k-th neighbour may be matched by a point outside its candidates is
recomputed over all rows in float64. Returned distances are ``||q - x||`` computed
directly (no cancellation) in the input precision.

Examples
--------
>>> import torch
>>> X = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
>>> nb = knn(X, 2)
>>> nb.indices.tolist()
[[1, 2], [0, 2], [1, 0], [2, 1]]
>>> nb.distances[0].tolist()
[1.0, 3.0]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ._extras import available, require
from ._validate import (
    MODERATE_EXPONENT,
    as_matrix,
    check_choice,
    check_int,
    check_k,
    scale_exponent,
    unit_scale,
)
from .kernels import unit_rows

__all__ = ["knn", "Neighbors", "METRICS", "BACKENDS"]

METRICS = ("euclidean", "cosine")
BACKENDS = ("torch", "faiss", "auto")
_BLOCK_BYTES = 32 * 2**20
_MARGIN = 8


class Neighbors(NamedTuple):
    """The k nearest neighbours of each query, nearest first (ties to the smaller index).

    Attributes
    ----------
    indices : torch.Tensor of shape (n_queries, k)
        int64 row indices into ``X``.
    distances : torch.Tensor of shape (n_queries, k)
        Their distances to the query, in the search's dtype.
    """

    indices: torch.Tensor
    distances: torch.Tensor


def knn(
    X,
    k: int,
    *,
    queries=None,
    metric: str = "euclidean",
    backend: str = "torch",
    block_size: int | None = None,
) -> Neighbors:
    """K nearest rows of ``X`` for each query (each row of ``X`` when ``queries`` is None).

    Distances are Euclidean ``||x - q||`` or cosine ``1 - cos(x, q)``. With
    ``queries=None`` self is excluded, so ``1 <= k <= n - 1``; with separate
    queries ``1 <= k <= n``. ``block_size`` is the number of query rows per
    block (default: as many as fit in 32 MiB of scores). ``backend="auto"`` is
    faiss for CPU data when it is installed (its fused selection is faster there; the
    ``[lcc]`` extra) and torch otherwise; every backend returns the same neighbours.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows searched.
    k : int
        Neighbours per query.
    queries : array-like of shape (n_queries, n_features), optional
        The query rows; ``None`` searches each row of ``X`` among the others.
    metric : {"euclidean", "cosine"}, default "euclidean"
        The distance.
    backend : {"torch", "faiss", "auto"}, default "torch"
        The exact search engine (the glossary's ``backend``).
    block_size : int, optional
        Query rows per block of the torch search.

    Returns
    -------
    Neighbors
        ``indices`` and ``distances``, each ``(n_queries, k)`` (``n_queries = n_samples`` without ``queries``).

    Examples
    --------
    >>> knn([[0.], [1.], [3.]], 1).indices.tolist()
    [[1], [0], [1]]
    """
    check_choice(metric, "metric", METRICS)
    check_choice(backend, "backend", BACKENDS)
    data = as_matrix(X, "X", dtype=None).detach()
    self_search = queries is None
    if self_search:
        q = data
        k = check_k(k, data.shape[0], "k")
    else:
        q = as_matrix(queries, "queries", dtype=None).detach().to(data.device)
        if q.shape[1] != data.shape[1]:
            raise ValueError(
                f"queries: expected {data.shape[1]} features like X, got {q.shape[1]}"
            )
        k = check_k(k, data.shape[0] + 1, "k")
    if block_size is not None:
        block_size = check_int(block_size, "block_size")
    work = torch.promote_types(data.dtype, q.dtype)
    data, q = data.to(work), q.to(work)
    # one power of two for data and queries: the order is unchanged, no square overflows or underflows
    e = 0 if metric == "cosine" else scale_exponent(data if self_search else torch.cat([data, q]))
    e = 0 if abs(e) <= MODERATE_EXPONENT else e
    data = unit_scale(data, e)
    q = data if self_search else unit_scale(q, e)
    if metric == "cosine":
        data = unit_rows(data, "X")
        q = data if self_search else unit_rows(q, "queries")
    n_cand = min(k + _MARGIN, data.shape[0] - (1 if self_search else 0))
    if backend == "auto":
        backend = "faiss" if not data.is_cuda and available("faiss") else "torch"
    if backend == "torch":
        cand, approx = _torch_candidates(data, q, n_cand, self_search, block_size)
        search_eps = torch.finfo(work).eps
    else:
        cand, approx = _faiss_candidates(data, q, n_cand, self_search)
        search_eps = torch.finfo(torch.float32).eps
    idx, dist = _rerank_exact(data, q, cand, approx, k, self_search, search_eps)
    dist = dist / 2.0 if metric == "cosine" else unit_scale(dist.sqrt(), -e)  # ||a - b||^2 / 2 = 1 - cos
    return Neighbors(idx.to(X.device if isinstance(X, torch.Tensor) else "cpu"), dist)


def _torch_candidates(data, q, n_cand, self_search, block_size):
    """Per query row, the ids of the ``n_cand`` smallest ``||x||^2 - 2 q.x`` (= distance - ||q||^2,
    the same order), one reused ``(block, n)`` buffer at a time, and their squared distances.
    """
    n = data.shape[0]
    if block_size is None:
        block_size = max(1, _BLOCK_BYTES // (data.element_size() * n))
    block_size = min(block_size, q.shape[0])
    ids = torch.empty(q.shape[0], n_cand, dtype=torch.long, device=data.device)
    approx = torch.empty(q.shape[0], n_cand, dtype=data.dtype, device=data.device)
    data_sq = (data * data).sum(1).unsqueeze(0)
    buf = torch.empty(block_size, n, dtype=data.dtype, device=data.device)
    for start in range(0, q.shape[0], block_size):
        stop = min(start + block_size, q.shape[0])
        scores = torch.addmm(data_sq, q[start:stop], data.T, alpha=-2.0, out=buf[: stop - start])
        if self_search:
            rows = torch.arange(stop - start, device=data.device)
            scores[rows, rows + start] = float("inf")
        top = torch.topk(scores, n_cand, dim=1, largest=False, sorted=False)
        ids[start:stop], approx[start:stop] = top.indices, top.values
    return ids, approx + (q * q).sum(1, keepdim=True)


def _faiss_candidates(data, q, n_cand, self_search):
    faiss = require("faiss", "the faiss kNN backend")

    base = np.ascontiguousarray(data.cpu().numpy(), dtype=np.float32)
    index = faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    queries = base if self_search else np.ascontiguousarray(q.cpu().numpy(), dtype=np.float32)
    extra = 1 if self_search else 0
    found_d, found = index.search(queries, n_cand + extra)
    found, found_d = torch.from_numpy(found).to(torch.long), torch.from_numpy(found_d)
    if self_search:  # self may be absent from its own row when duplicated
        order, _ = non_self_columns(found, torch.arange(found.shape[0]), n_cand)
        found, found_d = torch.gather(found, 1, order), torch.gather(found_d, 1, order)
    return found.to(data.device), found_d.to(device=data.device, dtype=data.dtype)


def non_self_columns(ids: torch.Tensor, own: torch.Tensor, n_keep: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For a search that returned each query's own id among its hits: the columns of the first
    ``n_keep`` entries of each row of ``ids`` that are neither the row's own id ``own[i]`` nor
    ``-1`` (faiss: no hit), order kept, and how many such entries each row has.

    >>> cols, n_other = non_self_columns(torch.tensor([[0, 2, 1], [3, 1, 5]]), torch.tensor([0, 1]), 2)
    >>> cols.tolist(), n_other.tolist()
    ([[1, 2], [0, 2]], [2, 2])
    """
    skip = (ids == own.unsqueeze(1)) | (ids < 0)
    return torch.argsort(skip.to(torch.int8), dim=1, stable=True)[:, :n_keep], (~skip).sum(1)


def _rerank_exact(data, q, cand, approx, k, self_search, search_eps):
    """The k nearest by exact ``(distance, index)`` from candidates with search distances ``approx``;
    returns ids and squared distances. Only the rows that need it are touched in float64.
    """
    idx, approx = _lexsort_rows(approx, cand)
    a64 = approx.to(torch.float64)
    scale = _sq_norms64(q) + _sq_norms64(data).max()
    tol = (4 * (data.shape[1] ** 0.5 + 4) * search_eps * scale).unsqueeze(1)
    m = min(k + 1, cand.shape[1])
    near_tie = (a64[:, 1:m] - a64[:, : m - 1] <= 2 * tol).any(1)
    if cand.shape[1] > k:  # the search itself ranked every point outside the candidates at >= the last
        near_tie |= a64[:, -1] - a64[:, k - 1] <= 2 * tol[:, 0]
    idx = idx[:, :k].clone()
    dist = _direct_sq_distances(data, q, idx)
    rows = torch.nonzero(near_tie).flatten()
    if rows.numel() == 0:
        return idx, dist
    q64 = q[rows].to(torch.float64)
    exact = _direct_sq_distances(data, q64, cand[rows])
    ids, exact = _lexsort_rows(exact, cand[rows])
    idx[rows], dist[rows] = ids[:, :k], exact[:, :k].to(dist.dtype)
    if cand.shape[1] == k:
        return idx, dist
    # a point outside the candidates may tie with or beat the k-th: recompute that row in full
    outside_floor = a64[rows, -1] - tol[rows, 0]
    redo = torch.nonzero(outside_floor <= exact[:, k - 1]).flatten().tolist()
    if not redo:
        return idx, dist
    d64 = data.to(torch.float64)
    ids_all = torch.arange(d64.shape[0], device=data.device).unsqueeze(0)
    for r in redo:
        i = int(rows[r])
        row_d = ((d64 - q64[r]) ** 2).sum(1)
        if self_search:
            row_d[i] = float("inf")
        row_idx, row_dist = _lexsort_rows(row_d.unsqueeze(0), ids_all)
        idx[i], dist[i] = row_idx[0, :k], row_dist[0, :k].to(dist.dtype)
    return idx, dist


def _sq_norms64(x: torch.Tensor) -> torch.Tensor:
    """``||x_i||^2`` accumulated in float64, without a float64 copy of ``x``."""
    return torch.linalg.vector_norm(x, dim=1, dtype=torch.float64) ** 2


def _direct_sq_distances(data, q, idx, rows_per_block=128):
    """``||q_i - x_idx[i, j]||^2`` in the precision of ``q``, summed from differences.

    Rows of ``data`` are gathered in their own precision and promoted block by
    block, so a float64 ``q`` re-ranks float32 data without copying all of it.
    """
    out = torch.empty(idx.shape, dtype=q.dtype, device=data.device)
    for start in range(0, idx.shape[0], rows_per_block):
        block = slice(start, start + rows_per_block)
        diff = data[idx[block]].to(q.dtype).sub_(q[block].unsqueeze(1))
        out[block] = diff.mul_(diff).sum(-1)
    return out


def _lexsort_rows(dist: torch.Tensor, ids: torch.Tensor):
    """Sort each row by distance, ties broken by the smaller id."""
    by_id = torch.argsort(ids, dim=1)
    dist, ids = torch.gather(dist, 1, by_id), torch.gather(ids, 1, by_id)
    by_dist = torch.argsort(dist, dim=1, stable=True)
    return torch.gather(ids, 1, by_dist), torch.gather(dist, 1, by_dist)
