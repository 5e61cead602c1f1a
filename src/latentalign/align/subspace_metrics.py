r"""Subspace metrics: CCA, SVCCA and the orthogonal Procrustes shape distance.

* **cca**: canonical correlations ``rho`` = singular values of ``Qx^T Qy``, where
  ``Qx``, ``Qy`` are orthonormal bases of the centred data (SVD, rank tolerance
  ``max(n, d) * eps * s_max``). If ``rank X + rank Y >= n`` the two column spaces
  must meet, so some ``rho`` are trivially 1: that raises ``ValueError``.
* **svcca** (Raghu et al. 2017): keep the top singular directions explaining
  ``keep`` (99%) of each input's variance, or the first ``dims``, then CCA.
* **procrustes** (Williams et al. 2021): centre, scale to unit Frobenius norm,
  ``P = ||Xb^T Yb||_*`` (nuclear norm) = ``max_Q <Xb Q, Yb>`` over orthogonal ``Q``;
  distance ``arccos P`` (angular, in ``[0, pi/2]``) or ``sqrt(2 - 2P)`` (Euclidean).

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(30, 3))
>>> Q = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
>>> round(procrustes_similarity(X, 2 * X @ Q + 5), 12), round(cca(X, X @ np.diag([1., 2., 3.])), 12)
(1.0, 1.0)
"""

from __future__ import annotations

import math

import torch

from .._validate import check_bool, check_choice, check_int
from ..moments import centered
from ._common import as_output, paired

__all__ = ["cca", "svcca", "canonical_correlations", "procrustes", "procrustes_similarity", "orthonormal_basis",
           "ranked_svd",
           "mean_correlation", "unit_frobenius", "nuclear_alignment", "cca_bases", "gram_eigen", "check_ranks"]

DISTANCES = ("angular", "euclidean")


