r"""The KSM objective in its three forms (``docs/ksm.md#ksm-objective``), per sample.

Rows are samples: inputs ``X`` (N x n), latents ``Z`` (N x m), ``K_Z = k(Z, Z)``
with ``k`` Gaussian ``exp(-||z - z'||^2 / (2 sigma^2))`` or linear ``z . z'``.
The ridge is per sample, ``gamma_N = ridge * N``, and ``M = K_Z + gamma_N I``.

* explicit dictionary: ``L(D) = 1/2 ||X - Phi D||^2 + gamma_N/2 ||D||^2``
  (:func:`dictionary_objective`), minimised by ``D* = Phi^T M^{-1} X``
  (:func:`optimal_dictionary`);
* kernel form (``D`` eliminated): ``F(Z) = gamma_N/2 Tr(X^T M^{-1} X)``
  (:func:`ksm_objective` returns ``f = F / N``);
* min-max form: ``F = gamma_N max_A [<A, X> - 1/2 Tr(A^T K_Z A) - gamma_N/2 ||A||^2]``,
  maximised at ``A* = M^{-1} X`` (:func:`prediction_error`, :func:`minmax_value`).

Gradient of the total ``F``: with ``G = -(gamma_N/2) A* A*^T`` and
``P = 2 G o K_Z``, Gaussian ``grad = -(diag(P 1) Z - P Z) / sigma^2``; linear
(feature path, no N x N matrix) ``D* = (Z^T Z + gamma_N I)^{-1} Z^T X``,
``R = X - Z D*``, ``grad = -R D*^T``. :func:`ksm_gradient` returns ``grad / N``.
A learned Gaussian bandwidth follows ``dF/d log sigma = sum_ij P_ij ||z_i - z_j||^2 / (2 sigma^2)``
(:func:`ksm_sigma_gradient` returns it ``/ N``).

No input normalisation happens here (the estimator does it). numpy in gives
numpy / float out; torch in gives torch out (0-d float64 tensor for scalars).

Examples
--------
>>> import numpy as np
>>> X, Z = np.eye(2), np.array([[1.0], [0.0]])
>>> ksm_objective(X, Z, ridge=0.5, kernel="linear")   # gamma_N = 1: F = 0.75
0.375
>>> optimal_dictionary(X, Z, ridge=0.5).round(12).tolist()
[[0.5, 0.0]]
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._deprecate import renamed_value
from .._validate import check_choice, check_paired, check_positive
from ..kernels import squared_distances
from ._arrays import as_float64, restore, scalar

KERNELS = ("rbf", "linear")
OLD_KERNELS = {"gaussian": "rbf"}  # deprecated words, removed in 0.3
PATHS = ("auto", "gram", "feature")
JITTER_START, JITTER_TRIES = 1e-10, 5


# --------------------------------------------------------------------------- tensor core (no checks)
def kernel_matrix(A: torch.Tensor, B: torch.Tensor, kernel, sigma: float) -> torch.Tensor:
    """``k(A, B)`` for a kernel name or a callable ``k(A, B) -> (len A, len B)``."""
    if callable(kernel):
        return kernel(A, B)
    if kernel == "linear":
        return A @ B.T
    return torch.exp(-squared_distances(A, B) / (2.0 * sigma * sigma))


def gram_matrix(Z: torch.Tensor, kernel, sigma: float) -> torch.Tensor:
    """Symmetrised ``K_Z = k(Z, Z)``."""
    K = kernel_matrix(Z, Z, kernel, sigma)
    return 0.5 * (K + K.T)


def cholesky(M: torch.Tensor) -> torch.Tensor:
    """Cholesky factor of ``M``; on failure add ``1e-10 tr(M)/N I`` (x10, up to 5 times), then raise."""
    L, info = torch.linalg.cholesky_ex(M)
    jitter = JITTER_START * float(torch.diagonal(M).mean())
    for _ in range(JITTER_TRIES):
        if int(info) == 0:
            return L
        L, info = torch.linalg.cholesky_ex(M + jitter * torch.eye(M.shape[0], dtype=M.dtype, device=M.device))
        jitter *= 10.0
    if int(info) == 0:
        return L
    raise ValueError(
        "ridge: K_Z + ridge*N*I is not numerically positive definite even with jitter; increase ridge"
    )


def kernel_form(X: torch.Tensor, K: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(F, A*)``: total ``F = gamma/2 Tr(X^T M^{-1} X)`` and ``A* = M^{-1} X`` for ``M = K + gamma I``."""
    M = K + gamma * torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
    A = torch.cholesky_solve(X, cholesky(M))
    return 0.5 * gamma * (X * A).sum(), A


