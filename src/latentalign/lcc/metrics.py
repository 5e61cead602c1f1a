"""Cluster quality metrics: how well the latent clusters agree with the classes.

- ``Q``: Newman modularity of the partition on the kNN graph (float64);
- ``K``: number of communities;
- ``cc_share`` and ``mc_share`` under the state's matching, and ``purity``
  ``sum_b max_a M[a, b] / N_labelled`` (= ``cc_share`` for the aligned matching;
  for the shuffled ablation it still measures how class-pure the clusters are);
- ``n_targetless`` and ``orphans`` (classes that received no cluster);
- ``nmi``, ``ari``: scikit-learn's normalised mutual information and adjusted
  Rand index of communities against labels;
- ``loo_knn_accuracy``: leave-one-out majority vote of each sample's ``k`` graph
  neighbours (ties to the smaller label), over labelled samples.

The test -> train kNN probe is :func:`latentalign.train.knn_probe` (``metric="euclidean"``
in this capability); ``knn_probe_accuracy`` is its deprecated alias (removed in 0.3).

The example is :func:`loo_knn_accuracy`'s.
"""

from __future__ import annotations

import numpy as np

from .._deprecate import deprecated
from ..train import knn_probe
from .communities import modularity
from .matching import Masks, _int_array, contingency

__all__ = ["cluster_metrics", "loo_knn_accuracy"]


def loo_knn_accuracy(indices, labels) -> float:
    """Share of labelled samples whose neighbours' majority label is their own.

    ``indices``: ``(N, k)`` neighbour ids (self excluded); neighbours with a
    negative label do not vote; a sample with no voting neighbour counts as wrong.

    Parameters
    ----------
    indices : array-like of shape (N, k)
        Neighbour ids (self excluded).
    labels : array-like of shape (N,)
        Integer labels (negative: not voting, not scored).

    Returns
    -------
    float
        The share, in ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> loo_knn_accuracy(np.array([[1], [0], [3], [2]]), np.array([0, 0, 1, 0]))
    0.5
    """
    idx = np.asarray(indices.cpu() if hasattr(indices, "cpu") else indices)
    y = _int_array(labels, "labels")
    if idx.ndim != 2 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices: expected an (N, k) integer array, got {idx.dtype} {idx.shape}")
    if idx.shape[0] != y.shape[0]:
        raise ValueError(f"labels: expected {idx.shape[0]} labels (one per row of indices), got {y.shape[0]}")
    if idx.size and (idx.min() < 0 or idx.max() >= y.shape[0]):
        raise ValueError(f"indices: neighbour ids must be in [0, {y.shape[0] - 1}], got {idx.min()}..{idx.max()}")
    keep = y >= 0
    if not keep.any():
        return float("nan")
    votes = y[idx[keep]]  # (n_lab, k)
    n_classes = int(y.max()) + 1
    counts = np.zeros((votes.shape[0], n_classes), dtype=np.int64)
    rows = np.repeat(np.arange(votes.shape[0]), votes.shape[1])
    ok = votes.reshape(-1) >= 0
    np.add.at(counts, (rows[ok], votes.reshape(-1)[ok]), 1)
    pred = np.where(counts.max(1) > 0, counts.argmax(1), -1)
    return float(np.mean(pred == y[keep]))


def cluster_metrics(graph, labels, communities, masks: Masks, n_classes: int, *, indices=None,
                    resolution: float = 1.0) -> dict:
    """The metrics above for one clustering (``indices``: the kNN ids, for ``loo_knn_accuracy``).

    Parameters
    ----------
    graph : scipy.sparse.csr_matrix of shape (N, N)
        The kNN graph.
    labels : array-like of shape (N,)
        Integer labels (negative: ignored).
    communities : array-like of shape (N,)
        Community ids.
    masks : Masks
        The CC / MC masks of the matching.
    n_classes : int
        Number of classes.
    indices : array-like of shape (N, k), optional
        The kNN ids, for ``loo_knn_accuracy``.
    resolution : float, default 1.0
        The modularity resolution.

    Returns
    -------
    dict
        ``Q``, ``K``, ``cc_share``, ``mc_share``, ``purity`` (and ``loo_knn_accuracy``).

    Examples
    --------
    >>> import torch
    >>> from latentalign.lcc import cluster_latents
    >>> Z = torch.cat([torch.randn(10, 2, generator=torch.Generator().manual_seed(0)) + 8 * i for i in range(2)])
    >>> s = cluster_latents(Z, torch.arange(2).repeat_interleave(10), 2, k=3, metrics=False)
    >>> from latentalign.lcc.matching import cluster_masks
    >>> y, c = s.labels.numpy(), s.communities.numpy()
    >>> m = cluster_metrics(s.graph, y, c, cluster_masks(y, c, s.matching.numpy(), 2), 2)
    >>> m["cc_share"]
    1.0
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    y = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels).astype(np.int64)
    c = np.asarray(communities.cpu() if hasattr(communities, "cpu") else communities).astype(np.int64)
    labelled = y >= 0
    n_lab = int(labelled.sum())
    out = {
        "modularity": modularity(graph, c, resolution=resolution),
        "n_communities": int(np.unique(c).shape[0]),
        "n_labelled": n_lab,
        "cc_share": float(masks.cc.sum() / n_lab) if n_lab else float("nan"),
        "mc_share": float(masks.mc.sum() / n_lab) if n_lab else float("nan"),
        "purity": float(contingency(y, c, n_classes).max(0).sum() / n_lab) if n_lab else float("nan"),
        "n_targetless": int(masks.targetless.sum()),
        "orphans": [int(a) for a in masks.orphans],
        "nmi": float(normalized_mutual_info_score(y[labelled], c[labelled])) if n_lab else float("nan"),
        "ari": float(adjusted_rand_score(y[labelled], c[labelled])) if n_lab else float("nan"),
    }
    if indices is not None:
        out["loo_knn_accuracy"] = loo_knn_accuracy(indices, y)
    return out


def knn_probe_accuracy(Z_train, y_train, Z_test, y_test, *, k: int = 10) -> float:
    """Deprecated (removed in 0.3): ``latentalign.train.knn_probe(..., k=k, metric="euclidean")``."""
    deprecated("latentalign.lcc", "'knn_probe_accuracy'", "'latentalign.train.knn_probe' (metric='euclidean')")
    return knn_probe(Z_train, y_train, Z_test, y_test, k=k, metric="euclidean")
