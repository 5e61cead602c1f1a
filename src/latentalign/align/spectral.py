r"""Spectral decomposition of kernel alignment into eigen-pair contributions.

With thin SVDs ``Xc = U1 S1 V1^T`` and ``Yc = U2 S2 V2^T`` (``Xc`` centred; raw
``X`` when ``center=False``), ``a = s1^2``, ``b = s2^2`` (the nonzero eigenvalues
of ``K = Xc Xc^T``, ``L = Yc Yc^T``) and ``M = U1^T U2``::

    C_ij = a_i b_j M_ij^2 / (||a|| ||b||),      sum_ij C_ij = CKA_b  (KA when center=False)

``C_ij`` is how much the pair (i-th direction of X, j-th of Y) contributes; the
cumulative sums over X's (Y's) top-r directions say how much of the alignment
the leading directions carry.

Examples
--------
>>> import numpy as np
>>> from latentalign.align import cka
>>> X = np.random.default_rng(0).normal(size=(40, 3)); Y = X @ np.diag([3., 1., .1])
>>> sp = spectral(X, Y)
>>> round(float(sp.contributions.sum()), 12) == round(cka(X, Y), 12), sp.contributions.shape
(True, (3, 3))
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._validate import check_bool
from ..moments import centered
from ._common import check_self_term, paired
from .subspace_metrics import ranked_svd

__all__ = ["spectral", "SpectralAlignment"]


class SpectralAlignment(NamedTuple):
    """Per-eigenpair contributions to CKA_b (or KA) and their cumulative sums.

    Attributes
    ----------
    contributions : numpy.ndarray or torch.Tensor of shape (r1, r2)
        ``C_ij``, the contribution of X's eigenpair ``i`` and Y's eigenpair ``j`` (numpy for numpy input).
    cumulative_x : numpy.ndarray or torch.Tensor of shape (r1,)
        ``cumulative_x[r-1]``: the sum of rows ``i < r`` (X's top-r directions against all of Y).
    cumulative_y : numpy.ndarray or torch.Tensor of shape (r2,)
        Likewise over Y's columns.
    total : float
        ``sum C``: CKA_b (or KA).
    eigenvalues_x : numpy.ndarray or torch.Tensor of shape (r1,)
        ``a``, the kernel eigenvalues of X.
    eigenvalues_y : numpy.ndarray or torch.Tensor of shape (r2,)
        ``b``, those of Y.
    """

    contributions: object
    cumulative_x: object
    cumulative_y: object
    total: float
    eigenvalues_x: object
    eigenvalues_y: object


def _eigenpairs(Z: torch.Tensor, center: bool):
    U, s = ranked_svd(centered(Z) if center else Z)
    return U, s * s


def spectral(X, Y, *, center: bool = True) -> SpectralAlignment:
    """Per-eigenpair contributions ``C_ij`` to CKA_b (``center=False``: to KA).

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    center : bool, default True
        Contributions to CKA_b; ``False``: to KA.

    Returns
    -------
    SpectralAlignment
        The contributions, their cumulative sums, the total and the eigenvalues.

    Examples
    --------
    >>> import numpy as np
    >>> from latentalign.align import cka
    >>> X = np.random.default_rng(0).normal(size=(30, 4))
    >>> Y = X + np.random.default_rng(1).normal(size=(30, 4))
    >>> bool(np.isclose(spectral(X, Y).total, cka(X, Y)))
    True
    """
    center = check_bool(center, "center")
    Xt, Yt = paired(X, Y, allow_constant=not center)
    U1, a = _eigenpairs(Xt, center)
    U2, b = _eigenpairs(Yt, center)
    na, nb = torch.linalg.vector_norm(a), torch.linalg.vector_norm(b)
    check_self_term(na, "X", "eigenvalue norm")
    check_self_term(nb, "Y", "eigenvalue norm")
    C = a.unsqueeze(1) * b.unsqueeze(0) * (U1.T @ U2).square() / (na * nb)
    to = (lambda t: t) if isinstance(X, torch.Tensor) or isinstance(Y, torch.Tensor) else (lambda t: t.detach().numpy())
    return SpectralAlignment(to(C), to(C.sum(1).cumsum(0)), to(C.sum(0).cumsum(0)), float(C.sum()), to(a), to(b))
