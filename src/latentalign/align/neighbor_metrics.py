r"""Neighbourhood alignment: mutual kNN, cycle kNN and CKNNA (Huh et al. 2024).

``N_X(i)`` are the ``k`` nearest rows to row ``i`` (self excluded, cosine by
default, exact, ties to the smaller row number: :func:`latentalign.neighbors.knn`).
A kNN graph is stored as sorted edge keys ``i * n + j``, so intersections and
reverse edges are found by sorting, in ``O(n k log(n k))``; no ``n x n`` matrix.

* ``mutual_knn = (1/n) sum_i |N_X(i) & N_Y(i)| / k`` (chance ``k/(n-1)``); it is
  the uncentred KA of the 0/1 kNN adjacency matrices.
* ``cycle_knn``: fraction of ``i`` with ``i in U_{j in N_Y(i)} N_X(j)``.
* ``cknna`` (``k >= 2``): with ``M_ij = [j in N_X(i) and j in N_Y(i)]``,
  ``A = M*K``, ``B = M*L`` (linear Grams of row-normalised features)::

      HSIC_M = [sum_ij A_ij B_ji + sum A sum B / ((n-1)(n-2)) - 2 (A^T 1).(B 1) / (n-2)] / (n (n-3))
      CKNNA  = HSIC_M(K, L) / sqrt(HSIC_{M_X}(K, K) HSIC_{M_Y}(L, L))

  (minyoungg/platonic-rep's definition without its ``+1e-6``); ``k = n-1`` gives
  unbiased CKA of the row-normalised features.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(40, 5))
>>> mutual_knn(X, 2 * X, k=5), cycle_knn(X, X, k=5)
(1.0, 1.0)
"""

from __future__ import annotations

import torch

from .._deprecate import renamed_kwargs
from .._validate import as_matrix, check_choice, check_k
from ..kernels import unit_rows
from ..neighbors import BACKENDS, METRICS, knn
from ._common import as_output, check_self_term, paired

__all__ = ["mutual_knn", "cycle_knn", "cknna", "neighbor_lists", "edge_keys", "sparse_hsic",
           "mutual_fraction", "cycle_fraction", "knn_adjacency"]


def neighbor_lists(Z: torch.Tensor, k: int, metric: str, backend: str, name: str) -> torch.Tensor:
    """``(n, k)`` neighbour ids of every row of a validated ``Z`` (errors name ``name``).

    The search runs in ``Z``'s own precision (float32 features: a float32 search, then the
    core's exact float64 re-rank of the candidates), so it costs what the data needs.
    """
    check_choice(metric, "metric", METRICS)
    check_choice(backend, "knn_backend", BACKENDS)
    if metric == "cosine":  # normalise here so a zero row is reported under the right name
        Z = unit_rows(Z.detach(), name)
    return knn(Z.detach(), k, metric="euclidean", backend=backend).indices


def edge_keys(nbrs: torch.Tensor) -> torch.Tensor:
    """Sorted keys ``i * n + j`` of the directed kNN edges ``i -> j``."""
    n = nbrs.shape[0]
    rows = torch.arange(n, device=nbrs.device).unsqueeze(1)
    return (rows * n + nbrs).flatten().sort().values


