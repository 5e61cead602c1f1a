r"""Shape metrics (Williams et al. 2021, ``netrep``): generalized shape score, permutation score.

Both centre the columns, align ``X`` to ``Y`` with the best map of a group and report the
cosine ``s = <phi(X) T, phi(Y)> / (||phi(X)|| ||phi(Y)||)``; the angular distance is ``arccos s``.

* **generalized shape score** with regularisation ``alpha`` in ``[0, 1]``: ``phi`` is netrep's
  partial whitening ``phi(X) = Xc V diag(alpha + (1 - alpha) lam^{-1/2}) V^T`` (``lam``, ``V``: the
  eigen-pairs of ``Xc^T Xc``, clipped at ``1e-7``), ``T`` orthogonal, so
  ``s = ||phi(X)^T phi(Y)||_* / (||phi(X)|| ||phi(Y)||)``. ``alpha = 1`` is Procrustes (``phi(X) = Xc``),
  ``alpha = 0`` the mean canonical correlation (``phi(X)`` has orthonormal columns up to scale).
  Cost: two ``d x d`` eigendecompositions, one ``d1 x d2`` GEMM and one SVD.
* **permutation score**: ``phi(X) = Xc``, ``T`` a permutation of the columns (Hungarian
  algorithm on ``Xc^T Yc``; the narrower input is zero-padded).

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(50, 4))
>>> Q = np.linalg.qr(np.random.default_rng(1).normal(size=(4, 4)))[0]
>>> round(shape_score(X, X @ Q + 1, alpha=0.5), 12), round(permutation_score(X, X[:, ::-1]), 12)
(1.0, 1.0)
"""

from __future__ import annotations

import torch

from ..moments import centered
from ._common import as_output, check_self_term, paired

__all__ = ["shape_score", "permutation_score", "partial_whiten", "whitened_norms", "EIGVAL_TOL"]

EIGVAL_TOL = 1e-7  # netrep's floor on the eigenvalues of Xc^T Xc


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected a regularisation in [0, 1], got {alpha!r}")
    return float(alpha)


def partial_whiten(Xc: torch.Tensor, alpha: float) -> torch.Tensor:
    """``Xc V diag(c (alpha + (1 - alpha) lam^{-1/2})) V^T`` (``Xc`` unchanged for ``alpha = 1``).

    ``c^2 = sum lam / sum (alpha lam^{1/2} + 1 - alpha)^2`` is netrep's rescaling meant to keep the
    total variance (exact only at ``alpha`` = 0 or 1); it sets the norms of the euclidean forms.
    """
    if alpha >= 1.0 - EIGVAL_TOL:
        return Xc
    lam, V = torch.linalg.eigh(Xc.T @ Xc)
    lam = lam.clamp_min(EIGVAL_TOL)
    d = alpha + (1.0 - alpha) * lam.rsqrt()
    d = d * torch.sqrt(lam.sum() / (alpha * lam.sqrt() + 1.0 - alpha).square().sum())
    return Xc @ ((V * d) @ V.T)  # one n x d x d GEMM; the d x d factor first


def whitened_norms(X, Y, *, alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Frobenius norms of ``phi(X)``, ``phi(Y)`` (the euclidean forms of the shape metric use them)."""
    alpha = _check_alpha(alpha)
    pair = paired(X, Y)
    width = max(Z.shape[1] for Z in pair)  # netrep zero-pads the narrower input first
    return tuple(torch.linalg.matrix_norm(partial_whiten(torch.nn.functional.pad(centered(Z), (0, width - Z.shape[1])),
                                                         alpha)) for Z in pair)


def _whitener(Xc: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``W = V diag(alpha + (1 - alpha) lam^{-1/2}) V^T`` and ``||Xc W||_F^2 = sum lam d^2`` (no ``n x d`` product)."""
    lam, V = torch.linalg.eigh(Xc.T @ Xc)
    d = alpha + (1.0 - alpha) * lam.clamp_min(EIGVAL_TOL).rsqrt()
    return (V * d) @ V.T, (lam.clamp_min(0.0) * d * d).sum()


def shape_score(X, Y, *, alpha: float = 1.0):
    """Cosine of the generalized shape metric: ``||phi(X)^T phi(Y)||_* / (||phi(X)|| ||phi(Y)||)``, in ``[0, 1]``.

    Three ``n x d x d`` GEMMs (``Xc^T Xc``, ``Yc^T Yc``, ``Xc^T Yc``; one for ``alpha = 1``), then
    ``d x d`` work: ``phi(X)^T phi(Y) = Wx Xc^T Yc Wy``. Invariant to translation and orthogonal maps;
    to isotropic scaling only for ``alpha`` 0 or 1 (netrep mixes ``alpha I`` with ``lam^{-1/2}``); for
    ``alpha = 0`` to any invertible linear map.
    """
    alpha = _check_alpha(alpha)
    Xt, Yt = paired(X, Y)
    Xc, Yc = centered(Xt), centered(Yt)
    M = Xc.T @ Yc
    if alpha >= 1.0 - EIGVAL_TOL:
        na2, nb2 = Xc.square().sum(), Yc.square().sum()
    else:
        (Wx, na2), (Wy, nb2) = _whitener(Xc, alpha), _whitener(Yc, alpha)
        M = Wx @ M @ Wy
    check_self_term(na2, "X", "norm")
    check_self_term(nb2, "Y", "norm")
    return as_output((torch.linalg.svdvals(M).sum() / torch.sqrt(na2 * nb2)).clamp(-1.0, 1.0), X, Y)


def permutation_score(X, Y):
    """``max_P <Xc P, Yc> / (||Xc|| ||Yc||)`` over column permutations ``P`` (zero-padded), in ``[-1, 1]``."""
    from scipy.optimize import linear_sum_assignment

    Xt, Yt = paired(X, Y)
    Xc, Yc = centered(Xt), centered(Yt)
    na, nb = torch.linalg.matrix_norm(Xc), torch.linalg.matrix_norm(Yc)
    check_self_term(na, "X", "norm")
    check_self_term(nb, "Y", "norm")
    M = Xc.T @ Yc  # padding adds zero rows or columns, which the assignment may leave unmatched
    rows, cols = linear_sum_assignment(M.detach().cpu().numpy(), maximize=True)
    matched = M[torch.as_tensor(rows, device=M.device), torch.as_tensor(cols, device=M.device)].sum()
    return as_output((matched / (na * nb)).clamp(-1.0, 1.0), X, Y)