def ranked_svd(Zc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Thin SVD ``Zc = U diag(s) V^T`` cut at the numerical rank (``s > max(n, d) * eps * s_max``)."""
    U, s, _ = torch.linalg.svd(Zc, full_matrices=False)
    tol = max(Zc.shape) * torch.finfo(s.dtype).eps * s[0].detach()
    r = int((s.detach() > tol).sum())
    return U[:, :r], s[:r]


def gram_eigen(Zc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Singular values ``s`` (descending) and right vectors ``V`` of ``Zc`` from the eigen-pairs of the
    ``d x d`` Gram ``Zc^T Zc``, cut where the Gram cannot resolve them: ``s <= sqrt(max(n, d) eps) s_max``.
    """
    lam, V = torch.linalg.eigh(Zc.T @ Zc)
    lam, V = lam.flip(0), V.flip(1)
    keep = lam.detach() > max(Zc.shape) * torch.finfo(lam.dtype).eps * lam[0].detach().clamp_min(0.0)
    return lam[keep].sqrt(), V[:, keep]


def _tall_basis(Zc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``ranked_svd`` by the ``d x d`` route when ``n >= d`` (one GEMM and a ``d x d`` eigh instead of an
    ``n x d`` SVD): ``U = Zc V / s``, made orthonormal to rounding by one Cholesky-QR pass.
    """
    if Zc.shape[0] < Zc.shape[1]:
        return ranked_svd(Zc)
    s, V = gram_eigen(Zc)
    U = Zc @ (V / s)
    R = torch.linalg.cholesky(U.T @ U, upper=True)
    return torch.linalg.solve_triangular(R, U, upper=True, left=False), s


def check_ranks(rx: int, ry: int, n: int) -> None:
    """CCA needs ``rank X + rank Y < n``: otherwise the column spaces must meet (``ValueError`` naming X)."""
    if rx + ry >= n:
        raise ValueError(
            f"X: rank {rx} + rank of Y {ry} >= n_samples={n}: the column spaces must "
            "intersect, so some canonical correlations would be trivially 1; reduce the dimensions "
            "(svcca with keep/dims) or use more samples"
        )


def orthonormal_basis(Z: torch.Tensor, *, keep: float | None = None, dims: int | None = None) -> torch.Tensor:
    """``(n, r)`` orthonormal basis of the centred columns of ``Z``.

    ``r`` is the numerical rank, or fewer: the first ``dims`` directions, or the
    fewest top directions whose squared singular values reach ``keep`` of the total.
    """
    U, s = _tall_basis(centered(Z))
    r = U.shape[1]
    if keep is not None:
        power = s.detach() ** 2
        r = min(r, int(torch.searchsorted(power.cumsum(0) / power.sum(), torch.tensor(keep, dtype=power.dtype))) + 1)
    if dims is not None:
        r = min(r, dims)
    return U[:, :r]


def mean_correlation(Qx: torch.Tensor, Qy: torch.Tensor, squared: bool) -> torch.Tensor:
    """Mean ``rho`` (or ``rho^2``) of the singular values of ``Qx^T Qy`` (batched over leading dims)."""
    rho = torch.linalg.svdvals(Qx.transpose(-1, -2) @ Qy).clamp(0.0, 1.0)
    return (rho * rho if squared else rho).mean(-1)


def cca_bases(X, Y, keep=None, dims=None):
    """Orthonormal bases ``Qx``, ``Qy`` of the centred inputs (``keep``/``dims`` as in svcca); checks ranks."""
    Xt, Yt = paired(X, Y, min_samples=3, scale_free=True)
    dx, dy = (dims, dims) if not isinstance(dims, (tuple, list)) else dims
    for d, Z, name in ((dx, Xt, "X"), (dy, Yt, "Y")):
        if d is not None and d > Z.shape[1]:
            raise ValueError(f"dims: must be <= the {Z.shape[1]} features of {name}, got {d}")
    Qx = orthonormal_basis(Xt, keep=keep, dims=dx)
    Qy = orthonormal_basis(Yt, keep=keep, dims=dy)
    check_ranks(Qx.shape[1], Qy.shape[1], Xt.shape[0])
    return Qx, Qy


def canonical_correlations(X, Y):
    """All canonical correlations, largest first (``min(rank X, rank Y)`` values in ``[0, 1]``).

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> [round(float(r), 9) for r in canonical_correlations(X, X[:, ::-1])]
    [1.0, 1.0]
    """
    Qx, Qy = cca_bases(X, Y)
    rho = torch.linalg.svdvals(Qx.T @ Qy).clamp(0.0, 1.0)
    return rho if isinstance(X, torch.Tensor) or isinstance(Y, torch.Tensor) else rho.numpy()


def cca(X, Y, *, squared: bool = False):
    """Mean canonical correlation (``squared``: mean ``rho^2``), in ``[0, 1]``; invariant to invertible linear maps.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    squared : bool, default False
        Average ``rho^2`` instead of ``rho``.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> round(cca(X, X @ np.random.default_rng(1).normal(size=(3, 3))), 6)
    1.0
    """
    squared = check_bool(squared, "squared")
    Qx, Qy = cca_bases(X, Y)
    return as_output(mean_correlation(Qx, Qy, squared), X, Y)


def svcca(X, Y, *, keep: float = 0.99, dims: int | tuple[int, int] | None = None, squared: bool = False):
    """SVCCA: CCA on the top singular directions (``keep`` of the variance, or ``dims``; one int or one per input).

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    keep : float, default 0.99
        Share of each input's variance its top singular directions keep.
    dims : int or tuple of int, optional
        Directions kept (one number for both inputs, or one each) instead of ``keep``.
    squared : bool, default False
        Average ``rho^2`` instead of ``rho``.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 5))
    >>> round(svcca(X, -X, dims=3), 6)
    1.0
    """
    squared = check_bool(squared, "squared")
    if dims is not None:
        pair = dims if isinstance(dims, (tuple, list)) else (dims, dims)
        if len(pair) != 2:
            raise ValueError(f"dims: expected an int or (dims_x, dims_y), got {dims!r}")
        dims = tuple(check_int(d, "dims") for d in pair)
        keep = None
    elif isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
        raise ValueError(f"keep: expected a fraction of variance in (0, 1], got {keep!r}")
    Qx, Qy = cca_bases(X, Y, keep=keep, dims=dims)
    return as_output(mean_correlation(Qx, Qy, squared), X, Y)


def unit_frobenius(Z: torch.Tensor) -> torch.Tensor:
    """Centre, scale to unit Frobenius norm, and (if ``d > n``) rotate to ``n`` columns (same Gram)."""
    Zc = centered(Z)
    Zc = Zc / torch.linalg.matrix_norm(Zc)
    if Zc.shape[1] > Zc.shape[0]:
        U, s, _ = torch.linalg.svd(Zc, full_matrices=False)
        Zc = U * s
    return Zc


def nuclear_alignment(Xb: torch.Tensor, Yb: torch.Tensor) -> torch.Tensor:
    """``||Xb^T Yb||_*`` (batched over leading dims)."""
    return torch.linalg.svdvals(Xb.transpose(-1, -2) @ Yb).sum(-1)


def procrustes_similarity(X, Y):
    """``P = max_Q <Xb Q, Yb>`` over orthogonal ``Q`` (``Xb``, ``Yb`` centred, unit norm), in ``[0, 1]``.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> round(procrustes_similarity(X, X[:, ::-1]), 6)
    1.0
    """
    Xt, Yt = paired(X, Y, scale_free=True)
    return as_output(nuclear_alignment(unit_frobenius(Xt), unit_frobenius(Yt)).clamp(-1.0, 1.0), X, Y)


def procrustes(X, Y, *, distance: str = "angular"):
    """Procrustes shape distance: ``arccos P`` in ``[0, pi/2]`` or ``sqrt(2 - 2P)`` in ``[0, sqrt 2]``.

    Invariant to translation, isotropic scaling and orthogonal maps of either input.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    distance : {"angular", "euclidean"}, default "angular"
        ``arccos P`` or ``sqrt(2 - 2P)``.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> round(procrustes(X, 3 * X + 1), 6)
    0.0
    """
    check_choice(distance, "distance", DISTANCES)
    P = procrustes_similarity(X, Y)
    if isinstance(P, torch.Tensor):
        return torch.arccos(P) if distance == "angular" else torch.sqrt((2.0 - 2.0 * P).clamp_min(0.0))
    return math.acos(P) if distance == "angular" else math.sqrt(max(2.0 - 2.0 * P, 0.0))