@renamed_kwargs(backend="knn_backend")
def knn_adjacency(X, k: int = 10, *, metric: str = "cosine", knn_backend: str = "torch") -> torch.Tensor:
    """The 0/1 kNN adjacency ``A_ij = [j in N_X(i)]`` as a sparse COO tensor ``(n, n)``.

    >>> knn_adjacency([[0.], [1.], [3.]], 1, metric="euclidean").to_dense().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    Xt = as_matrix(X, "X")
    k = check_k(k, Xt.shape[0])
    keys = edge_keys(neighbor_lists(Xt, k, metric, knn_backend, "X"))
    n = Xt.shape[0]
    idx = torch.stack([keys // n, keys % n])
    ones = torch.ones(keys.shape[0], dtype=torch.float64)
    return torch.sparse_coo_tensor(idx, ones, (n, n), check_invariants=False).coalesce()


def mutual_fraction(keys_x: torch.Tensor, nbrs_y: torch.Tensor) -> torch.Tensor:
    """``(1/(n k)) sum_i |N_X(i) & N_Y(i)|`` from X's edge keys and Y's neighbour lists."""
    n, k = nbrs_y.shape
    rows = torch.arange(n, device=nbrs_y.device).unsqueeze(1)
    return torch.isin(rows * n + nbrs_y, keys_x).sum().double() / (n * k)


def cycle_fraction(keys_x: torch.Tensor, nbrs_y: torch.Tensor) -> torch.Tensor:
    """Fraction of ``i`` reached back: some ``j in N_Y(i)`` has the X-edge ``j -> i``."""
    n = nbrs_y.shape[0]
    rows = torch.arange(n, device=nbrs_y.device).unsqueeze(1)
    return torch.isin(nbrs_y * n + rows, keys_x).any(1).double().mean()


def sparse_hsic(keys: torch.Tensor, a: torch.Tensor, b: torch.Tensor, n: int) -> torch.Tensor:
    """``HSIC_M`` of the masked Grams ``A = M*K``, ``B = M*L`` given on ``M``'s sorted edge keys.

    ``a[e] = K_ij``, ``b[e] = L_ij`` for edge ``e = (i, j)``; ``K, L`` symmetric, so
    ``B_ji = L_ij`` exactly when the reverse edge ``(j, i)`` is in ``M``.
    """
    i, j = keys // n, keys % n
    rev = j * n + i
    pos = torch.searchsorted(keys, rev).clamp_max(max(keys.shape[0] - 1, 0))
    mutual = keys[pos] == rev if keys.numel() else torch.zeros_like(rev, dtype=torch.bool)
    trace_term = (a * b * mutual).sum()
    col_a = torch.zeros(n, dtype=a.dtype, device=a.device).index_add(0, j, a)  # A^T 1
    row_b = torch.zeros(n, dtype=b.dtype, device=b.device).index_add(0, i, b)  # B 1
    return (trace_term + a.sum() * b.sum() / ((n - 1) * (n - 2)) - 2.0 * (col_a @ row_b) / (n - 2)) / (n * (n - 3))


def edge_products(Z: torch.Tensor, keys: torch.Tensor, n: int, rows: torch.Tensor | None = None) -> torch.Tensor:
    """``z_i . z_j`` for every edge key ``i * n + j`` (``rows`` relabels: ``z_{rows[i]} . z_{rows[j]}``)."""
    i, j = keys // n, keys % n
    if rows is not None:
        i, j = rows[i], rows[j]
    return (Z[i] * Z[j]).sum(1)


def _neighbors_pair(X, Y, k, metric, backend, minimum=1, min_samples=2):
    Xt, Yt = paired(X, Y, min_samples=min_samples, scale_free=True)
    k = check_k(k, Xt.shape[0], minimum=minimum)
    own = lambda Z, name: as_matrix(Z, name, dtype=None)
    return Xt, Yt, neighbor_lists(own(X, "X"), k, metric, backend, "X"), neighbor_lists(own(Y, "Y"), k, metric,
                                                                                      backend, "Y")


@renamed_kwargs(backend="knn_backend")
def mutual_knn(X, Y, *, k: int = 10, metric: str = "cosine", knn_backend: str = "torch"):
    """Mean fraction of shared k nearest neighbours, in ``[0, 1]`` (chance ``k/(n-1)``).

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    k : int, default 10
        Neighbours per sample (self excluded).
    metric : {"cosine", "euclidean"}, default "cosine"
        The distance of both kNN graphs.
    knn_backend : {"torch", "faiss", "auto"}, default "torch"
        The exact kNN search (every backend finds the same neighbours).

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 4))
    >>> round(mutual_knn(X, 2 * X, k=5), 6)
    1.0
    """
    _, _, nx, ny = _neighbors_pair(X, Y, k, metric, knn_backend)
    return as_output(mutual_fraction(edge_keys(nx), ny), X, Y)


@renamed_kwargs(backend="knn_backend")
def cycle_knn(X, Y, *, k: int = 10, metric: str = "cosine", knn_backend: str = "torch"):
    """Fraction of samples that a step in Y's kNN graph then a step in X's graph brings back, in ``[0, 1]``.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    k : int, default 10
        Neighbours per sample (self excluded).
    metric : {"cosine", "euclidean"}, default "cosine"
        The distance of both kNN graphs.
    knn_backend : {"torch", "faiss", "auto"}, default "torch"
        The exact kNN search (every backend finds the same neighbours).

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 4))
    >>> round(cycle_knn(X, 2 * X, k=5), 6)  # a neighbour's nearest neighbour need not be the sample
    0.966667
    """
    _, _, nx, ny = _neighbors_pair(X, Y, k, metric, knn_backend)
    return as_output(cycle_fraction(edge_keys(nx), ny), X, Y)


@renamed_kwargs(backend="knn_backend")
def cknna(X, Y, *, k: int = 10, metric: str = "cosine", knn_backend: str = "torch"):
    """Centred kernel nearest-neighbour alignment (``k >= 2``, ``n >= 4``).

    Usually in ``[-1, 1]``, but not bounded (the mask of the cross term is not those
    of the self-terms) and not symmetric (the ``(A^T 1).(B 1)`` term).

    ``O(n k d)`` time: only Gram entries on kNN edges are computed. A self-term
    ``HSIC_{M_X}(K, K) <= 0`` (too few neighbours to estimate it) raises naming ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    k : int, default 10
        Neighbours per sample (self excluded), at least 2.
    metric : {"cosine", "euclidean"}, default "cosine"
        The distance of both kNN graphs.
    knn_backend : {"torch", "faiss", "auto"}, default "torch"
        The exact kNN search (every backend finds the same neighbours).

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 4))
    >>> round(cknna(X, 2 * X, k=5), 6)
    1.0
    """
    Xt, Yt, nx, ny = _neighbors_pair(X, Y, k, metric, knn_backend, minimum=2, min_samples=4)
    n = Xt.shape[0]
    Xn, Yn = unit_rows(Xt, "X"), unit_rows(Yt, "Y")
    keys_x, keys_y = edge_keys(nx), edge_keys(ny)
    shared = keys_x[torch.isin(keys_x, keys_y)]
    xy = sparse_hsic(shared, edge_products(Xn, shared, n), edge_products(Yn, shared, n), n)
    kx, ky = edge_products(Xn, keys_x, n), edge_products(Yn, keys_y, n)
    xx, yy = sparse_hsic(keys_x, kx, kx, n), sparse_hsic(keys_y, ky, ky, n)
    check_self_term(xx, "X", "HSIC_M")
    check_self_term(yy, "Y", "HSIC_M")
    return as_output(xy / torch.sqrt(xx * yy), X, Y)
