r"""HSIC from sample sums: the Gram-sum formula, and linear HSIC from moments, the form
that streams, merges across ranks and reuses row norms across the cross and self terms.

Every HSIC in the package ends in :func:`hsic_from_sums` (``docs/align.md#eq-hsic-u``)::

    biased:   [sum K*L - (2/n) r_K.r_L + sum K sum L / n^2] / (n-1)^2
    unbiased: [sum K~*L~ + sum K~ sum L~ / ((n-1)(n-2)) - 2 (K~1).(L~1) / (n-2)] / (n (n-3))

With ``k_i = ||x_i||^2``, ``l_i = ||y_i||^2``, ``s_x = X^T 1``, ``s_y = Y^T 1``
(``docs/align.md#eq-hsic-linear``)::

    biased:   HSIC_b = ||X^T Y - s_x s_y^T / n||_F^2 / (n-1)^2
    unbiased: sum K~*L~   = ||X^T Y||_F^2 - sum k l
              sum K~      = ||s_x||^2 - sum k
              (K~1).(L~1) = s_x^T X^T Y s_y - s_x^T X^T l - (Y^T k)^T s_y + k.l

Every term is a sum over samples, so chunks add up (:mod:`latentalign.align.streaming`),
and a self-term reuses the moments of its input: ``HSIC(X, X)`` needs ``X^T X``,
``sum k``, ``sum k^2`` and ``X^T k``. Rows should be shifted near their mean first
(:func:`centered`; HSIC is translation invariant, raw sums lose digits when
``|mean| >> std``).

The example is :func:`hsic_triple`'s.
"""

from __future__ import annotations

import torch

__all__ = ["hsic_from_sums", "column_sums", "centered", "row_sq", "self_moments", "cross_moments",
           "hsic_from_moments", "self_hsic", "linear_hsic", "hsic_triple"]


def hsic_from_sums(kl, k_sum, l_sum, cross, n: int, unbiased: bool):
    """HSIC from Gram sums (tensors broadcast, so a batch of permutations works).

    ``kl = sum K*L`` (diagonals zeroed when unbiased), ``k_sum = 1^T K 1``,
    ``l_sum = 1^T L 1``, ``cross = (K1).(L1)``; formulas in the module doc.

    Parameters
    ----------
    kl : torch.Tensor
        ``sum K*L`` (diagonals zeroed when unbiased).
    k_sum, l_sum : torch.Tensor
        ``1^T K 1`` and ``1^T L 1``.
    cross : torch.Tensor
        ``(K1).(L1)``.
    n : int
        Samples (``>= 4`` when unbiased).
    unbiased : bool
        ``HSIC_u`` instead of ``HSIC_b``.

    Returns
    -------
    torch.Tensor
        0-d (or the broadcast shape of the inputs) float64 HSIC.

    Examples
    --------
    >>> import torch
    >>> K = torch.eye(4, dtype=torch.float64)
    >>> float(hsic_from_sums((K * K).sum(), K.sum(), K.sum(), K.sum(1) @ K.sum(1), 4, False))  # tr(HKHK) / 9
    0.3333333333333333
    """
    if unbiased:
        return (kl + k_sum * l_sum / ((n - 1) * (n - 2)) - 2.0 * cross / (n - 2)) / (n * (n - 3))
    return (kl - 2.0 / n * cross + k_sum * l_sum / n**2) / (n - 1) ** 2


def column_sums(X: torch.Tensor) -> torch.Tensor:
    """``X^T 1`` as a matrix-vector product (a BLAS gemv; ``X.sum(0)`` is ~20x slower on CPU).

    Parameters
    ----------
    X : torch.Tensor of shape (n, d)
        Rows.

    Returns
    -------
    torch.Tensor of shape (d,)
        ``X^T 1``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]], dtype=torch.float64)
    >>> column_sums(X).tolist()
    [4.0, 2.0]
    """
    return torch.ones(X.shape[0], dtype=X.dtype, device=X.device) @ X


def centered(X: torch.Tensor) -> torch.Tensor:
    """Columns minus their mean.

    Parameters
    ----------
    X : torch.Tensor of shape (n, d)
        Rows.

    Returns
    -------
    torch.Tensor of shape (n, d)
        ``X`` minus its column means.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]], dtype=torch.float64)
    >>> centered(X).sum(0).tolist()
    [0.0, 0.0]
    """
    return X - column_sums(X) / X.shape[0]


