"""Textbook restatements the align tests compare against (explicit H, loops, dense n x n).

Each is written from the definition (or, for the kNN metrics and Procrustes, from the
definitions used by minyoungg/platonic-rep and ahwillia/netrep), independently of
the library's blocked / feature-space / sparse computations.
"""

import itertools
import math

import numpy as np
from scipy.spatial.distance import pdist, squareform


def centering(n):
    return np.eye(n) - np.ones((n, n)) / n


def hsic_b(K, L):
    H = centering(K.shape[0])
    return np.trace(K @ H @ L @ H) / (K.shape[0] - 1) ** 2


def hsic_u(K, L):
    """Song et al. 2012 eq. (4) as a U-statistic over distinct index tuples (small n only)."""
    n = K.shape[0]
    idx = range(n)
    t1 = sum(K[i, j] * L[i, j] for i, j in itertools.permutations(idx, 2)) / math.perm(n, 2)
    t2 = sum(K[i, j] * L[q, r] for i, j, q, r in itertools.permutations(idx, 4)) / math.perm(n, 4)
    t3 = sum(K[i, j] * L[i, q] for i, j, q in itertools.permutations(idx, 3)) / math.perm(n, 3)
    return t1 + t2 - 2 * t3


def cka_from_grams(K, L, unbiased=False):
    h = hsic_u if unbiased else hsic_b
    return h(K, L) / math.sqrt(h(K, K) * h(L, L))


def rbf_gram(X):
    """exp(-d^2 / (2 sigma^2)), sigma^2 the median squared distance; the core takes the lower
    median for an even number of pairs (torch.median), so this does too."""
    d2 = squareform(pdist(X, "sqeuclidean"))
    pairs = np.sort(pdist(X, "sqeuclidean"))
    sigma2 = pairs[(len(pairs) - 1) // 2]
    return np.exp(-d2 / (2 * sigma2))


def ka(K, L):
    return float((K * L).sum() / (np.linalg.norm(K) * np.linalg.norm(L)))


def dcor(X, Y):
    """Szekely, Rizzo, Bakirov (2007): double-centred distance matrices, V-statistics, loops."""
    def double_centred(Z):
        n = Z.shape[0]
        a = np.array([[np.linalg.norm(Z[i] - Z[j]) for j in range(n)] for i in range(n)])
        return a - a.mean(0, keepdims=True) - a.mean(1, keepdims=True) + a.mean()

    A, B = double_centred(X), double_centred(Y)
    dcov2_xy, dvar2_x, dvar2_y = (A * B).mean(), (A * A).mean(), (B * B).mean()
    return math.sqrt(dcov2_xy / math.sqrt(dvar2_x * dvar2_y))


def neighbours_dense(Z, k):
    """platonic-rep's ``compute_nearest_neighbors`` on row-normalised features: full argsort."""
    Z = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    S = Z @ Z.T
    np.fill_diagonal(S, -1e8)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def mutual_knn(X, Y, k):
    n = X.shape[0]
    mx, my = np.zeros((n, n)), np.zeros((n, n))
    rows = np.arange(n)[:, None]
    mx[rows, neighbours_dense(X, k)] = 1
    my[rows, neighbours_dense(Y, k)] = 1
    return float(((mx * my).sum(1) / k).mean())


def cycle_knn(X, Y, k):
    nx, ny = neighbours_dense(X, k), neighbours_dense(Y, k)
    back = nx[ny]  # (n, k, k): neighbours in X of each neighbour in Y
    return float((back == np.arange(X.shape[0])[:, None, None]).reshape(X.shape[0], -1).max(1).mean())


def cknna(X, Y, k):
    """platonic-rep's ``cknna`` (unbiased, not distance-agnostic) minus its ``+1e-6``."""
    n = X.shape[0]
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    K, L = Xn @ Xn.T, Yn @ Yn.T

    def hsic_unbiased(K, L):
        Kt, Lt = K.copy(), L.copy()
        np.fill_diagonal(Kt, 0)
        np.fill_diagonal(Lt, 0)
        return ((Kt * Lt.T).sum() + Kt.sum() * Lt.sum() / ((n - 1) * (n - 2)) - 2 * (Kt @ Lt).sum() / (n - 2)) / (
            n * (n - 3))

    def similarity(K, L):
        rows = np.arange(n)[:, None]
        mk, ml = np.zeros((n, n)), np.zeros((n, n))
        Kh, Lh = K.copy(), L.copy()
        np.fill_diagonal(Kh, -np.inf)
        np.fill_diagonal(Lh, -np.inf)
        mk[rows, np.argsort(-Kh, axis=1, kind="stable")[:, :k]] = 1
        ml[rows, np.argsort(-Lh, axis=1, kind="stable")[:, :k]] = 1
        mask = mk * ml
        return hsic_unbiased(mask * K, mask * L)

    return similarity(K, L) / math.sqrt(similarity(K, K) * similarity(L, L))


def canonical_correlations(X, Y):
    """sqrt of the eigenvalues of Cxx^-1 Cxy Cyy^-1 Cyx (full-rank data)."""
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Cxx, Cyy, Cxy = Xc.T @ Xc, Yc.T @ Yc, Xc.T @ Yc
    M = np.linalg.solve(Cxx, Cxy) @ np.linalg.solve(Cyy, Cxy.T)
    ev = np.sort(np.clip(np.linalg.eigvals(M).real, 0, None))[::-1]
    return np.sqrt(ev[: min(X.shape[1], Y.shape[1])])


def pca_scores(X, keep):
    Xc = X - X.mean(0)
    ev, V = np.linalg.eigh(Xc.T @ Xc)
    ev, V = ev[::-1], V[:, ::-1]
    r = int(np.searchsorted(np.cumsum(ev) / ev.sum(), keep) + 1)
    return Xc @ V[:, :r]


def procrustes_angle(X, Y):
    """netrep ``LinearMetric(alpha=1, score_method="angular")``: centre, rotate X onto Y
    (orthogonal Procrustes after zero-padding to a common width), angle between them."""
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    d = max(Xc.shape[1], Yc.shape[1])
    Xp = np.hstack([Xc, np.zeros((Xc.shape[0], d - Xc.shape[1]))])
    Yp = np.hstack([Yc, np.zeros((Yc.shape[0], d - Yc.shape[1]))])
    U, _, Vt = np.linalg.svd(Xp.T @ Yp)
    Q = U @ Vt
    cos = np.sum((Xp @ Q) * Yp) / (np.linalg.norm(Xp) * np.linalg.norm(Yp))
    return math.acos(min(1.0, cos))
