"""Exact k-nearest neighbours: blocked torch search or faiss flat, identical results.

``knn(X, k)`` returns, for every row ``i``, the ``k`` rows ``j != i`` nearest to
it, ordered by distance with ties going to the smaller ``j``. Self is excluded
by index, not by dropping the first hit, so duplicated rows stay neighbours of
each other. Memory is ``O(block_size x n)``: the ``n x n`` distance matrix is
never formed and never sorted.

How it stays exact: candidates (``k + margin`` per row) are found in the input
precision, then re-ranked in float64 by ``(distance, index)``. A row whose
boundary is not separated from the first excluded candidate by more than the
float rounding of the search is recomputed in full in float64.

Example
-------
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

from ._validate import as_matrix, check_choice, check_k
from .kernels import unit_rows

METRICS = ("euclidean", "cosine")
BACKENDS = ("torch", "faiss")
_BLOCK_BYTES = 32 * 2**20
_MARGIN = 8


class Neighbors(NamedTuple):
    """``indices[i]``: the k neighbours of query i, nearest first; ``distances``: theirs."""

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
    """k nearest rows of ``X`` for each query (each row of ``X`` when ``queries`` is None).

    Distances are Euclidean ``||x - q||`` or cosine ``1 - cos(x, q)``. With
    ``queries=None`` self is excluded, so ``1 <= k <= n - 1``; with separate
    queries ``1 <= k <= n``. ``block_size`` is the number of query rows per
    block (default: as many as fit in 32 MiB of scores).
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
    work = torch.promote_types(data.dtype, q.dtype)
    data, q = data.to(work), q.to(work)
    if metric == "cosine":
        data = unit_rows(data, "X")
        q = data if self_search else unit_rows(q, "queries")
    n_cand = min(k + _MARGIN, data.shape[0] - (1 if self_search else 0))
    if backend == "torch":
        cand = _torch_candidates(data, q, n_cand, self_search, block_size)
        search_eps = torch.finfo(work).eps
    else:
        cand = _faiss_candidates(data, q, n_cand, self_search)
        search_eps = torch.finfo(torch.float32).eps
    idx, dist = _rerank_exact(data, q, cand, k, self_search, search_eps)
    if metric == "cosine":
        dist = dist / 2.0  # ||a - b||^2 / 2 = 1 - cos for unit rows
    else:
        dist = dist.sqrt()
    return Neighbors(idx.to(X.device if isinstance(X, torch.Tensor) else "cpu"), dist.to(work))


def _torch_candidates(data, q, n_cand, self_search, block_size):
    """Per query row, the ids of the ``n_cand`` smallest ``||x||^2 - 2 q.x`` (= distance - ||q||^2,
    the same order), one reused ``(block, n)`` buffer at a time."""
    n = data.shape[0]
    if block_size is None:
        block_size = max(1, _BLOCK_BYTES // (data.element_size() * n))
    block_size = min(block_size, q.shape[0])
    out = torch.empty(q.shape[0], n_cand, dtype=torch.long, device=data.device)
    data_sq = (data * data).sum(1).unsqueeze(0)
    buf = torch.empty(block_size, n, dtype=data.dtype, device=data.device)
    for start in range(0, q.shape[0], block_size):
        stop = min(start + block_size, q.shape[0])
        scores = torch.addmm(data_sq, q[start:stop], data.T, alpha=-2.0, out=buf[: stop - start])
        if self_search:
            rows = torch.arange(stop - start, device=data.device)
            scores[rows, rows + start] = float("inf")
        out[start:stop] = torch.topk(scores, n_cand, dim=1, largest=False, sorted=False).indices
    return out


def _faiss_candidates(data, q, n_cand, self_search):
    import faiss

    base = np.ascontiguousarray(data.cpu().numpy(), dtype=np.float32)
    index = faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    queries = base if self_search else np.ascontiguousarray(q.cpu().numpy(), dtype=np.float32)
    extra = 1 if self_search else 0
    _, found = index.search(queries, n_cand + extra)
    found = torch.from_numpy(found).to(torch.long)
    if not self_search:
        return found.to(data.device)
    rows = torch.arange(found.shape[0]).unsqueeze(1)
    not_self = found != rows
    # keep the first n_cand non-self ids of each row (self may be absent when duplicated)
    order = torch.argsort((~not_self).to(torch.int8), dim=1, stable=True)
    return torch.gather(found, 1, order)[:, :n_cand].to(data.device)


def _rerank_exact(data, q, cand, k, self_search, search_eps, rows_per_block=4096):
    """Sort candidates by (float64 distance, index); recompute ambiguous rows in full."""
    d64, q64 = data.to(torch.float64), q.to(torch.float64)
    cand_d = torch.empty(cand.shape, dtype=torch.float64, device=data.device)
    for start in range(0, cand.shape[0], rows_per_block):
        block = slice(start, start + rows_per_block)
        cand_d[block] = ((q64[block].unsqueeze(1) - d64[cand[block]]) ** 2).sum(-1)
    idx, dist = _lexsort_rows(cand_d, cand)
    if cand.shape[1] == k:
        return idx, dist
    # The search precision cannot tell apart distances closer than its rounding:
    # if the first excluded candidate is that close to the k-th, a tied or
    # near-tied point may lie outside the candidate set.
    scale = (q64 * q64).sum(1) + (d64 * d64).sum(1).max()
    unsure = dist[:, -1] - dist[:, k - 1] <= 64 * search_eps * scale
    for i in torch.nonzero(unsure).flatten().tolist():
        row_d = ((d64 - q64[i]) ** 2).sum(1)
        if self_search:
            row_d[i] = float("inf")
        ids = torch.arange(d64.shape[0], device=data.device)
        row_idx, row_dist = _lexsort_rows(row_d.unsqueeze(0), ids.unsqueeze(0))
        idx[i, :k], dist[i, :k] = row_idx[0, :k], row_dist[0, :k]
    return idx[:, :k], dist[:, :k]


def _lexsort_rows(dist: torch.Tensor, ids: torch.Tensor):
    """Sort each row by distance, ties broken by the smaller id."""
    by_id = torch.argsort(ids, dim=1)
    dist, ids = torch.gather(dist, 1, by_id), torch.gather(ids, 1, by_id)
    by_dist = torch.argsort(dist, dim=1, stable=True)
    return torch.gather(ids, 1, by_dist), torch.gather(dist, 1, by_dist)
