r"""Predictive and spectral measures: regression R^2, PLS, GULP, ENSD (all by ``d x d`` routes).

With centred inputs ``Xc``, ``Yc`` and orthonormal bases ``Qx``, ``Qy`` of their columns:

* **linear regression** (resi): the fraction of ``X``'s variance a linear map of ``Y`` explains,
  ``||Qy^T Xc||_F^2 / ||Xc||_F^2`` (not symmetric).
* **ridge R^2** (``brain_language_nlp``): ``W = (X^T X + lambda I)^{-1} X^T Y`` on the raw inputs (no
  intercept, ``lambda`` absolute), then the in-sample ``R^2 = 1 - mean_i (Y - XW)_ij^2 / var(Y_j)``,
  averaged over the columns of ``Y``. The kernel form ``X^T (X X^T + lambda I)^{-1} Y`` is the same map.
* **PLS** (Google svcca's ``numpy_pls``): the mean singular value of the cross-covariance
  ``Xc^T Yc / (n - 1)``.
* **GULP** (Boix-Adsera et al. 2022, ``lambda = 0``): the distance between the best linear
  predictors, ``rank X + rank Y - 2 ||Qx^T Qy||_F^2`` (``rank`` minus twice the sum of the squared
  canonical correlations).
* **ENSD** (Giaffar et al. 2023): with ``K = Xc Xc^T``, ``PR(K) = tr(K)^2 / tr(K^2)`` and
  ``ENSD = PR(K) PR(L) tr(K L) / (tr K tr L)``; its normalised angle is
  ``(2 / pi) arccos(ENSD / sqrt(PR(K) PR(L)))`` = ``(2 / pi) arccos(CKA)``.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(50, 4))
>>> round(linear_regression(X, X @ np.random.default_rng(1).normal(size=(4, 4))), 12), round(gulp(X, 2 * X), 9)
(1.0, 0.0)
>>> round(ensd(X, X), 9) == round(float(np.trace(np.cov(X.T)) ** 2 / np.sum(np.cov(X.T) ** 2)), 9)
True
"""

from __future__ import annotations

import math

import torch

from .._validate import check_nonnegative
from ..moments import centered
from ._common import as_output, check_self_term, paired
from .subspace_metrics import orthonormal_basis

__all__ = ["linear_regression", "ridge_r2", "pls", "gulp", "ensd", "ensd_angle"]


def linear_regression(X, Y):
    """``||Qy^T Xc||^2 / ||Xc||^2``: the share of ``X``'s variance explained linearly by ``Y``, in ``[0, 1]``."""
    Xt, Yt = paired(X, Y)
    Xc = centered(Xt)
    total = Xc.square().sum()
    check_self_term(total, "X", "variance")
    return as_output((orthonormal_basis(Yt).T @ Xc).square().sum() / total, X, Y)


def ridge_r2(X, Y, *, ridge: float = 1.0):
    """Mean in-sample ``R^2`` over ``Y``'s columns of the ridge map ``X -> Y`` (absolute ``ridge``, no intercept)."""
    ridge = check_nonnegative(ridge, "ridge")
    Xt, Yt = paired(X, Y)
    G = Xt.T @ Xt + ridge * torch.eye(Xt.shape[1], dtype=Xt.dtype, device=Xt.device)
    residual = Yt - Xt @ torch.linalg.solve(G, Xt.T @ Yt)
    var = Yt.var(0, unbiased=False)
    if bool((var == 0).any()):
        raise ValueError("Y: a column is constant, so its R^2 is undefined")
    return as_output((1.0 - residual.square().mean(0) / var).mean(), X, Y)


def pls(X, Y):
    """Mean singular value of the cross-covariance ``Xc^T Yc / (n - 1)``."""
    Xt, Yt = paired(X, Y)
    C = centered(Xt).T @ centered(Yt) / (Xt.shape[0] - 1)
    return as_output(torch.linalg.svdvals(C).mean(), X, Y)


def gulp(X, Y):
    """GULP distance at ``lambda = 0``: ``rank X + rank Y - 2 ||Qx^T Qy||_F^2`` (0 iff same column space)."""
    Xt, Yt = paired(X, Y)
    Qx, Qy = orthonormal_basis(Xt), orthonormal_basis(Yt)
    return as_output((Qx.shape[1] + Qy.shape[1] - 2.0 * (Qx.T @ Qy).square().sum()).clamp_min(0.0), X, Y)


def _traces(X, Y):
    Xt, Yt = paired(X, Y)
    Xc, Yc = centered(Xt), centered(Yt)
    tk, tl = Xc.square().sum(), Yc.square().sum()
    check_self_term(tk, "X", "variance")
    check_self_term(tl, "Y", "variance")
    return tk, tl, (Xc.T @ Xc).square().sum(), (Yc.T @ Yc).square().sum(), (Xc.T @ Yc).square().sum()


def ensd(X, Y):
    """Effective number of shared dimensions ``PR(K) PR(L) tr(KL) / (tr K tr L)``."""
    tk, tl, kk, ll, kl = _traces(X, Y)
    return as_output((tk * tk / kk) * (tl * tl / ll) * kl / (tk * tl), X, Y)


def ensd_angle(X, Y):
    """``(2 / pi) arccos(ENSD / sqrt(PR(K) PR(L)))``, in ``[0, 1]``."""
    tk, tl, kk, ll, kl = _traces(X, Y)
    return as_output(torch.arccos((kl / torch.sqrt(kk * ll)).clamp(-1.0, 1.0)) * (2.0 / math.pi), X, Y)