def gaussian_grad(Z: torch.Tensor, K: torch.Tensor, A: torch.Tensor, gamma: float, sigma: float,
                  with_sigma: bool = False):
    """Total gradient ``-(diag(P 1) Z - P Z) / sigma^2`` with ``P = -gamma (A A^T) o K``; with
    ``with_sigma`` also ``dF/d log sigma = -<Z, dF/dZ>`` (``F`` depends on ``Z / sigma`` only, so
    scaling ``sigma`` by ``e^t`` is scaling ``Z`` by ``e^-t``; equal to ``sum P o D^2 / (2 sigma^2)``).
    """
    P = -gamma * (A @ A.T) * K
    grad = -(P.sum(1, keepdim=True) * Z - P @ Z) / (sigma * sigma)
    if not with_sigma:
        return grad
    return grad, -(Z * grad).sum()


def linear_feature_form(X: torch.Tensor, Z: torch.Tensor, gamma: float):
    """Linear kernel in feature space: ``(F, grad, D*, R)`` in ``O(N m n + m^3)``."""
    m = Z.shape[1]
    C = Z.T @ Z + gamma * torch.eye(m, dtype=Z.dtype, device=Z.device)
    D = torch.cholesky_solve(Z.T @ X, cholesky(C))
    R = X - Z @ D
    F = 0.5 * (R * R).sum() + 0.5 * gamma * (D * D).sum()
    return F, -R @ D.T, D, R


def value_and_grad(X: torch.Tensor, Z: torch.Tensor, gamma: float, kernel: str, sigma: float, path: str = "auto",
                   with_sigma: bool = False):
    """Total ``F`` and ``dF/dZ`` (the solver's smooth part); the linear kernel takes the feature path.
    ``with_sigma`` (Gaussian): ``(F, dF/dZ, dF/d log sigma)``.
    """
    if kernel == "linear" and path != "gram":
        F, grad, _, _ = linear_feature_form(X, Z, gamma)
        return F, grad
    K = gram_matrix(Z, kernel, sigma)
    F, A = kernel_form(X, K, gamma)
    if kernel == "linear":
        return F, -gamma * A @ (A.T @ Z)
    if with_sigma:
        return (F, *gaussian_grad(Z, K, A, gamma, sigma, with_sigma=True))
    return F, gaussian_grad(Z, K, A, gamma, sigma)


def fitted_objective(X: torch.Tensor, Z: torch.Tensor, *, ridge: float, kernel: str, sigma: float, prior,
                     coef: torch.Tensor | None = None) -> float:
    """A fit's ``objective_``: ``f + mean_i r(z_i)`` with ``f = F / N`` (``docs/ksm.md#ksm-objective``).

    The linear kernel takes the feature path; the Gaussian kernel reuses ``coef = A* = M^{-1} X``
    when the exact decoder already solved it (``f = ridge/2 <X, A*>``), else forms ``M``.

    Parameters
    ----------
    X : torch.Tensor, shape (N, n)
        Normalised inputs.
    Z : torch.Tensor, shape (N, m)
        Latents.
    ridge, kernel, sigma
        Per-sample ridge, kernel name, Gaussian bandwidth.
    prior : latentalign.ksm.prox.Prior
        The prior whose mean penalty is added.
    coef : torch.Tensor of shape (N, n), or None
        ``M^{-1} X`` if known.

    Returns
    -------
    float

    Examples
    --------
    >>> from latentalign.ksm.prox import Prior
    >>> X, Z = torch.eye(2, dtype=torch.float64), torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    >>> fitted_objective(X, Z, ridge=0.5, kernel="linear", sigma=1.0, prior=Prior(alpha=0.1))  # 0.375 + 0.05
    0.425
    """
    gamma = ridge * X.shape[0]
    if kernel == "linear":
        F = linear_feature_form(X, Z, gamma)[0]
    else:
        A = kernel_form(X, gram_matrix(Z, kernel, sigma), gamma)[1] if coef is None else coef
        F = 0.5 * gamma * (X * A).sum()
    return float(F) / X.shape[0] + float(prior.penalty(Z).mean())


