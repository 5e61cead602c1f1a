"""Seeded community detection on a CSR graph, and its modularity.

``Q = (1/2M) sum_ij [A_ij - gamma d_i d_j / 2M] delta(c_i, c_j)
    = sum_b [e_b / 2M - gamma (D_b / 2M)^2]``,
``2M = sum_ij A_ij``, ``e_b`` the weight inside community ``b`` (both directions),
``D_b`` its total degree.

Methods: ``louvain`` (scikit-network ``Louvain``, Newman modularity, nodes
shuffled with ``random_state=seed``), ``leiden`` (scikit-network ``Leiden``),
``igraph-leiden`` (optional igraph package: ``community_leiden`` with the
modularity objective, since igraph defaults to CPM), ``networkx``
(``louvain_communities(seed=seed)``, an oracle: slow). Communities
are relabelled by decreasing size, ties by smallest member id, so the same
``(A, seed)`` always gives the same labels.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> edges = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
>>> r, c = np.array(edges).T
>>> A = sp.csr_matrix((np.ones(14), (np.r_[r, c], np.r_[c, r])), shape=(6, 6))
>>> detect_communities(A).tolist(), round(modularity(A, [0, 0, 0, 1, 1, 1]), 8)
([0, 0, 0, 1, 1, 1], 0.35714286)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._extras import require
from .._validate import check_choice, check_positive, check_seed

__all__ = ["METHODS", "detect_communities", "modularity", "relabel_by_size"]

METHODS = ("louvain", "leiden", "igraph-leiden", "networkx")


def _as_graph(A) -> sp.csr_matrix:
    if not sp.issparse(A):
        raise TypeError(f"graph: expected a scipy sparse matrix, got {type(A).__name__}")
    A = sp.csr_matrix(A)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"graph: expected a square adjacency matrix, got shape {A.shape}")
    if A.nnz and not (np.isfinite(A.data).all() and A.data.min() >= 0):
        raise ValueError("graph: edge weights must be finite and >= 0 (a similarity graph), got "
                         f"{int((~np.isfinite(A.data)).sum())} non-finite and {int((A.data < 0).sum())} negative")
    return A


def _as_partition(c, n: int) -> np.ndarray:
    c = np.asarray(c)
    if c.shape != (n,) or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"communities: expected {n} integer labels, got {c.dtype} {c.shape}")
    if c.size and c.min() < 0:
        raise ValueError("communities: labels must be >= 0")
    return c.astype(np.int64)


def relabel_by_size(c) -> np.ndarray:
    """Relabel communities ``0..K-1`` by decreasing size; ties go to the smaller smallest member id."""
    c = np.asarray(c, dtype=np.int64)
    _, first, inverse, counts = np.unique(c, return_index=True, return_inverse=True, return_counts=True)
    order = np.lexsort((first, -counts))  # by size desc, then first member id asc
    new = np.empty_like(order)
    new[order] = np.arange(order.shape[0])
    return new[inverse.reshape(-1)]


def detect_communities(A, *, method: str = "louvain", resolution: float = 1.0, seed: int = 0) -> np.ndarray:
    """Community labels ``(N,)`` int64 of graph ``A``, relabelled by decreasing size.

    Deterministic: the same ``(A, method, resolution, seed)`` gives the same labels.
    """
    check_choice(method, "method", METHODS)
    resolution = check_positive(resolution, "resolution")
    seed = check_seed(seed)
    A = _as_graph(A)
    if method == "networkx":
        import networkx as nx

        G = nx.from_scipy_sparse_array(A)
        parts = nx.community.louvain_communities(G, resolution=resolution, seed=seed)
        c = np.empty(A.shape[0], dtype=np.int64)
        for label, members in enumerate(parts):
            c[list(members)] = label
        return relabel_by_size(c)
    if method == "igraph-leiden":
        return relabel_by_size(_igraph_leiden(A, resolution, seed))
    clustering = require("sknetwork.clustering", "community detection")
    algo = clustering.Louvain if method == "louvain" else clustering.Leiden
    model = algo(resolution=resolution, modularity="newman", shuffle_nodes=True, random_state=seed,
                 return_probs=False, return_aggregate=False)
    return relabel_by_size(model.fit_predict(A))


def _igraph_leiden(A: sp.csr_matrix, resolution: float, seed: int) -> np.ndarray:
    """Igraph's Leiden with the modularity objective (its default is CPM), iterated to convergence,
    seeded through a private ``random.Random`` (the global one is left alone).
    """
    import random

    try:
        import igraph
    except ImportError as exc:  # optional: the ``bench`` extra
        raise ValueError("method: 'igraph-leiden' needs the igraph package (pip install igraph)") from exc
    upper = sp.triu(A, k=1).tocoo()
    G = igraph.Graph(n=A.shape[0], edges=np.stack([upper.row, upper.col], 1).tolist())
    igraph.set_random_number_generator(random.Random(seed))
    try:
        parts = G.community_leiden(objective_function="modularity", weights=upper.data.tolist(),
                                   resolution=resolution, n_iterations=-1)
    finally:
        igraph.set_random_number_generator(random)
    return np.asarray(parts.membership, dtype=np.int64)


def modularity(A, communities, *, resolution: float = 1.0) -> float:
    """Newman modularity ``Q = sum_b [e_b/2M - gamma (D_b/2M)^2]`` in float64 (0 for an empty graph)."""
    resolution = check_positive(resolution, "resolution")
    A = _as_graph(A)
    c = _as_partition(communities, A.shape[0])
    two_m = float(A.sum())
    if two_m == 0:
        return 0.0
    coo = A.tocoo()
    n_comm = int(c.max()) + 1
    inside = np.bincount(c[coo.row], weights=(c[coo.row] == c[coo.col]) * coo.data.astype(np.float64),
                         minlength=n_comm)
    degree = np.bincount(c, weights=np.asarray(A.sum(axis=1)).ravel().astype(np.float64), minlength=n_comm)
    return float(np.sum(inside / two_m - resolution * (degree / two_m) ** 2))
