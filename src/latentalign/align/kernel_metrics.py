r"""Kernel alignment (KA) and centred kernel alignment (CKA), exact, float64.

* ``KA = <K, L>_F / (||K||_F ||L||_F)`` (uncentred); linear form
  ``||X^T Y||_F^2 / (||X^T X||_F ||Y^T Y||_F)``.
* ``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` (Kornblith et al. 2019), with
  the biased or the unbiased HSIC of :mod:`latentalign.kernels`.
* ``mmd_alignment = MMD^2(P_XY, P_X x P_Y) = tr(K H L H) / n^2`` (``docs/align.md#eq-mmd-alignment``):
  the squared MMD, under the product kernel ``k(x, x') l(y, y')``, between the empirical
  joint law of the pairs and the product of its marginals; normalised by its self-terms
  it is ``CKA_b``.

Two exact paths (``docs/align.md#eq-hsic-linear``): the feature path (linear
kernel, ``O(n d1 d2)`` time and ``O(d^2)`` memory) and the Gram path (any kernel,
row blocks of ``block_size``, so only ``block_size x n`` of each Gram exists).
``path="auto"`` takes the feature path for a linear kernel when
``d1 d2 + d1^2 + d2^2 < n (d1 + d2)``. The centring matrix is never formed.

A constant input or a non-positive self-term raises ``ValueError`` naming the
argument; a negative unbiased CKA is returned as it is.

Examples
--------
>>> import numpy as np
>>> X = np.array([[1., 0.], [0., 1.], [1., 1.], [2., 0.]])
>>> Y = X @ np.array([[1., 2.], [0., 1.]])
>>> round(cka(X, Y), 6), round(cka(X, Y, unbiased=True), 6), round(ka(X, Y), 6)
(0.826977, 0.39736, 0.959718)
"""

from __future__ import annotations

import torch

from .._validate import check_bool
from ..kernels import (
    GRAM_BLOCK,
    GRAM_TRIPLE,
    KernelFn,
    check_kernel_options,
    gram_sums,
    hsic,
    hsic_degree,
    hsic_tensors,
    resolve_path,
)
from ..moments import centered, hsic_triple
from ._common import as_output, check_self_term, paired

__all__ = ["ka", "cka", "hsic", "mmd_alignment"]


def cka(
    X,
    Y,
    *,
    kernel: str | KernelFn = "linear",
    unbiased: bool = False,
    sigma: float | None = None,
    path: str = "auto",
    seed: int = 0,
    block_size: int = GRAM_BLOCK,
):
    """Centred kernel alignment ``HSIC(K,L) / sqrt(HSIC(K,K) HSIC(L,L))``.

    Biased CKA lies in ``[0, 1]``; unbiased CKA may be slightly negative.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    kernel : {"linear", "cosine", "rbf"} or callable, default "linear"
        The kernel of both inputs (see :func:`latentalign.kernels.kernel_fn`).
    unbiased : bool, default False
        Use the unbiased ``HSIC_u`` (``n >= 4``).
    sigma : float, optional
        RBF bandwidth of both inputs; ``None`` takes the median heuristic of each.
    path : {"auto", "feature", "gram"}, default "auto"
        Feature-space (linear kernel) or blocked Gram computation; ``"auto"`` picks the cheaper.
    seed : int, default 0
        Seed of the median's subsample (above 2000 rows).
    block_size : int, default 2048
        Rows per Gram block on the Gram path.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor (autograd kept) for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> round(cka(X, 2 * X @ np.linalg.qr(np.ones((3, 3)) + np.eye(3))[0]), 12)
    1.0
    """
    unbiased = check_bool(unbiased, "unbiased")
    block_size = check_kernel_options(kernel, sigma, seed, block_size)
    Xt, Yt = paired(X, Y, unbiased=unbiased, scale_free=hsic_degree(kernel, sigma) is not None)
    n, d1, d2 = Xt.shape[0], Xt.shape[1], Yt.shape[1]
    if resolve_path(path, kernel, n, d1, d2) == "feature":
        xy, xx, yy = hsic_triple(centered(Xt), centered(Yt), unbiased)
    else:
        sums = gram_sums(Xt, Yt, kernel, unbiased=unbiased, sigma=sigma, seed=seed, block_size=block_size,
                         pairs=GRAM_TRIPLE)
        xy, xx, yy = (s.hsic(n, unbiased) for s in sums)
    check_self_term(xx, "X")
    check_self_term(yy, "Y")
    return as_output(xy / torch.sqrt(xx * yy), X, Y)


