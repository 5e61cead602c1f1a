r"""RSA under the registry's RDMs and comparisons (rsatoolbox, thingsvision, resi conventions).

RDMs (``n x n``, zero diagonal; every one is ``O(n^2)`` in memory):

* ``squared_euclidean`` ``||x_i - x_j||^2 / P`` and ``mahalanobis`` (no noise estimate, so the
  identity precision: the same matrix), per feature as in ``rsatoolbox``;
* ``euclidean`` ``||x_i - x_j||``; ``cosine`` ``1 - cos(x_i, x_j)``; ``correlation``
  ``1 - corr(x_i, x_j)`` (rows centred across the ``P`` features);
* ``poisson`` (rsatoolbox): with ``z = (x + 0.1) / 1.1`` (prior rate 1, weight 0.1), the symmetrised
  KL divergence ``sum_f (z_if - z_jf)(log z_if - log z_jf) / P``; needs ``x > -0.1``;
* ``gaussian`` (thingsvision): ``1 - exp(-||x_i - x_j||^2 / mean_ij ||x_i - x_j||^2)``.

Comparisons of the upper triangles ``a``, ``b`` (``m = n(n-1)/2`` pairs): ``pearson``,
``spearman`` (average ranks), ``kendall`` = ``tau_b``, ``tau_a`` ``(C - D) / (m(m-1)/2)``, ``rho_a``
``12 <ra - mean, rb - mean> / (m^3 - m)``, ``cosine``, ``euclidean`` ``||a - b||`` (resi).
On second-moment matrices ``G = -1/2 H D H`` (rsatoolbox's whitened comparisons):
``cosine_cov`` ``<G1, G2>_F / (||G1|| ||G2||)`` (linear CKA for ``squared_euclidean``),
``corr_cov`` the same after subtracting the mean of ``a`` (``b``) from the off-diagonal RDM,
``bures`` ``tr (G1^{1/2} G2 G1^{1/2})^{1/2} / sqrt(tr G1 tr G2)`` (normalised Bures similarity) and
``bures_metric`` ``tr G1 + tr G2 - 2 tr (G1^{1/2} G2 G1^{1/2})^{1/2}`` (rsatoolbox's name; it is
the *squared* Bures metric). For the RDMs that are squared row distances (squared_euclidean,
mahalanobis, cosine, correlation) ``G = F F^T`` with ``F`` ``n x d``, so these four run by ``d x d``
products and never form an ``n x n`` matrix.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).uniform(size=(12, 4))
>>> round(rsa_compare(X, 2 * X + 1, rdm="euclidean", compare="kendall"), 12)
1.0
>>> round(rsa_compare(X, X[:, ::-1], rdm="squared_euclidean", compare="bures"), 12)
1.0
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validate import check_choice
from ..kernels import center_gram, squared_distances, unit_rows
from ..moments import centered
from ._common import as_output, check_self_term, paired, safe_sqrt, zero_diagonal

__all__ = ["rsa_compare", "registry_rdm", "REGISTRY_RDMS", "REGISTRY_COMPARISONS"]

REGISTRY_RDMS = ("squared_euclidean", "mahalanobis", "euclidean", "cosine", "correlation", "poisson", "gaussian")
REGISTRY_COMPARISONS = ("pearson", "spearman", "kendall", "tau_b", "tau_a", "rho_a", "cosine", "euclidean",
                        "cosine_cov", "corr_cov", "bures", "bures_metric")
POISSON_PRIOR, POISSON_WEIGHT = 1.0, 0.1


def registry_rdm(X: torch.Tensor, rdm: str, name: str = "X") -> torch.Tensor:
    """The full ``n x n`` RDM ``rdm`` of validated float64 rows ``X`` (definitions in the module doc)."""
    check_choice(rdm, "rdm", REGISTRY_RDMS)
    P = X.shape[1]
    if rdm in ("squared_euclidean", "mahalanobis"):
        D = squared_distances(X, X) / P
    elif rdm == "euclidean":
        D = safe_sqrt(squared_distances(X, X))
    elif rdm == "gaussian":
        D2 = zero_diagonal(squared_distances(X, X))
        D = 1.0 - torch.exp(-D2 / D2.mean())
    elif rdm == "poisson":
        if bool((X <= -POISSON_PRIOR * POISSON_WEIGHT).any()):
            raise ValueError(f"{name}: the poisson RDM needs values > -{POISSON_PRIOR * POISSON_WEIGHT} (rates)")
        Z = (X + POISSON_PRIOR * POISSON_WEIGHT) / (1.0 + POISSON_WEIGHT)
        K = Z @ torch.log(Z).T
        D = (K.diagonal().unsqueeze(0) + K.diagonal().unsqueeze(1) - K - K.T) / P
    else:
        Z = X - X.mean(1, keepdim=True) if rdm == "correlation" else X
        if rdm == "correlation" and bool((Z.abs().amax(1) == 0).any()):
            raise ValueError(f"{name}: correlation distance is undefined for a row with zero variance across features")
        Z = unit_rows(Z, name)
        D = 1.0 - Z @ Z.T
    return zero_diagonal(D)


def _upper(D: torch.Tensor) -> torch.Tensor:
    iu = torch.triu_indices(D.shape[0], D.shape[0], offset=1, device=D.device)
    return D[iu[0], iu[1]]


def _cosine(a: torch.Tensor, b: torch.Tensor, what: str) -> torch.Tensor:
    na, nb = a.square().sum(), b.square().sum()
    check_self_term(na, "X", what)
    check_self_term(nb, "Y", what)
    return (a * b).sum() / torch.sqrt(na * nb)


def _ranks(a: torch.Tensor) -> torch.Tensor:
    from scipy.stats import rankdata

    return torch.from_numpy(rankdata(a.detach().cpu().numpy(), method="average")).to(a)


def _tied_pairs(a: np.ndarray) -> int:
    _, counts = np.unique(a, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def _kendall(a: torch.Tensor, b: torch.Tensor, variant: str) -> torch.Tensor:
    from scipy.stats import kendalltau

    x, y = a.detach().cpu().numpy(), b.detach().cpu().numpy()
    tau_b = float(kendalltau(x, y).statistic)
    if variant == "tau_a":  # C - D = tau_b sqrt((m0 - t_x)(m0 - t_y)), divided by m0 instead
        m0 = len(x) * (len(x) - 1) // 2
        tau_b = tau_b * math.sqrt((m0 - _tied_pairs(x)) * (m0 - _tied_pairs(y))) / m0
    return a.new_tensor(tau_b)


_SECOND_MOMENT = ("cosine_cov", "corr_cov", "bures", "bures_metric")
_FACTORED = ("squared_euclidean", "mahalanobis", "cosine", "correlation")


def second_moment_factor(X: torch.Tensor, rdm: str, name: str = "X") -> torch.Tensor:
    """``F`` (``n x d``, centred columns) with ``-1/2 H D H = F F^T``, for the RDMs that are squared
    distances of rows: ``Xc / sqrt(P)`` (squared_euclidean, mahalanobis), ``H Z / sqrt 2`` with ``Z``
    the unit (row-centred for correlation) rows, since ``1 - cos = ||z_i - z_j||^2 / 2``.
    """
    if rdm in ("squared_euclidean", "mahalanobis"):
        return centered(X) / math.sqrt(X.shape[1])
    Z = X - X.mean(1, keepdim=True) if rdm == "correlation" else X
    if rdm == "correlation" and bool((Z.abs().amax(1) == 0).any()):
        raise ValueError(f"{name}: correlation distance is undefined for a row with zero variance across features")
    return centered(unit_rows(Z, name)) / math.sqrt(2.0)


def _second_moment_compare(Xt: torch.Tensor, Yt: torch.Tensor, rdm: str, compare: str) -> torch.Tensor:
    """Rsatoolbox's comparisons of ``G = -1/2 H D H``: by ``d x d`` products when ``G = F F^T``.

    With ``G`` centred, ``<G, H> = tr G``, so ``corr_cov`` (``G - m/2 H``, ``m`` the mean distance
    of the pairs) expands into ``<G1, G2>``, the traces and ``<H, H> = n - 1``.
    """
    n = Xt.shape[0]
    if rdm in _FACTORED:
        F1, F2 = second_moment_factor(Xt, rdm, "X"), second_moment_factor(Yt, rdm, "Y")
        g12, g11, g22 = ((A.T @ B).square().sum() for A, B in ((F1, F2), (F1, F1), (F2, F2)))
        t1, t2 = F1.square().sum(), F2.square().sum()
        m1, m2 = 2.0 * t1 / (n - 1), 2.0 * t2 / (n - 1)  # sum_{i<j} ||f_i - f_j||^2 = n tr G
        fidelity = (lambda: torch.linalg.svdvals(F1.T @ F2).sum())
    else:
        Dx, Dy = registry_rdm(Xt, rdm, "X"), registry_rdm(Yt, rdm, "Y")
        G1, G2 = center_gram(-0.5 * Dx), center_gram(-0.5 * Dy)
        g12, g11, g22 = (G1 * G2).sum(), G1.square().sum(), G2.square().sum()
        t1, t2 = G1.trace(), G2.trace()
        m1, m2 = _upper(Dx).mean(), _upper(Dy).mean()
        fidelity = (lambda: _fidelity(G1, G2))
    if compare == "corr_cov":
        g12 = g12 - m2 / 2 * t1 - m1 / 2 * t2 + m1 * m2 / 4 * (n - 1)
        g11 = g11 - m1 * t1 + m1 * m1 / 4 * (n - 1)
        g22 = g22 - m2 * t2 + m2 * m2 / 4 * (n - 1)
    if compare in ("cosine_cov", "corr_cov"):
        check_self_term(g11, "X", "norm of the second-moment matrix")
        check_self_term(g22, "Y", "norm of the second-moment matrix")
        return g12 / torch.sqrt(g11 * g22)
    fid = fidelity()
    if compare == "bures_metric":
        return t1 + t2 - 2.0 * fid
    check_self_term(t1, "X", "trace of the second-moment matrix")
    check_self_term(t2, "Y", "trace of the second-moment matrix")
    return fid / torch.sqrt(t1 * t2)


def _cut(lam: torch.Tensor) -> torch.Tensor:
    """Eigenvalues below ``m eps lam_max`` (rounding noise, or negative) set to 0."""
    return torch.where(lam > lam.numel() * torch.finfo(lam.dtype).eps * lam.abs().max(), lam, torch.zeros_like(lam))


def _fidelity(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``tr (A_+^{1/2} B A_+^{1/2})_+^{1/2}``: rsatoolbox clips ``A``'s negative eigenvalues, then the product's."""
    lam, U = torch.linalg.eigh(A)
    root = (U * _cut(lam).sqrt()) @ U.T
    return _cut(torch.linalg.eigvalsh(root @ B @ root)).sqrt().sum()


