r"""Measures of Klabunde et al.'s survey (``resi``, ``llm_repsim``) and ``nn_similarity_index``.

Statistics of each representation, compared (0 = equal; not alignments):

* **magnitude difference** ``| ||mean_i x_i|| - ||mean_i y_i|| |``;
* **concentricity difference** ``| mean_i cos(x_i, xbar) - mean_i cos(y_i, ybar) |``;
* **uniformity difference** ``| U(X) - U(Y) |``, ``U(X) = log mean_{i,j} exp(-2 ||x_i - x_j||^2)``
  (Wang & Isola 2020; every pair, the diagonal included; ``O(n^2)`` time, row blocks).

Comparisons:

* **RSM norm difference** ``||d_X - d_Y||_2`` over the Euclidean distances of the pairs ``i < j``
  (``llm_repsim``; ``resi`` takes the spectral norm of the full difference by mistake, its
  comment says otherwise); ``O(n^2)`` time, ``O(block x n)`` memory.
* **Gram euclidean** ``||X X^T - Y Y^T||_F`` (``nn_similarity_index``'s ``euclidean``), by the
  ``d x d`` route ``||X^T X||^2 + ||Y^T Y||^2 - 2 ||X^T Y||^2``.
* **eigenspace overlap score** (May et al. 2019) ``||Ux^T Uy||_F^2 / max(d1, d2)`` with ``Ux`` the
  left singular vectors of the (uncentred) ``X`` at its numerical rank, by the ``d x d`` route
  ``Ux^T Uy = Lx^{-1/2} Vx^T X^T Y Vy Ly^{-1/2}`` (eigen-pairs of ``X^T X``).
* **cosine** of the flattened inputs ``<X, Y>_F / (||X|| ||Y||)``.
* **permutation Procrustes** (resi) ``min_P ||X - Y P||_F`` over column permutations (uncentred;
  Hungarian matching on ``X^T Y``; the narrower input zero-padded).
* **aligned cosine similarity** (Hamilton et al. 2016): align ``X`` to ``Y`` by the orthogonal
  Procrustes map ``R`` (``U V^T`` of ``X^T Y = U S V^T``) and average the row cosines
  ``cos(x_i R, y_i)``; ``resi`` uses the raw inputs, ``llm_repsim`` (``aligned_cossim``) centres
  the columns first (``centered=True``).
* **hard / soft correlation match** (Li et al. 2016): ``C`` the correlations of the columns of
  ``X`` with those of ``Y``; hard: the mean of the best one-to-one matching (Hungarian); soft:
  the mean of the best match of each column, averaged over both directions.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(40, 5))
>>> magnitude_difference(X, X + 0), round(gram_euclidean(X, X @ np.linalg.qr(X.T @ X)[0]), 9)
(0.0, 0.0)
>>> round(hard_correlation_match(X, X[:, ::-1]), 12), round(eigenspace_overlap(X, X @ np.diag([1., 2, 3, 4, 5])), 12)
(1.0, 1.0)
"""

from __future__ import annotations

import torch

from .._validate import check_bool
from ..kernels import GRAM_BLOCK, squared_distances, unit_rows
from ..moments import centered
from ._common import as_output, check_self_term, paired, safe_sqrt

__all__ = ["magnitude_difference", "concentricity_difference", "uniformity_difference", "rsm_norm_difference",
           "gram_euclidean", "eigenspace_overlap", "flat_cosine", "hard_correlation_match",
           "soft_correlation_match", "permutation_procrustes", "aligned_cosine"]


def magnitude_difference(X, Y):
    """``| ||mean X|| - ||mean Y|| |`` (0 when the centroids have equal length)."""
    Xt, Yt = paired(X, Y, allow_constant=True)
    return as_output((torch.linalg.vector_norm(Xt.mean(0)) - torch.linalg.vector_norm(Yt.mean(0))).abs(), X, Y)


def _concentricity(Z: torch.Tensor, name: str) -> torch.Tensor:
    mean = Z.mean(0, keepdim=True)
    return (unit_rows(Z, name) @ unit_rows(mean, name).T).mean()


def concentricity_difference(X, Y):
    """``| mean cos(x_i, xbar) - mean cos(y_i, ybar) |``."""
    Xt, Yt = paired(X, Y, allow_constant=True)
    return as_output((_concentricity(Xt, "X") - _concentricity(Yt, "Y")).abs(), X, Y)


def _symmetric_sum(n: int, block: int, f) -> torch.Tensor:
    """``sum_{i,j} f(i, j)`` for a symmetric pairwise ``f(rows, cols) -> block``, computing only the blocks
    on and above the diagonal (each off-diagonal block counts twice): half the work of all pairs.
    """
    total = None
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        part = f(rows, slice(start, rows.stop)).sum()
        if rows.stop < n:
            part = part + 2.0 * f(rows, slice(rows.stop, n)).sum()
        total = part if total is None else total + part
    return total


def _uniformity(Z: torch.Tensor, block: int) -> torch.Tensor:
    sq = (Z * Z).sum(1)
    total = _symmetric_sum(Z.shape[0], block,
                           lambda r, c: torch.exp(-2.0 * squared_distances(Z[r], Z[c], y_sq=sq[c])))
    return torch.log(total / Z.shape[0] ** 2)