def ka(
    X,
    Y,
    *,
    kernel: str | KernelFn = "linear",
    sigma: float | None = None,
    path: str = "auto",
    seed: int = 0,
    block_size: int = GRAM_BLOCK,
):
    """Uncentred kernel alignment ``<K, L>_F / (||K||_F ||L||_F)`` (Cristianini et al. 2001).

    Not translation invariant (use :func:`cka` for that). An all-zero input raises.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order.
    kernel : {"linear", "cosine", "rbf"} or callable, default "linear"
        The kernel of both inputs (see :func:`latentalign.kernels.kernel_fn`).
    sigma : float, optional
        RBF bandwidth of both inputs; ``None`` takes the median heuristic of each.
    path : {"auto", "feature", "gram"}, default "auto"
        Feature-space (linear kernel) or blocked Gram computation; ``"auto"`` picks the cheaper.
    seed : int, default 0
        Seed of the median's subsample (above 2000 rows).
    block_size : int, default 2048
        Rows per Gram block on the Gram path.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> round(ka([[1., 0.], [0., 1.]], [[2., 0.], [0., 2.]]), 12)
    1.0
    """
    block_size = check_kernel_options(kernel, sigma, seed, block_size)
    Xt, Yt = paired(X, Y, allow_constant=True, scale_free=hsic_degree(kernel, sigma) is not None)
    n, d1, d2 = Xt.shape[0], Xt.shape[1], Yt.shape[1]
    if resolve_path(path, kernel, n, d1, d2) == "feature":
        xy, xx, yy = ((A.T @ B).square().sum() for A, B in ((Xt, Yt), (Xt, Xt), (Yt, Yt)))
    else:
        sums = gram_sums(Xt, Yt, kernel, unbiased=False, sigma=sigma, seed=seed, block_size=block_size,
                         shift=False, pairs=GRAM_TRIPLE)
        xy, xx, yy = (s.kl for s in sums)
    check_self_term(xx, "X", "alignment ||K||^2")
    check_self_term(yy, "Y", "alignment ||L||^2")
    return as_output(xy / torch.sqrt(xx * yy), X, Y)


def mmd_alignment(
    X,
    Y,
    *,
    kernel: str | KernelFn = "linear",
    sigma: float | None = None,
    path: str = "auto",
    seed: int = 0,
    block_size: int = GRAM_BLOCK,
):
    r"""Alignment as the MMD between the joint law of the pairs and the product of its marginals.

    With the product kernel ``k((x, y), (x', y')) = k(x, x') l(y, y')``, the empirical
    joint ``P_XY = (1/n) sum_i delta_(x_i, y_i)`` and the product of its marginals
    ``P_X x P_Y = (1/n^2) sum_ij delta_(x_i, y_j)`` (``docs/align.md#eq-mmd-alignment``)::

        MMD^2(P_XY, P_X x P_Y) = (1/n^2) sum K*L - (2/n^3) (K 1).(L 1) + (1^T K 1)(1^T L 1)/n^4
                               = tr(K H L H) / n^2 = ((n - 1)/n)^2 HSIC_b(K, L)

    (linear kernel: ``||C12||_F^2``, the squared norm of the cross-covariance). It is 0
    when the pairing carries no dependence, and its normalisation by the self-terms,
    ``MMD^2_XY / sqrt(MMD^2_XX MMD^2_YY)``, is the centred kernel alignment ``CKA_b``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First representation (numpy or torch); row ``i`` pairs with row ``i`` of ``Y``.
    Y : array-like of shape (n_samples, n_features_y)
        Second representation.
    kernel : {"linear", "rbf", "cosine"} or callable, default="linear"
        Kernel of both inputs; a callable is ``k(A, B) -> (len(A), len(B))``.
    sigma : float, optional
        RBF bandwidth of both inputs; default the median heuristic of each.
    path : {"auto", "feature", "gram"}, default="auto"
        Exact evaluation path (the feature path needs the linear kernel).
    seed : int, default=0
        Seed of the median heuristic's subsample (above 2000 rows).
    block_size : int, default=2048
        Rows of each Gram block on the Gram path.

    Returns
    -------
    float or torch.Tensor
        ``MMD^2 >= 0`` (a Python float for numpy input, a 0-d float64 tensor for torch).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1., 0.], [0., 1.], [1., 1.], [2., 0.]])
    >>> Y = X @ np.array([[1., 2.], [0., 1.]])
    >>> mmd_alignment(X, Y)  # ||C12||_F^2 = ||[[2, 3], [-1, -1]]||^2 / 4^2
    0.9375
    >>> xy, xx, yy = mmd_alignment(X, Y), mmd_alignment(X, X), mmd_alignment(Y, Y)
    >>> round(xy / (xx * yy) ** 0.5, 6) == round(cka(X, Y), 6)
    True
    """
    block_size = check_kernel_options(kernel, sigma, seed, block_size)
    Xt, Yt = paired(X, Y, allow_constant=True)
    n = Xt.shape[0]
    value = hsic_tensors(Xt, Yt, kernel=kernel, unbiased=False, sigma=sigma, path=path, seed=seed,
                         block_size=block_size)
    return as_output(value * ((n - 1) / n) ** 2, X, Y)