def row_sq(Z: torch.Tensor) -> torch.Tensor:
    """``||z_i||^2`` per row (no ``n x d`` temporary).

    Parameters
    ----------
    Z : torch.Tensor of shape (n, d)
        Rows.

    Returns
    -------
    torch.Tensor of shape (n,)
        ``||z_i||^2``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]], dtype=torch.float64)
    >>> [round(v, 12) for v in row_sq(X).tolist()]
    [1.0, 1.0, 2.0, 4.0]
    """
    return torch.linalg.vector_norm(Z, dim=1).square()


def self_moments(Z: torch.Tensor, unbiased: bool, k: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Return ``s = Z^T 1`` and ``gram = Z^T Z``.

    The unbiased estimator adds ``k = sum ||z||^2``, ``k2 = sum ||z||^4`` and ``zk = Z^T ||z||^2``.

    Parameters
    ----------
    Z : torch.Tensor of shape (n, d)
        Rows (shifted near their mean).
    unbiased : bool
        Add the row-norm moments the unbiased estimator needs.
    k : torch.Tensor of shape (n,), optional
        ``||z_i||^2`` when already computed.

    Returns
    -------
    dict of str to torch.Tensor
        ``s`` ``(d,)``, ``gram`` ``(d, d)``; unbiased adds ``k``, ``k2`` (0-d) and ``zk`` ``(d,)``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]], dtype=torch.float64)
    >>> sorted(self_moments(X, True))
    ['gram', 'k', 'k2', 's', 'zk']
    """
    out = {"s": column_sums(Z), "gram": Z.T @ Z}
    if unbiased:
        k = row_sq(Z) if k is None else k
        out.update(k=k.sum(), k2=k @ k, zk=Z.T @ k)
    return out


def cross_moments(X: torch.Tensor, Y: torch.Tensor, unbiased: bool, k: torch.Tensor | None = None,
                  l: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """``xty = X^T Y``; unbiased adds ``kl = sum k l``, ``xtl = X^T l``, ``ytk = Y^T k`` (row norms reusable).

    Parameters
    ----------
    X : torch.Tensor of shape (n, d1)
        Rows of the first representation.
    Y : torch.Tensor of shape (n, d2)
        Rows of the second.
    unbiased : bool
        Add the row-norm moments the unbiased estimator needs.
    k, l : torch.Tensor of shape (n,), optional
        ``||x_i||^2`` and ``||y_i||^2`` when already computed.

    Returns
    -------
    dict of str to torch.Tensor
        ``xty`` ``(d1, d2)``; unbiased adds ``kl`` (0-d), ``xtl`` ``(d1,)`` and ``ytk`` ``(d2,)``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]], dtype=torch.float64)
    >>> cross_moments(X, X[:, :1], False)["xty"].shape
    torch.Size([2, 1])
    """
    out = {"xty": X.T @ Y}
    if unbiased:
        k = row_sq(X) if k is None else k
        l = row_sq(Y) if l is None else l
        out.update(kl=k @ l, xtl=X.T @ l, ytk=Y.T @ k)
    return out


def hsic_from_moments(n, s_x, s_y, xty, unbiased: bool, k=None, l=None, kl=None, xtl=None, ytk=None):
    """Linear HSIC from the moments above (formulas in the module doc).

    Parameters
    ----------
    n : int or torch.Tensor
        Samples.
    s_x, s_y : torch.Tensor of shape (d1,) and (d2,)
        Column sums.
    xty : torch.Tensor of shape (d1, d2)
        ``X^T Y``.
    unbiased : bool
        ``HSIC_u`` (needs the five moments below) instead of ``HSIC_b``.
    k, l : torch.Tensor, optional
        ``sum ||x||^2`` and ``sum ||y||^2``.
    kl : torch.Tensor, optional
        ``sum k_i l_i``.
    xtl, ytk : torch.Tensor of shape (d1,) and (d2,), optional
        ``X^T l`` and ``Y^T k``.

    Returns
    -------
    torch.Tensor
        0-d (or the broadcast shape of the inputs) float64 HSIC.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]], dtype=torch.float64)
    >>> m = self_moments(X, False)
    >>> bool(torch.isclose(hsic_from_moments(4, m["s"], m["s"], m["gram"], False), linear_hsic(X, X, False)))
    True
    """
    if not unbiased:
        cross = xty - torch.outer(s_x, s_y) / n  # Xc^T Yc
        return cross.square().sum() / (n - 1) ** 2
    kl_sum = xty.square().sum() - kl
    cross = s_x @ xty @ s_y - s_x @ xtl - ytk @ s_y + kl
    return hsic_from_sums(kl_sum, s_x @ s_x - k, s_y @ s_y - l, cross, n, True)


def self_hsic(n, m: dict[str, torch.Tensor], unbiased: bool):
    """``HSIC(Z, Z)`` from ``self_moments(Z)``.

    Parameters
    ----------
    n : int or torch.Tensor
        Samples.
    m : dict of str to torch.Tensor
        ``self_moments(Z, unbiased)``.
    unbiased : bool
        ``HSIC_u`` instead of ``HSIC_b``.

    Returns
    -------
    torch.Tensor
        0-d (or the broadcast shape of the inputs) float64 HSIC.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]], dtype=torch.float64)
    >>> bool(torch.isclose(self_hsic(4, self_moments(X, True), True), linear_hsic(X, X, True)))
    True
    """
    if not unbiased:
        return hsic_from_moments(n, m["s"], m["s"], m["gram"], False)
    return hsic_from_moments(n, m["s"], m["s"], m["gram"], True, m["k"], m["k"], m["k2"], m["zk"], m["zk"])


def linear_hsic(X: torch.Tensor, Y: torch.Tensor, unbiased: bool) -> torch.Tensor:
    """Linear-kernel ``HSIC(X, Y)`` from the moments of (mean-shifted) ``X``, ``Y``: ``O(n d1 d2)``.

    Parameters
    ----------
    X : torch.Tensor of shape (n, d1)
        Rows of the first representation (shifted near their mean).
    Y : torch.Tensor of shape (n, d2)
        Rows of the second.
    unbiased : bool
        ``HSIC_u`` (``n >= 4``) instead of ``HSIC_b``.

    Returns
    -------
    torch.Tensor
        0-d (or the broadcast shape of the inputs) float64 HSIC.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [2., 0.]], dtype=torch.float64)
    >>> round(float(linear_hsic(centered(X), centered(X), False)), 6)  # ||Xc^T Xc||_F^2 / (n-1)^2 = 7/9
    0.777778
    """
    n = X.shape[0]
    k, l = (row_sq(X), row_sq(Y)) if unbiased else (None, None)
    c = cross_moments(X, Y, unbiased, k, l)
    extra = (k.sum(), l.sum(), c["kl"], c["xtl"], c["ytk"]) if unbiased else ()
    return hsic_from_moments(n, column_sums(X), column_sums(Y), c["xty"], unbiased, *extra)


def hsic_triple(X: torch.Tensor, Y: torch.Tensor, unbiased: bool):
    """``HSIC(X, Y)``, ``HSIC(X, X)``, ``HSIC(Y, Y)`` with three GEMMs and each row norm computed once.

    Parameters
    ----------
    X : torch.Tensor of shape (n, d1)
        Rows of the first representation (shifted near their mean).
    Y : torch.Tensor of shape (n, d2)
        Rows of the second.
    unbiased : bool
        ``HSIC_u`` instead of ``HSIC_b``.

    Returns
    -------
    tuple of torch.Tensor
        ``(HSIC(X, Y), HSIC(X, X), HSIC(Y, Y))``, each 0-d float64.

    Examples
    --------
    >>> import torch
    >>> from latentalign.kernels import hsic
    >>> X, Y = torch.randn(50, 3, dtype=torch.float64), torch.randn(50, 2, dtype=torch.float64)
    >>> xy, xx, yy = hsic_triple(X, Y, unbiased=True)
    >>> bool(torch.isclose(xy, hsic(X, Y, unbiased=True)))
    True
    """
    n = X.shape[0]
    k = row_sq(X) if unbiased else None
    l = row_sq(Y) if unbiased else None
    mx, my = self_moments(X, unbiased, k), self_moments(Y, unbiased, l)
    c = cross_moments(X, Y, unbiased, k, l)
    extra = (mx["k"], my["k"], c["kl"], c["xtl"], c["ytk"]) if unbiased else ()
    xy = hsic_from_moments(n, mx["s"], my["s"], c["xty"], unbiased, *extra)
    return xy, self_hsic(n, mx, unbiased), self_hsic(n, my, unbiased)
