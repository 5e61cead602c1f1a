"""Cluster-to-class matching and the correctly / misclustered masks.

``M[a, b] = #{i : y_i = a >= 0, c_i = b}`` and ``m(b) = argmax_a M[a, b]``
(ties to the smaller ``a``; ``-1`` for a cluster without labelled samples).
This argmax solves exactly the min-cost flow of the reference code (one unit
per cluster, uncapacitated classes, cost ``-M``): its objective
``sum_b M[m(b), b]`` separates per cluster.

Masks: ``cc_i = (m(c_i) = y_i)``, ``mc_i = not cc_i`` (both false for an
ignored label ``y_i < 0``); ``targetless_i``: ``mc_i`` and class ``y_i``
received no cluster (an *orphan* class). CC share = purity
``= sum_b max_a M[a, b] / N_labelled``.

Examples
--------
>>> y, c = [0, 0, 0, 0, 1, 1, 1, 2], [0, 0, 1, 1, 1, 2, 2, 2]
>>> M = contingency(y, c, 3)
>>> M.tolist(), match_clusters(M).tolist()
([[2, 2, 0], [0, 1, 2], [0, 0, 1]], [0, 0, 1])
>>> masks = cluster_masks(y, c, match_clusters(M), 3)
>>> masks.cc.astype(int).tolist(), masks.targetless.nonzero()[0].tolist(), masks.orphans.tolist()
([1, 1, 1, 1, 0, 1, 1, 0], [7], [2])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_matrix, check_int, check_seed

__all__ = ["contingency", "match_clusters", "cluster_masks", "Masks", "shuffle_communities"]


def _int_array(x, name: str) -> np.ndarray:
    a = np.asarray(x.cpu() if hasattr(x, "cpu") else x)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name}: expected a 1-D integer array, got {a.dtype} {a.shape}")
    return a.astype(np.int64)


def _labels_and_clusters(y, c, n_classes: int):
    y, c = _int_array(y, "labels"), _int_array(c, "communities")
    if y.shape != c.shape:
        raise ValueError(f"communities: expected {y.shape[0]} labels like labels, got {c.shape[0]}")
    if y.size and y.max() >= n_classes:
        raise ValueError(f"labels: labels must be < n_classes={n_classes}, got {y.max()}")
    if c.size and c.min() < 0:
        raise ValueError("communities: cluster ids must be >= 0")
    return y, c


def contingency(y, c, n_classes: int, n_clusters: int | None = None) -> np.ndarray:
    """``(n_classes, n_clusters)`` int64 counts ``M[a, b]`` over labelled samples (``y >= 0``)."""
    n_classes = check_int(n_classes, "n_classes")
    y, c = _labels_and_clusters(y, c, n_classes)
    K = int(c.max()) + 1 if c.size else 0
    if n_clusters is not None:
        n_clusters = check_int(n_clusters, "n_clusters")
        if n_clusters < K:
            raise ValueError(
                f"n_clusters: must exceed the largest cluster id in communities ({K - 1}), got {n_clusters}"
            )
        K = n_clusters
    keep = y >= 0
    flat = y[keep] * K + c[keep]
    return np.bincount(flat, minlength=n_classes * K).reshape(n_classes, K)


def match_clusters(M) -> np.ndarray:
    """``m(b) = argmax_a M[a, b]`` (first maximum: smaller class), ``-1`` for an empty column.

    ``M`` is a ``(n_classes, n_clusters)`` table of finite counts ``>= 0`` (:func:`contingency`).
    """
    M = as_matrix(M, "M").numpy()
    if M.min() < 0:
        raise ValueError(f"M: expected counts >= 0, got {M.min():g}")
    m = np.argmax(M, axis=0).astype(np.int64)
    m[M.sum(axis=0) == 0] = -1
    return m


class Masks(NamedTuple):
    """Boolean ``(N,)`` masks and the orphan classes (int64, ascending)."""

    cc: np.ndarray
    mc: np.ndarray
    targetless: np.ndarray
    orphans: np.ndarray


def cluster_masks(y, c, m, n_classes: int) -> Masks:
    """CC / MC / targetless masks of samples with labels ``y``, clusters ``c``, matching ``m``."""
    y, c = _labels_and_clusters(y, c, n_classes)
    m = _int_array(m, "matching")
    if c.size and c.max() >= m.shape[0]:
        raise ValueError(f"matching: covers {m.shape[0]} clusters, but cluster id {c.max()} occurs")
    labelled = y >= 0
    cc = labelled & (m[c] == y)
    mc = labelled & ~cc
    matched = np.zeros(n_classes, dtype=bool)
    matched[m[m >= 0]] = True
    targetless = mc & ~matched[np.where(labelled, y, 0)]
    return Masks(cc, mc, targetless, np.flatnonzero(~matched).astype(np.int64))


def shuffle_communities(c, seed: int) -> np.ndarray:
    """The ablation's ``c'_i = c_{pi(i)}`` for a permutation ``pi`` seeded with ``seed``."""
    c = _int_array(c, "communities")
    perm = np.random.default_rng(check_seed(seed)).permutation(c.shape[0])
    return c[perm]