def rsa_compare(X, Y, *, rdm: str = "squared_euclidean", compare: str = "pearson"):
    """Compare the RDMs ``rdm`` of ``X`` and ``Y`` with ``compare`` (module doc). ``O(n^2)`` memory.

    The correlations lie in ``[-1, 1]``, ``bures`` in ``[0, 1]``; ``euclidean`` and ``bures_metric``
    are distances (0 for equal RDMs).
    """
    check_choice(rdm, "rdm", REGISTRY_RDMS)
    check_choice(compare, "compare", REGISTRY_COMPARISONS)
    Xt, Yt = paired(X, Y, min_samples=3)
    if compare in _SECOND_MOMENT:
        return as_output(_second_moment_compare(Xt, Yt, rdm, compare), X, Y)
    Dx, Dy = registry_rdm(Xt, rdm, "X"), registry_rdm(Yt, rdm, "Y")
    a, b = _upper(Dx), _upper(Dy)
    if compare == "euclidean":
        return as_output(torch.linalg.vector_norm(a - b), X, Y)
    if compare == "cosine":
        return as_output(_cosine(a, b, "norm of the RDM"), X, Y)
    if compare in ("kendall", "tau_b", "tau_a"):
        return as_output(_kendall(a, b, compare), X, Y)
    if compare in ("spearman", "rho_a"):
        a, b = _ranks(a), _ranks(b)
        if compare == "rho_a":
            m = a.numel()
            return as_output(12.0 * ((a - a.mean()) * (b - b.mean())).sum() / (m ** 3 - m), X, Y)
    a, b = a - a.mean(), b - b.mean()
    return as_output(_cosine(a, b, "variance of the RDM"), X, Y)
