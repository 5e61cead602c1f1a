r"""CKA beyond :func:`~latentalign.align.cka`: the Laplace kernel and the Lange et al. estimator.

* **Laplace kernel** ``k(a, b) = exp(-||a - b|| / (sqrt(2) sigma))``: the convention of
  Lange et al.'s ``repsim`` (``Laplace[sigma]``), the only public implementation in the
  registry of Cloos et al. 2024 (the ``sqrt 2`` mirrors ``exp(-||a-b||^2 / (2 sigma^2))``
  of the RBF kernel).
* **Lange debiased CKA** (Lange et al. 2023, "Deep networks as paths on the manifold of
  neural representations"): the cosine of the centred Grams with their diagonals set to 0,
  ``<K~, L~>_F / (||K~||_F ||L~||_F)``, ``K~ = HKH - diag(HKH)``. With a linear kernel it
  needs no ``n x n`` matrix: ``<K~, L~> = ||Xc^T Yc||_F^2 - sum_i ||xc_i||^2 ||yc_i||^2``.
  Other kernels form both ``n x n`` Grams (``O(n^2)`` memory).

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(40, 3))
>>> round(cka_lange(X, 3 * X + 1), 12), round(cka_lange(X, X, kernel="laplace", sigma=1.0), 12)
(1.0, 1.0)
"""

from __future__ import annotations

import math

import torch

from .._validate import check_choice, check_positive
from ..kernels import center_gram, kernel_fn, squared_distances
from ..moments import centered, row_sq
from ._common import as_output, check_self_term, paired, safe_sqrt, zero_diagonal

__all__ = ["laplace_kernel", "cka_lange", "LANGE_KERNELS"]

LANGE_KERNELS = ("linear", "rbf", "laplace")


def laplace_kernel(sigma: float):
    """``k(A, B) = exp(-||a - b|| / (sqrt(2) sigma))`` as a cross-kernel function.

    >>> import torch
    >>> round(float(laplace_kernel(1.0)(torch.zeros(1, 2), torch.tensor([[3., 4.]]))[0, 0]), 6)
    0.029143
    """
    scale = math.sqrt(2.0) * check_positive(sigma, "sigma")
    return lambda A, B: torch.exp(-safe_sqrt(squared_distances(A, B)) / scale)


def _gram(Z: torch.Tensor, kernel: str, sigma: float | None) -> torch.Tensor:
    fn = laplace_kernel(sigma) if kernel == "laplace" else kernel_fn(Z, kernel, sigma=sigma)
    return fn(Z, Z)


def cka_lange(X, Y, *, kernel: str = "linear", sigma: float | None = None):
    """Lange et al.'s debiased CKA: cosine of the off-diagonal entries of the centred Grams.

    ``kernel``: ``"linear"`` (feature path, ``O(n d1 d2)``), ``"rbf"`` (``sigma`` absolute; median
    heuristic if None) or ``"laplace"`` (``sigma`` required). Lies in ``[-1, 1]``.
    """
    check_choice(kernel, "kernel", LANGE_KERNELS)
    if kernel == "laplace" and sigma is None:
        raise ValueError("sigma: the laplace kernel needs a bandwidth")
    Xt, Yt = paired(X, Y, min_samples=3)
    if kernel == "linear":
        Xc, Yc = centered(Xt), centered(Yt)
        dx, dy = row_sq(Xc), row_sq(Yc)
        xy = (Xc.T @ Yc).square().sum() - (dx * dy).sum()
        xx = (Xc.T @ Xc).square().sum() - (dx * dx).sum()
        yy = (Yc.T @ Yc).square().sum() - (dy * dy).sum()
    else:
        K = zero_diagonal(center_gram(_gram(Xt, kernel, sigma)))
        L = zero_diagonal(center_gram(_gram(Yt, kernel, sigma)))
        xy, xx, yy = (K * L).sum(), K.square().sum(), L.square().sum()
    check_self_term(xx, "X", "alignment of the off-diagonal Gram")
    check_self_term(yy, "Y", "alignment of the off-diagonal Gram")
    return as_output(xy / torch.sqrt(xx * yy), X, Y)