# --------------------------------------------------------------------------- public, validated
def latent_kernel(Z, Z2=None, *, kernel="rbf", sigma: float = 1.0):
    """The latent kernel ``k(Z, Z2)`` (``Z2 = Z`` by default: symmetrised ``K_Z``).

    Parameters
    ----------
    Z : array-like of shape (N, m)
        Latents.
    Z2 : array-like of shape (M, m), optional
        Other latents (default ``Z``, and the result is symmetrised).
    kernel : {"rbf", "linear"}, default "rbf"
        The latent kernel.
    sigma : float, default 1.0
        The Gaussian bandwidth.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (N, M)
        The kernel matrix, like the input.

    Examples
    --------
    >>> latent_kernel([[0.0], [1.0]], kernel="linear").tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    kernel, sigma = _check_kernel(kernel, sigma)
    Zt, like = as_float64(Z, "Z")
    if Z2 is None:
        return restore(gram_matrix(Zt, kernel, sigma), like)
    Z2t = _same_width(Z2, "Z2", Zt, "Z")
    return restore(kernel_matrix(Zt, Z2t, kernel, sigma), like)


def ksm_objective(X, Z, *, ridge: float = 1e-3, kernel="rbf", sigma: float = 1.0, path: str = "auto"):
    """Per-sample kernel-form objective ``f = (ridge/2) Tr(X^T M^{-1} X)``, ``0 <= f <= Tr(X X^T)/(2N)``.

    ``path``: ``"gram"`` forms ``M`` (any kernel), ``"feature"`` is the linear
    kernel's ``O(N m n)`` form, ``"auto"`` picks the feature path for the linear kernel.

    Parameters
    ----------
    X : array-like of shape (N, n)
        The inputs.
    Z : array-like of shape (N, m)
        Their latents.
    ridge : float, default 1e-3
        The kernel ridge per sample (``gamma_N = ridge N``).
    kernel : {"rbf", "linear"}, default "rbf"
        The latent kernel.
    sigma : float, default 1.0
        The Gaussian bandwidth.
    path : {"auto", "gram", "feature"}, default "auto"
        Form ``M`` (any kernel), or the linear kernel's ``O(N m n)`` feature form.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy inputs, a 0-d float64 tensor for torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> f = ksm_objective(X, X[:, :2], kernel="linear")
    >>> bool(0 <= f <= (X ** 2).sum() / (2 * 20))
    True
    """
    Xt, Zt, like, gamma, kernel, sigma, path = _inputs(X, Z, ridge, kernel, sigma, path)
    if path == "feature":
        F = linear_feature_form(Xt, Zt, gamma)[0]
    else:
        F = kernel_form(Xt, gram_matrix(Zt, kernel, sigma), gamma)[0]
    return scalar(F / Xt.shape[0], like)


def ksm_gradient(X, Z, *, ridge: float = 1e-3, kernel="rbf", sigma: float = 1.0, path: str = "auto"):
    """Per-sample gradient ``(dF/dZ) / N`` of :func:`ksm_objective` (named kernels only)."""
    Xt, Zt, like, gamma, kernel, sigma, path = _inputs(X, Z, ridge, kernel, sigma, path)
    if callable(kernel):
        raise ValueError("kernel: ksm_gradient needs 'rbf' or 'linear', got a callable")
    grad = value_and_grad(Xt, Zt, gamma, kernel, sigma, path)[1]
    return restore(grad / Xt.shape[0], like)


def ksm_sigma_gradient(X, Z, *, ridge: float = 1e-3, sigma: float = 1.0):
    """``d f / d log sigma`` for the Gaussian kernel (``f = F / N``): how the per-sample objective
    moves with the bandwidth (a learned ``sigma`` descends it).
    """
    Xt, Zt, like, gamma, _, sigma, _ = _inputs(X, Z, ridge, "rbf", sigma, "gram")
    value = value_and_grad(Xt, Zt, gamma, "rbf", sigma, with_sigma=True)[2] / Xt.shape[0]
    return scalar(value, like)


def prediction_error(X, Z, *, ridge: float = 1e-3, kernel="rbf", sigma: float = 1.0):
    """``A* = M^{-1} X``: the maximiser of the min-max form; ``gamma_N A*`` are the error units."""
    Xt, Zt, like, gamma, kernel, sigma, _ = _inputs(X, Z, ridge, kernel, sigma, "gram")
    return restore(kernel_form(Xt, gram_matrix(Zt, kernel, sigma), gamma)[1], like)


def minmax_value(X, Z, A, *, ridge: float = 1e-3, kernel="rbf", sigma: float = 1.0):
    """``gamma_N [<A, X> - 1/2 Tr(A^T K_Z A) - gamma_N/2 ||A||^2] / N``; equals ``f`` at ``A = A*``."""
    Xt, Zt, like, gamma, kernel, sigma, _ = _inputs(X, Z, ridge, kernel, sigma, "gram")
    At = _same_shape(A, "A", Xt)
    K = gram_matrix(Zt, kernel, sigma)
    value = (At * Xt).sum() - 0.5 * (At * (K @ At)).sum() - 0.5 * gamma * (At * At).sum()
    return scalar(gamma * value / Xt.shape[0], like)


def optimal_dictionary(X, Phi, *, ridge: float = 1e-3):
    """``D* = argmin_D L(D) = (Phi^T Phi + gamma_N I)^{-1} Phi^T X`` (p x n), ``gamma_N = ridge N``.

    Solved in whichever of the ``p x p`` or ``N x N`` systems is smaller
    (``D* = Phi^T (Phi Phi^T + gamma_N I)^{-1} X``).
    """
    Xt, Pt, like, gamma = _dictionary_inputs(X, Phi, ridge)
    N, p = Pt.shape
    if p <= N:
        D = linear_feature_form(Xt, Pt, gamma)[2]
    else:
        D = Pt.T @ kernel_form(Xt, Pt @ Pt.T, gamma)[1]
    return restore(D, like)


def dictionary_objective(X, Phi, D, *, ridge: float = 1e-3):
    """Per-sample explicit-dictionary objective ``[1/2 ||X - Phi D||^2 + gamma_N/2 ||D||^2] / N``."""
    Xt, Pt, like, gamma = _dictionary_inputs(X, Phi, ridge)
    Dt, _ = as_float64(D, "D")
    if Dt.shape != (Pt.shape[1], Xt.shape[1]):
        raise ValueError(f"D: expected shape {(Pt.shape[1], Xt.shape[1])} (features x inputs), got {tuple(Dt.shape)}")
    R = Xt - Pt @ Dt.to(Xt.device)
    return scalar((0.5 * (R * R).sum() + 0.5 * gamma * (Dt * Dt).sum()) / Xt.shape[0], like)


def decode(Z_query, Z, coef, *, kernel="rbf", sigma: float = 1.0):
    """The generative map without normalisation: ``x(z) = k(z, Z) coef`` (``coef = A*`` or ``dual_coef_``).

    Parameters
    ----------
    Z_query : array-like of shape (q, m)
        The latents to decode.
    Z : array-like of shape (N, m)
        The decoder's latents.
    coef : array-like of shape (N, n)
        The coefficients (``A*`` or ``dual_coef_``).
    kernel : {"rbf", "linear"}, default "rbf"
        The latent kernel.
    sigma : float, default 1.0
        The Gaussian bandwidth.

    Returns
    -------
    numpy.ndarray or torch.Tensor of shape (q, n)
        The decoded inputs (before un-normalisation), like the input.

    Examples
    --------
    >>> decode([[2.0]], [[1.0]], [[3.0, 0.0]], kernel="linear").tolist()
    [[6.0, 0.0]]
    """
    kernel, sigma = _check_kernel(kernel, sigma)
    Zq, like = as_float64(Z_query, "Z_query")
    Zt = _same_width(Z, "Z", Zq, "Z_query")
    Ct, _ = as_float64(coef, "coef")
    check_paired(Zt, Ct, ("Z", "coef"))
    return restore(kernel_matrix(Zq, Zt, kernel, sigma) @ Ct.to(Zq.device), like)


# --------------------------------------------------------------------------- checks
def _check_kernel(kernel, sigma) -> tuple[str | Callable, float]:
    if not callable(kernel):
        kernel = check_choice(renamed_value(kernel, "kernel", OLD_KERNELS), "kernel", KERNELS)
    return kernel, check_positive(sigma, "sigma")


def _inputs(X, Z, ridge, kernel, sigma, path):
    kernel, sigma = _check_kernel(kernel, sigma)
    check_choice(path, "path", PATHS)
    if path == "feature" and kernel != "linear":
        raise ValueError(f"path: 'feature' needs kernel='linear', got kernel={kernel!r}")
    Xt, like = as_float64(X, "X")
    Zt, _ = as_float64(Z, "Z")
    check_paired(Xt, Zt, ("X", "Z"))
    if path == "auto":
        path = "feature" if kernel == "linear" else "gram"
    return Xt, Zt.to(Xt.device), like, check_positive(ridge, "ridge") * Xt.shape[0], kernel, sigma, path


def _dictionary_inputs(X, Phi, ridge):
    Xt, like = as_float64(X, "X")
    Pt, _ = as_float64(Phi, "Phi")
    check_paired(Xt, Pt, ("X", "Phi"))
    return Xt, Pt.to(Xt.device), like, check_positive(ridge, "ridge") * Xt.shape[0]


def _same_width(B, name: str, A: torch.Tensor, ref: str) -> torch.Tensor:
    Bt, _ = as_float64(B, name)
    if Bt.shape[1] != A.shape[1]:
        raise ValueError(f"{name}: expected {A.shape[1]} columns like {ref}, got {Bt.shape[1]}")
    return Bt.to(A.device)


def _same_shape(B, name: str, A: torch.Tensor) -> torch.Tensor:
    Bt, _ = as_float64(B, name)
    if Bt.shape != A.shape:
        raise ValueError(f"{name}: expected shape {tuple(A.shape)} like X, got {tuple(Bt.shape)}")
    return Bt.to(A.device)