def uniformity_difference(X, Y, *, block_size: int = GRAM_BLOCK):
    """``| log mean exp(-2 ||x_i - x_j||^2) - (same for Y) |`` over all pairs (``O(n^2)`` time)."""
    Xt, Yt = paired(X, Y, allow_constant=True)
    return as_output((_uniformity(Xt, block_size) - _uniformity(Yt, block_size)).abs(), X, Y)


def rsm_norm_difference(X, Y, *, block_size: int = GRAM_BLOCK):
    """``||d_X - d_Y||_2`` over the Euclidean distances of the pairs ``i < j`` (``O(n^2)`` time)."""
    Xt, Yt = paired(X, Y, allow_constant=True)
    sx, sy = (Xt * Xt).sum(1), (Yt * Yt).sum(1)

    def gap(r, c):
        dx = safe_sqrt(squared_distances(Xt[r], Xt[c], y_sq=sx[c]))
        return (dx - safe_sqrt(squared_distances(Yt[r], Yt[c], y_sq=sy[c]))).square()
    # the diagonal of d_X - d_Y is zero up to rounding, so all pairs = twice the pairs i < j
    return as_output((_symmetric_sum(Xt.shape[0], block_size, gap) / 2.0).sqrt(), X, Y)


def gram_euclidean(X, Y):
    """``||X X^T - Y Y^T||_F`` (uncentred linear Grams) by the ``d x d`` route."""
    Xt, Yt = paired(X, Y, allow_constant=True)
    value = (Xt.T @ Xt).square().sum() + (Yt.T @ Yt).square().sum() - 2.0 * (Xt.T @ Yt).square().sum()
    return as_output(value.clamp_min(0.0).sqrt(), X, Y)


def _whitener(Z: torch.Tensor) -> torch.Tensor:
    """``V_r L_r^{-1/2}`` with ``Z^T Z = V L V^T`` cut at the numerical rank of ``Z``."""
    lam, V = torch.linalg.eigh(Z.T @ Z)
    s = lam.clamp_min(0.0).sqrt()
    keep = s > max(Z.shape) * torch.finfo(s.dtype).eps * s.max()
    return V[:, keep] / s[keep]


def eigenspace_overlap(X, Y):
    """``||Ux^T Uy||_F^2 / max(d1, d2)`` (left singular subspaces of the uncentred inputs), in ``[0, 1]``."""
    Xt, Yt = paired(X, Y)
    M = _whitener(Xt).T @ (Xt.T @ Yt) @ _whitener(Yt)
    return as_output(M.square().sum() / max(Xt.shape[1], Yt.shape[1]), X, Y)


def flat_cosine(X, Y):
    """``<X, Y>_F / (||X||_F ||Y||_F)`` (same shapes)."""
    Xt, Yt = paired(X, Y, allow_constant=True)
    if Xt.shape != Yt.shape:
        raise ValueError(f"Y: expected the shape of X {tuple(Xt.shape)}, got {tuple(Yt.shape)}")
    nx, ny = Xt.square().sum(), Yt.square().sum()
    check_self_term(nx, "X", "norm")
    check_self_term(ny, "Y", "norm")
    return as_output((Xt * Yt).sum() / torch.sqrt(nx * ny), X, Y)


def _column_correlations(X, Y) -> torch.Tensor:
    Xt, Yt = paired(X, Y)
    return unit_rows(centered(Xt).T, "X") @ unit_rows(centered(Yt).T, "Y").T


def hard_correlation_match(X, Y):
    """Mean correlation of the best one-to-one matching of the columns of ``X`` and ``Y``."""
    from scipy.optimize import linear_sum_assignment

    C = _column_correlations(X, Y)
    rows, cols = linear_sum_assignment(C.detach().cpu().numpy(), maximize=True)
    return as_output(C[torch.as_tensor(rows), torch.as_tensor(cols)].mean(), X, Y)


def soft_correlation_match(X, Y):
    """``(mean_a max_b C_ab + mean_b max_a C_ab) / 2`` (column correlations ``C``)."""
    C = _column_correlations(X, Y)
    return as_output((C.amax(1).mean() + C.amax(0).mean()) / 2.0, X, Y)


def _padded(Xt: torch.Tensor, Yt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(Xt.shape[1], Yt.shape[1])
    pad = torch.nn.functional.pad
    return pad(Xt, (0, width - Xt.shape[1])), pad(Yt, (0, width - Yt.shape[1]))


def permutation_procrustes(X, Y):
    """``min_P ||X - Y P||_F`` over column permutations ``P`` (uncentred, zero-padded)."""
    from scipy.optimize import linear_sum_assignment

    A, B = _padded(*paired(X, Y, allow_constant=True))
    _, cols = linear_sum_assignment((A.T @ B).detach().cpu().numpy(), maximize=True)
    return as_output(torch.linalg.matrix_norm(A - B[:, torch.as_tensor(cols, device=B.device)]), X, Y)


def aligned_cosine(X, Y, *, centered_columns: bool = False):
    """Mean row cosine after the orthogonal Procrustes alignment of ``X`` to ``Y``, in ``[-1, 1]``."""
    centered_columns = check_bool(centered_columns, "centered_columns")
    A, B = _padded(*paired(X, Y))
    if centered_columns:
        A, B = centered(A), centered(B)
    U, _, Vh = torch.linalg.svd(A.T @ B, full_matrices=False)
    return as_output((unit_rows(A @ (U @ Vh), "X") * unit_rows(B, "Y")).sum(1).mean(), X, Y)
