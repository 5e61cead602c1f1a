"""The kNN graph of the latents as a scipy CSR matrix, with optional PCA.

- ``knn_indices(Z, k, backend)``: ``auto`` (the core's exact search: faiss flat for
  CPU latents, blocked torch for GPU latents, the same ids), ``torch`` (blocked, exact),
  ``faiss`` (flat L2, always) or ``ivf`` (approximate: faiss
  ``IndexIVFFlat`` with ``ceil(sqrt N)`` lists, k-means trained with a fixed seed
  on <= 64 points per list for 10 iterations, probing 5% of the lists and at least 8
  (recall@10 on the benchmark's 20-component data: 0.99 at N = 20k and 50k; a fixed
  8 fell to 0.93 at 50k); a query
  with fewer than ``k`` non-self candidates
  falls back to exact search). Self is excluded by id. The old word ``exact`` is a
  deprecated alias of ``auto``.
- ``knn_graph(indices)``: ``A = max(B, B^T)`` with ``B_ij = 1[j in N_k(i)]``:
  binary, symmetric, zero diagonal, degree >= k, ``Nk <= nnz <= 2Nk``.
- ``pca_project(Z, r, seed)``: float64 mean, top-``r`` principal axes
  (``eigh`` of the covariance up to D = 2048, seeded randomized SVD above), each
  axis signed so its largest-magnitude entry is positive. Used for the graph
  only, never for the targets.

Examples
--------
>>> import torch
>>> Z = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
>>> A = knn_graph(knn_indices(Z, 1))
>>> A.toarray().astype(int).tolist()
[[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import torch

from .._deprecate import renamed_value
from .._extras import require
from .._validate import as_matrix, check_choice, check_int, check_k, check_seed
from ..neighbors import knn, non_self_columns

__all__ = ["KNN_BACKENDS", "knn_indices", "knn_graph", "pca_project", "EIGH_MAX_DIM"]

KNN_BACKENDS = ("auto", "torch", "faiss", "ivf")
OLD_KNN_BACKENDS = {"exact": "auto"}  # deprecated words, removed in 0.3
EIGH_MAX_DIM = 2048
IVF_NPROBE = 8  # at least this many lists probed ...
IVF_PROBE_SHARE = 0.05  # ... and at least this share of them
IVF_TRAIN_POINTS_PER_LIST = 64
IVF_TRAIN_ITERATIONS = 10


def pca_project(Z, dim: int, *, seed: int = 0) -> torch.Tensor:
    """Project ``Z (N, D)`` on its top-``dim`` principal axes (float32 ``(N, dim)``), ``dim <= D``
    (``dim = D`` is a rotation onto all axes).

    ``Zc = Z - mean`` (mean in float64); axes are the top eigenvectors of ``Zc^T Zc``
    (float32 products, ``eigh`` in float64 for ``D <= 2048``, else ``sklearn``
    randomized SVD seeded with ``seed``),
    with signs fixed so each axis's largest-magnitude entry is positive.
    """
    dim = check_int(dim, "pca_dim")
    seed = check_seed(seed)
    Z = as_matrix(Z, "Z", dtype=None).detach()
    if dim > Z.shape[1]:
        raise ValueError(f"pca_dim: must be <= the {Z.shape[1]} features of Z, got {dim}")
    # float64 mean; the (D x D) scatter matrix from float32 products (the graph needs no more), eigh in float64
    Zc = Z.to(torch.float32) - Z.to(torch.float64).mean(0, keepdim=True).to(torch.float32)
    if Z.shape[1] <= EIGH_MAX_DIM:
        _, vecs = torch.linalg.eigh((Zc.T @ Zc).to(torch.float64))
        axes = vecs[:, -dim:].flip(1)
    else:
        from sklearn.utils.extmath import randomized_svd

        _, _, vt = randomized_svd(Zc.cpu().numpy(), dim, random_state=seed)
        axes = torch.from_numpy(vt.T.copy()).to(device=Zc.device, dtype=torch.float64)
    top = axes.abs().argmax(0)
    signs = torch.sign(axes[top, torch.arange(dim, device=axes.device)])
    axes = axes * torch.where(signs == 0, torch.ones_like(signs), signs)
    return Zc @ axes.to(torch.float32)


def knn_indices(Z, k: int, *, backend: str = "auto", seed: int = 0) -> torch.Tensor:
    """``(N, k)`` int64 ids of the ``k`` nearest other rows of ``Z`` (Euclidean), nearest first."""
    backend = check_choice(renamed_value(backend, "backend", OLD_KNN_BACKENDS), "backend", KNN_BACKENDS)
    Z = as_matrix(Z, "Z", dtype=None).detach()
    k = check_k(k, Z.shape[0], "k")
    if backend != "ivf":
        return knn(Z, k, backend=backend).indices.cpu()
    return _ivf_indices(Z.to("cpu", torch.float32), k, check_seed(seed))


def _ivf_indices(Z: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    faiss = require("faiss", "approximate kNN (backend 'ivf')")

    n, d = Z.shape
    x = np.ascontiguousarray(Z.numpy(), dtype=np.float32)
    n_lists = max(1, math.ceil(math.sqrt(n)))
    quantizer = faiss.IndexFlatL2(d)
    index = faiss.IndexIVFFlat(quantizer, d, n_lists, faiss.METRIC_L2)
    index.cp.seed = seed
    index.cp.min_points_per_centroid = 1  # small N: no "too few points" warning
    # coarse k-means on a seeded sample of <= 64 points per list, 10 iterations: the lists
    # only route the search, and training on everything costs more than the search itself
    index.cp.max_points_per_centroid = IVF_TRAIN_POINTS_PER_LIST
    index.cp.niter = IVF_TRAIN_ITERATIONS
    index.train(x)
    index.add(x)
    index.nprobe = min(n_lists, max(IVF_NPROBE, math.ceil(IVF_PROBE_SHARE * n_lists)))
    _, found = index.search(x, k + 1)
    found = torch.from_numpy(found).long()
    order, n_other = non_self_columns(found, torch.arange(n), k)
    out = torch.gather(found, 1, order)
    short = torch.nonzero(n_other < k).flatten()
    if short.numel():
        out[short] = _exact_rows(Z, short, k)
    return out


def _exact_rows(Z: torch.Tensor, rows: torch.Tensor, k: int) -> torch.Tensor:
    """Exact self-excluded neighbours of the given rows (the IVF fallback)."""
    nb = knn(Z, k + 1, queries=Z[rows]).indices
    return torch.gather(nb, 1, non_self_columns(nb, rows, k)[0])


def knn_graph(indices) -> sp.csr_matrix:
    """Symmetric binary CSR adjacency ``A = max(B, B^T)`` from ``(N, k)`` neighbour ids."""
    idx = np.asarray(indices.cpu() if isinstance(indices, torch.Tensor) else indices)
    if idx.ndim != 2 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices: expected an (N, k) integer array, got {idx.dtype} {idx.shape}")
    n, k = idx.shape
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"indices: neighbour ids must lie in [0, {n}), got [{idx.min()}, {idx.max()}]")
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    cols = idx.reshape(-1).astype(np.int64)
    if np.any(rows == cols):
        raise ValueError("indices: a row lists itself as a neighbour; self must be excluded")
    both_r, both_c = np.concatenate([rows, cols]), np.concatenate([cols, rows])
    A = sp.csr_matrix((np.ones(both_r.shape[0], dtype=np.float64), (both_r, both_c)), shape=(n, n))
    A.sum_duplicates()
    A.data[:] = 1.0
    return A
