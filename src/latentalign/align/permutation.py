r"""Metric values under shuffled pairings, without recomputing what a permutation leaves unchanged.

``evaluator(name, X, Y, options)`` returns a callable ``values(perms) -> (B,)`` tensor:
the metric of ``(X, Y[perm])`` for each row ``perm`` of a ``(B, n)`` index tensor.
What is computed once and what per permutation (``docs/align.md#align-significance``):

* **Gram family** (ka, cka, hsic, mmd_alignment, dcor, rsa, kta). Every one is a ratio of the sums
  ``f = <P, Q[pi, pi]>`` and ``g = (P 1).(Q 1)[pi]`` (``P``, ``Q`` Grams or transformed
  RDMs, diagonals zeroed for the unbiased HSIC) with fixed self-terms. ``f`` is
  ``||X^T Y[pi]||^2`` (minus ``k . l[pi]`` for zero diagonals) from features,
  ``O(n d1 d2)``, or a gathered ``O(n^2)`` inner product from matrices, whichever is
  cheaper; ``g`` costs ``O(n)``.
* **Neighbour family** (mutual_knn, cycle_knn, cknna). The lists of ``Y[pi]`` are those of
  ``Y`` relabelled: ``N_{Y[pi]}(i) = pi^{-1}(N_Y(pi_i))``, ``O(n k)``; CKNNA recomputes only
  the Gram entries on shared edges. Ties keep ``Y``'s original order.
* **Subspace family** (cca, svcca, procrustes). Bases / normalised data once; batched
  singular values of ``Qx^T Qy[pi]``.

Anything else (or matrices too large to hold) falls back to calling the metric.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._validate import check_k
from ..kernels import kernel_fn
from ..moments import centered, hsic_from_sums
from ._common import safe_sqrt, zero_diagonal
from .neighbor_metrics import (
    cycle_fraction,
    edge_keys,
    edge_products,
    mutual_fraction,
    neighbor_lists,
    sparse_hsic,
)
from .rsa import average_ranks, rdm_kernel
from .subspace_metrics import (
    cca_bases,
    mean_correlation,
    nuclear_alignment,
    unit_frobenius,
)
from .task import targets

__all__ = ["evaluator", "MATRIX_MAX_N"]

MATRIX_MAX_N = 8192  # two n x n float64 matrices up to 1 GiB
FEATURE_ADVANTAGE = 64  # a GEMM multiply-add costs ~1/64 of a gathered matrix entry (measured, 1 thread)
_BATCH_ELEMENTS = 2**23  # elements gathered per batch (64 MiB of float64)

Values = Callable[[torch.Tensor], torch.Tensor]


class _FeatureCross:
    """``f``, ``g`` from features: ``K = X X^T``, ``L = Y Y^T`` (diagonals zeroed if ``zero_diag``)."""

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, zero_diag: bool):
        self.X, self.Y, self.zero_diag = X, Y, zero_diag
        self.k, self.l = X.square().sum(1), Y.square().sum(1)
        sx, sy = X.sum(0), Y.sum(0)
        self.rx = X @ sx - (self.k if zero_diag else 0.0)
        self.ry = Y @ sy - (self.l if zero_diag else 0.0)
        self.sum_x = sx @ sx - (self.k.sum() if zero_diag else 0.0)
        self.sum_y = sy @ sy - (self.l.sum() if zero_diag else 0.0)
        n, d1, d2 = X.shape[0], X.shape[1], Y.shape[1]
        self.batch = max(1, _BATCH_ELEMENTS // (n * d2 + d1 * d2))

    def self_terms(self):
        fx = (self.X.T @ self.X).square().sum() - (self.k @ self.k if self.zero_diag else 0.0)
        fy = (self.Y.T @ self.Y).square().sum() - (self.l @ self.l if self.zero_diag else 0.0)
        return (fx, self.rx @ self.rx), (fy, self.ry @ self.ry)

    def __call__(self, perms: torch.Tensor):
        f = (self.X.T @ self.Y[perms]).square().sum((1, 2))
        if self.zero_diag:
            f = f - self.l[perms] @ self.k
        return f, self.ry[perms] @ self.rx


class _MatrixCross:
    """``f``, ``g`` from two symmetric ``n x n`` matrices (diagonals already as they should be)."""

    def __init__(self, P: torch.Tensor, Q: torch.Tensor):
        self.P, self.Q = P, Q
        self.rx, self.ry = P.sum(1), Q.sum(1)
        self.sum_x, self.sum_y = self.rx.sum(), self.ry.sum()
        self.batch = max(1, _BATCH_ELEMENTS // P.numel())

    def self_terms(self):
        return ((self.P.square().sum(), self.rx @ self.rx), (self.Q.square().sum(), self.ry @ self.ry))

    def __call__(self, perms: torch.Tensor):
        # <P, Q[pi, pi]> = sum_ij P[pi^-1]_ji Q[pi]_ij for symmetric P, Q: two row gathers, no column gather
        inverse = torch.argsort(perms, dim=1)
        f = torch.stack([(self.P.index_select(0, q) * self.Q.index_select(0, p).T).sum()
                         for p, q in zip(perms, inverse)])
        return f, self.ry[perms] @ self.rx


def _gram_values(cross, n: int, score: str, unbiased: bool = False, post=None) -> Values:
    """``score``: "ka" (``f / sqrt(f_xx f_yy)``), "hsic", or "cka" (HSIC over the root of its self-terms)."""
    (fxx, gxx), (fyy, gyy) = cross.self_terms()
    if score == "ka":
        scale = torch.sqrt(fxx * fyy)
    else:
        hxx = hsic_from_sums(fxx, cross.sum_x, cross.sum_x, gxx, n, unbiased)
        hyy = hsic_from_sums(fyy, cross.sum_y, cross.sum_y, gyy, n, unbiased)
        scale = torch.ones((), dtype=torch.float64) if score == "hsic" else torch.sqrt(hxx * hyy)

    def values(perms):
        f, g = cross(perms)
        v = f / scale if score == "ka" else hsic_from_sums(f, cross.sum_x, cross.sum_y, g, n, unbiased) / scale
        return post(v) if post is not None else v

    values.batch = cross.batch
    return values


def _kernel_values(name, Xt, Yt, options) -> Values | None:
    n, d1, d2 = Xt.shape[0], Xt.shape[1], Yt.shape[1]
    kernel = options.get("kernel", "linear")
    unbiased = bool(options.get("unbiased", False))
    centred = name != "ka"
    score = {"ka": "ka", "hsic": "hsic", "mmd_alignment": "hsic"}.get(name, "cka")
    post = (lambda v: v * ((n - 1) / n) ** 2) if name == "mmd_alignment" else None  # MMD^2 = ((n-1)/n)^2 HSIC_b
    if kernel == "linear" and d1 * d2 <= FEATURE_ADVANTAGE * n and options.get("path", "auto") != "gram":
        A, B = (centered(Xt), centered(Yt)) if centred else (Xt, Yt)
        return _gram_values(_FeatureCross(A, B, zero_diag=unbiased), n, score, unbiased, post)
    if n > MATRIX_MAX_N:
        return None
    sigma, seed = options.get("sigma"), options.get("seed", 0)
    if kernel == "linear" and centred:  # translation invariant: shift for accuracy
        Xt, Yt = centered(Xt), centered(Yt)
    K = kernel_fn(Xt, kernel, sigma=sigma, seed=seed, name="X")(Xt, Xt)
    L = kernel_fn(Yt, kernel, sigma=sigma, seed=seed, name="Y")(Yt, Yt)
    if unbiased:
        K, L = zero_diagonal(K), zero_diagonal(L)
    return _gram_values(_MatrixCross(K, L), n, score, unbiased, post)


def _rsa_values(name, Xt, Yt, options) -> Values | None:
    n = Xt.shape[0]
    if n > MATRIX_MAX_N:
        return None
    rdm = "euclidean" if name == "dcor" else options.get("rdm", "euclidean")
    compare = "centered" if name == "dcor" else options.get("compare", "pearson")
    mats = []
    for Z, nm in ((Xt, "X"), (Yt, "Y")):
        Zp, f = rdm_kernel(Z, rdm, nm)
        R = zero_diagonal(f(Zp, Zp))
        mats.append(R)
    if compare == "centered":
        post = (lambda v: safe_sqrt(v.clamp_min(0.0))) if name == "dcor" else None
        return _gram_values(_MatrixCross(-0.5 * mats[0], -0.5 * mats[1]), n, "cka", False, post)
    upper = torch.triu_indices(n, n, offset=1)
    for i, R in enumerate(mats):
        vals = R[upper[0], upper[1]]
        if compare == "spearman":
            vals = average_ranks(vals)
        if compare != "cosine":
            vals = vals - vals.mean()
        M = torch.zeros_like(R)
        M[upper[0], upper[1]] = vals
        mats[i] = M + M.T
    return _gram_values(_MatrixCross(*mats), n, "ka")


def _neighbor_values(name, Xt, Yt, options) -> Values:
    metric, backend = options.get("metric", "cosine"), options.get("knn_backend", "torch")
    n = Xt.shape[0]
    k = check_k(options.get("k", 10), n, minimum=2 if name == "cknna" else 1)
    nx, ny = neighbor_lists(Xt, k, metric, backend, "X"), neighbor_lists(Yt, k, metric, backend, "Y")
    keys_x = edge_keys(nx)
    if name == "cknna":  # Gram entries in float64 whatever the search precision
        Xn, Yn = (Z.double() / Z.double().norm(dim=1, keepdim=True) for Z in (Xt, Yt))
        a_x = edge_products(Xn, keys_x, n)
        keys_y = edge_keys(ny)
        b_y = edge_products(Yn, keys_y, n)
        scale = torch.sqrt(sparse_hsic(keys_x, a_x, a_x, n) * sparse_hsic(keys_y, b_y, b_y, n))

    def one(p: torch.Tensor) -> torch.Tensor:
        relabelled = torch.argsort(p)[ny[p]]
        if name == "mutual_knn":
            return mutual_fraction(keys_x, relabelled)
        if name == "cycle_knn":
            return cycle_fraction(keys_x, relabelled)
        shared_mask = torch.isin(keys_x, edge_keys(relabelled))
        shared = keys_x[shared_mask]
        return sparse_hsic(shared, a_x[shared_mask], edge_products(Yn, shared, n, rows=p), n) / scale

    def values(perms):
        return torch.stack([one(p) for p in perms])

    values.batch = 64
    return values


def _subspace_values(name, Xt, Yt, options) -> Values:
    if name == "procrustes":
        Xb, Yb = unit_frobenius(Xt), unit_frobenius(Yt)
        euclid = options.get("distance", "angular") == "euclidean"

        def values(perms):
            P = nuclear_alignment(Xb, Yb[perms]).clamp(-1.0, 1.0)
            return torch.sqrt((2.0 - 2.0 * P).clamp_min(0.0)) if euclid else torch.arccos(P)

        values.batch = max(1, _BATCH_ELEMENTS // Yb.numel())
        return values
    keep = options.get("keep", 0.99) if name == "svcca" and options.get("dims") is None else None
    Qx, Qy = cca_bases(Xt, Yt, keep=keep, dims=options.get("dims") if name == "svcca" else None)
    squared = bool(options.get("squared", False))

    def values(perms):
        return mean_correlation(Qx, Qy[perms], squared)

    values.batch = max(1, _BATCH_ELEMENTS // Qy.numel())
    return values


def evaluator(name: str, Xt: torch.Tensor, Yt: torch.Tensor, options: dict) -> Values | None:
    """The vectorised permutation evaluator of metric ``name`` on validated ``Xt``, ``Yt``
    (``Yt`` holds labels for kta), or ``None`` where the metric must be called afresh.
    """
    Xt, Yt = Xt.detach(), Yt.detach()
    if name == "kta":
        T = targets(Yt, Xt.shape[0]).to(Xt.device)
        return _gram_values(_FeatureCross(centered(Xt), centered(T), zero_diag=False), Xt.shape[0], "cka")
    if name in ("ka", "cka", "hsic", "mmd_alignment"):
        return _kernel_values(name, Xt, Yt, options)
    if name in ("dcor", "rsa"):
        return _rsa_values(name, Xt, Yt, options)
    if name in ("mutual_knn", "cycle_knn", "cknna"):
        return _neighbor_values(name, Xt, Yt, options)
    if name in ("cca", "svcca", "procrustes"):
        return _subspace_values(name, Xt, Yt, options)
    return None
