"""The clustering step: latents -> kNN graph -> communities -> matching -> masks -> banks.

``cluster_latents(Z, y, n_classes)`` returns a frozen :class:`ClusterState`.
Row ``i`` of every per-sample field is sample id ``i``. The banks are built
from the raw latents ``Z`` (PCA, if any, only shapes the graph).

``matching="shuffled"`` is the ablation: the matching ``m'`` and the banks come
from ``(y, c', Z)`` with ``c'_i = c_{pi(i)}`` (a permutation seeded with
``seed``), while the masks still use the true ``c``; the MC share becomes
about ``1 - 1/C`` and the banks random same-class subsets.

The example is :func:`cluster_latents`'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from .._deprecate import renamed_kwargs, renamed_value
from .._validate import as_matrix, check_choice, check_int, check_k, check_positive, check_seed
from .collect import check_labels
from .communities import METHODS, detect_communities
from .graph import KNN_BACKENDS, OLD_KNN_BACKENDS, knn_graph, knn_indices, pca_project
from .matching import cluster_masks, contingency, match_clusters, shuffle_communities
from .metrics import cluster_metrics

__all__ = ["ClusterState", "cluster_latents", "cluster_options", "MATCHINGS", "PRESETS", "FAST_PCA_DIM"]

MATCHINGS = ("aligned", "shuffled")
PRESETS = ("exact", "fast")
FAST_PCA_DIM = 64


@dataclass(frozen=True)
class ClusterState:
    """One layer's clustering, frozen for an epoch.

    ``latents`` float32 ``(N, D)``; ``labels``, ``communities`` int64 ``(N,)``;
    ``matching`` int64 ``(K,)`` (``-1``: cluster without labels); ``cc``, ``mc``,
    ``targetless`` bool ``(N,)``; ``graph`` the CSR kNN graph; ``banks[b]`` the
    ``(n_b, D)`` CC latents of cluster ``b`` (under the matching's own clusters);
    ``metrics`` (see :mod:`~latentalign.lcc.metrics`), ``timings`` (seconds per stage).

    Attributes
    ----------
    latents : torch.Tensor of shape (N, D)
        float32 latents.
    labels, communities : torch.Tensor of shape (N,)
        int64 labels (negative: ignored) and community ids.
    matching : torch.Tensor of shape (K,)
        int64 class of each cluster (``-1``: a cluster without labels).
    cc, mc, targetless : torch.Tensor of shape (N,)
        bool: correctly clustered, misclustered, and misclustered without a target bank.
    graph : scipy.sparse.csr_matrix of shape (N, N)
        The kNN graph.
    banks : dict of int to torch.Tensor of shape (n_b, D)
        The CC latents of each cluster ``b`` (under the matching's own clusters).
    n_classes : int
        Number of classes.
    seed : int
        The seed of the clustering.
    matching_mode : {"aligned", "shuffled"}
        The matching, or the ablation's permuted one.
    metrics : dict
        The clustering's quality (see :mod:`~latentalign.lcc.metrics`).
    timings : dict of str to float
        Seconds per stage.
    """

    latents: torch.Tensor
    labels: torch.Tensor
    communities: torch.Tensor
    matching: torch.Tensor
    cc: torch.Tensor
    mc: torch.Tensor
    targetless: torch.Tensor
    graph: sp.csr_matrix
    banks: dict[int, torch.Tensor]
    n_classes: int
    seed: int
    matching_mode: str = "aligned"
    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        """Number of communities."""
        return int(self.matching.shape[0])

    def completed(self, latents: torch.Tensor, labels: torch.Tensor) -> ClusterState:
        """A copy of this state with ``latents``, ``labels`` and the banks rebuilt from them (after a broadcast)."""
        c_bank = _bank_clusters(self.communities.numpy(), self.matching_mode, self.seed)
        banks = _banks(latents, labels.numpy(), c_bank, self.matching.numpy())
        return replace(self, latents=latents, labels=labels, banks=banks)

    def class_banks(self) -> dict[int, list[torch.Tensor]]:
        """For each matched class ``a``, the banks of the clusters ``b`` with ``m(b) = a``."""
        out: dict[int, list[torch.Tensor]] = {}
        for b, bank in self.banks.items():
            out.setdefault(int(self.matching[b]), []).append(bank)
        return out


def _bank_clusters(c: np.ndarray, matching: str, seed: int) -> np.ndarray:
    """The clusters the matching and the banks are built on: ``c``, or ``c'`` for the ablation."""
    return shuffle_communities(c, seed) if matching == "shuffled" else c


def _banks(Z: torch.Tensor, y: np.ndarray, c: np.ndarray, m: np.ndarray) -> dict[int, torch.Tensor]:
    """``{b: Z[c == b and y == m(b)]}`` for every cluster with a matched class."""
    labelled = y >= 0
    member = labelled & (m[c] == y)
    rows = np.flatnonzero(member)
    order = rows[np.argsort(c[rows], kind="stable")]
    counts = np.bincount(c[order], minlength=m.shape[0])
    chunks = torch.split(Z[torch.from_numpy(order)], counts.tolist())
    return {b: chunk for b, chunk in enumerate(chunks) if counts[b] > 0}


@renamed_kwargs(knn="knn_backend")
def cluster_options(*, method="louvain", resolution=1.0, knn_backend="auto", pca_dim=None, preset=None,
                    matching="aligned") -> dict:
    """Validated clustering options, with ``preset="fast"`` expanded to ``knn_backend="ivf"``, ``pca_dim=64``."""
    check_choice(method, "method", METHODS)
    resolution = check_positive(resolution, "resolution")
    knn_backend = renamed_value(knn_backend, "knn_backend", OLD_KNN_BACKENDS)
    check_choice(knn_backend, "knn_backend", KNN_BACKENDS)
    check_choice(matching, "matching", MATCHINGS)
    if preset is not None:
        check_choice(preset, "preset", PRESETS)
        if preset == "fast":
            knn_backend, pca_dim = "ivf", FAST_PCA_DIM if pca_dim is None else pca_dim
    if pca_dim is not None:
        pca_dim = check_int(pca_dim, "pca_dim")
    return dict(method=method, resolution=resolution, knn_backend=knn_backend, pca_dim=pca_dim, matching=matching)


@renamed_kwargs(knn="knn_backend")


def cluster_latents(
    Z,
    y,
    n_classes: int,
    *,
    k: int = 10,
    method: str = "louvain",
    resolution: float = 1.0,
    knn_backend: str = "auto",
    pca_dim: int | None = None,
    matching: str = "aligned",
    preset: str | None = None,
    seed: int = 0,
    metrics: bool = True,
) -> ClusterState:
    """Cluster latents ``Z (N, D)`` with labels ``y (N,)`` (negative: ignored) into a :class:`ClusterState`.

    ``knn_backend``: ``"auto"`` (exact: faiss flat on CPU, blocked torch on GPU), ``"torch"`` (exact, blocked),
    ``"faiss"`` (exact, flat) or ``"ivf"`` (approximate);
    ``pca_dim``: project to this many principal axes for the graph when ``D > pca_dim``;
    ``preset="fast"``: ``pca_dim=64`` (unless given) and ``knn_backend="ivf"``.
    ``method``: ``"louvain"``, ``"leiden"``, ``"igraph-leiden"`` or ``"networkx"`` (oracle). ``metrics=False``
    skips the quality metrics (the benchmark times the step alone).

    Parameters
    ----------
    Z : array-like of shape (N, D)
        The latents.
    y : array-like of shape (N,)
        Integer labels (negative: ignored).
    n_classes : int
        Number of classes.
    k : int, default 10
        Neighbours of the kNN graph.
    method : {"louvain", "leiden", "igraph-leiden", "networkx"}, default "louvain"
        Community detection (``networkx``: the test oracle).
    resolution : float, default 1.0
        The modularity resolution.
    knn_backend : {"auto", "torch", "faiss", "ivf"}, default "auto"
        The kNN search (``ivf`` is approximate).
    pca_dim : int, optional
        Project to this many principal axes for the graph when ``D > pca_dim``.
    matching : {"aligned", "shuffled"}, default "aligned"
        The cluster-to-class matching, or the ablation's seeded permutation of it.
    preset : {"fast"}, optional
        ``pca_dim=64`` (unless given) and ``knn_backend="ivf"``.
    seed : int, default 0
        Seeds community detection and the ablation.
    metrics : bool, default True
        Compute the quality metrics (``False``: the step alone, for benchmarks).

    Returns
    -------
    ClusterState
        The clustering, its matching, masks and banks.

    Examples
    --------
    >>> import torch
    >>> Z = torch.cat([torch.randn(20, 2, generator=torch.Generator().manual_seed(0)) + 8 * i for i in range(3)])
    >>> y = torch.arange(3).repeat_interleave(20)
    >>> s = cluster_latents(Z, y, 3, k=5)
    >>> s.metrics["cc_share"], s.metrics["n_communities"] >= 3, sorted(s.banks) == list(range(s.n_clusters))
    (1.0, True, True)
    """
    Z = as_matrix(Z, "latents", dtype=None).detach().to(torch.float32)
    n = Z.shape[0]
    n_classes = check_int(n_classes, "n_classes")
    labels = check_labels(y, n_classes).cpu()
    if labels.shape[0] != n:
        raise ValueError(f"labels: expected {n} labels (one per latent row), got {labels.shape[0]}")
    k = check_k(k, n, "k")
    seed = check_seed(seed)
    opts = cluster_options(method=method, resolution=resolution, knn_backend=knn_backend, pca_dim=pca_dim,
                           preset=preset, matching=matching)
    method, resolution, knn_backend, pca_dim, matching = (opts[key] for key in ("method", "resolution", "knn_backend",
                                                                                 "pca_dim", "matching"))

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    G = pca_project(Z, pca_dim, seed=seed) if pca_dim is not None and pca_dim < Z.shape[1] else Z  # else: no reduction
    timings["pca"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    nb = knn_indices(G, k, backend=knn_backend, seed=seed)
    timings["knn"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    A = knn_graph(nb)
    timings["graph"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    c = detect_communities(A, method=method, resolution=resolution, seed=seed)
    timings["communities"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    y_np = labels.numpy()
    c_bank = _bank_clusters(c, matching, seed)
    K = int(c.max()) + 1
    m = match_clusters(contingency(y_np, c_bank, n_classes, K))
    masks = cluster_masks(y_np, c, m, n_classes)
    timings["matching"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    banks = _banks(Z, y_np, c_bank, m)
    timings["banks"] = time.perf_counter() - t0
    found = {}
    if metrics:
        t0 = time.perf_counter()
        found = cluster_metrics(A, y_np, c, masks, n_classes, indices=nb, resolution=resolution)
        timings["metrics"] = time.perf_counter() - t0
    return ClusterState(
        latents=Z,
        labels=labels,
        communities=torch.from_numpy(c),
        matching=torch.from_numpy(m),
        cc=torch.from_numpy(masks.cc),
        mc=torch.from_numpy(masks.mc),
        targetless=torch.from_numpy(masks.targetless),
        graph=A,
        banks=banks,
        n_classes=n_classes,
        seed=seed,
        matching_mode=matching,
        metrics=found,
        timings=timings,
    )
