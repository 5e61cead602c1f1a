r"""Alignment of a representation with a labelled task.

* ``kta`` (kernel-target alignment, Cristianini et al. 2001) ``= CKA_b(X, onehot(y))``.
* ``cumulative_power[r-1] = sum_{i<=r} ||u_i^T y~||^2 / ||y~||^2`` (Canatar et al. 2021):
  the share of the centred one-hot target ``y~`` in the top-r kernel eigenvectors
  ``u_i`` of ``K = Xc Xc^T`` (left singular vectors of ``Xc``).
* ``kare(ridge)`` (Jacot et al. 2020), an estimate of kernel ridge regression's risk from
  the training data alone::

      kare = (1/n) ||(K/n + ridge I)^{-1} y||^2 / [(1/n) tr (K/n + ridge I)^{-1}]^2

  With ``K/n = U diag(s^2/n) U^T`` the inverse splits into the SVD basis and its
  null space, which adds ``||(I - U U^T) y||^2 / ridge^2`` and ``(n - r) / ridge``.

``y`` is a 1-D array of integer labels (one-hot encoded here) or a 2-D target matrix.

Examples
--------
>>> import numpy as np
>>> y = np.repeat([0, 1, 2], 10)
>>> X = np.eye(3)[y] + 0.01 * np.random.default_rng(0).normal(size=(30, 3))
>>> round(kta(X, y), 3), round(float(cumulative_power(X, y)[1]), 3)
(1.0, 1.0)
"""

from __future__ import annotations

import torch

from .._deprecate import renamed_kwargs
from .._validate import (
    _to_tensor,
    as_labels,
    as_matrix,
    check_bool,
    check_positive,
    check_scale,
    rescale_extreme,
)
from ..moments import centered
from ._common import as_output
from .kernel_metrics import cka
from .subspace_metrics import ranked_svd

__all__ = ["kta", "cumulative_power", "kare", "targets"]


def targets(y, n: int) -> torch.Tensor:
    """``(n, C)`` float64 targets: one-hot of 1-D integer labels, or a 2-D matrix as given."""
    t = _to_tensor(y, "y")
    if t.ndim == 2:
        T = as_matrix(t, "y")
        if T.shape[0] != n:
            raise ValueError(f"y: expected {n} rows like X, got {T.shape[0]}")
        return T
    labels = as_labels(t, "y", n_samples=n)
    if torch.unique(labels).numel() < 2:
        raise ValueError("y: needs at least 2 distinct labels to measure alignment with a task")
    return torch.nn.functional.one_hot(labels).to(torch.float64)


def kta(X, y):
    """Centred kernel-target alignment ``CKA_b(X, onehot(y))`` with a linear kernel, in ``[0, 1]``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The representation.
    y : array-like of shape (n_samples,)
        Integer class labels (at least 2 distinct), one-hot encoded as the target.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.repeat([0, 1, 2], 10)
    >>> X = np.eye(3)[y] + 0.01 * np.random.default_rng(0).normal(size=(30, 3))
    >>> round(kta(X, y), 2)
    1.0
    """
    Xt = as_matrix(X, "X", allow_constant=False)
    return as_output(cka(Xt, targets(y, Xt.shape[0]).to(Xt.device)), X, y)


def _spectrum(X, y, center: bool, scale_free: bool):
    center = check_bool(center, "center")
    Xt = as_matrix(X, "X", allow_constant=not center)
    Xt = rescale_extreme(Xt) if scale_free else check_scale(Xt, "X")
    T = targets(y, Xt.shape[0]).to(Xt.device)
    if center:
        Xt, T = centered(Xt), centered(T)
    U, s = ranked_svd(Xt)
    return Xt.shape[0], U, s, T


def cumulative_power(X, y, *, center: bool = True):
    """Share of the target's power captured by the top-1, top-2, ... kernel eigenvectors of ``X``.

    Returns an array of length ``rank(Xc)``, non-decreasing, ending at the share
    of ``y~`` in the column space of ``Xc`` (1 when the task is linearly decodable
    without error).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The representation.
    y : array-like of shape (n_samples,)
        Integer class labels (at least 2 distinct), one-hot encoded as the target.
    center : bool, default True
        Centre ``X`` and the target first.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (rank,)
        The cumulative shares (like ``X``: numpy for numpy input).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.repeat([0, 1, 2], 10)
    >>> X = np.eye(3)[y] + 0.01 * np.random.default_rng(0).normal(size=(30, 3))
    >>> np.round(cumulative_power(X, y), 2).tolist()  # two directions carry the centred 3-class target
    [0.5, 1.0, 1.0]
    """
    _, U, _, T = _spectrum(X, y, center, scale_free=True)
    power = (U.T @ T).square().sum(1)
    out = power.cumsum(0) / T.square().sum()
    return out if isinstance(X, torch.Tensor) else out.detach().numpy()


@renamed_kwargs(lam="ridge")
def kare(X, y, ridge: float, *, center: bool = True):
    """Kernel alignment risk estimator of linear kernel ridge regression; ``ridge`` is absolute (added to ``K/n``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The representation.
    y : array-like of shape (n_samples,)
        Integer class labels (at least 2 distinct), one-hot encoded as the target.
    ridge : float
        The ridge added to ``K/n`` (absolute, > 0).
    center : bool, default True
        Centre ``X`` and the target first.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.repeat([0, 1, 2], 10)
    >>> X = np.eye(3)[y] + 0.01 * np.random.default_rng(0).normal(size=(30, 3))
    >>> bool(kare(X, y, 1e-3) < kare(np.random.default_rng(1).normal(size=(30, 3)), y, 1e-3))
    True
    """
    ridge = check_positive(ridge, "ridge")
    n, U, s, T = _spectrum(X, y, center, scale_free=False)
    inv = 1.0 / (s * s / n + ridge)
    proj = U.T @ T
    residual = T.square().sum() - proj.square().sum()  # ||(I - U U^T) y||^2
    num = ((inv.unsqueeze(1) * proj).square().sum() + residual / ridge**2) / n
    den = ((inv.sum() + (n - U.shape[1]) / ridge) / n) ** 2
    return as_output(num / den, X)
