r"""Closed-form optima of linear SSL (Van Assel et al. 2025, Thm 3.1, Thm 3.2, Lemma B.1).

Data ``Xbar`` ``(n, d)`` holds the per-sample augmentation means ``x̄_i = E_τ τ(x_i)``;
``Sigma`` ``(d, d)`` is the average augmentation covariance
``Σ = (1/n) Σ_i (E_τ[τ(x_i)τ(x_i)ᵀ] − x̄_i x̄_iᵀ)``. With ``G = X̄ᵀX̄/n`` and
``S = G + Σ`` (the second moment of the augmented data), only ``(X̄, Σ)`` enter:

* supervised ridge (Lemma B.1): ``(1/n)Σ_i E_τ‖y_i − Vτ(x_i)‖² =
  (1/n)Σ_i‖y_i − V x̄_i‖² + Tr(VΣVᵀ)``, minimised by ``V* = (YᵀX̄/n) S⁻¹``;
* reconstruction (Thm 3.1): ``min_{E,D} (1/n)Σ_i E_τ‖x_i − DEτ(x_i)‖²``. With the
  SVD ``(XᵀX̄/n) S^{-1/2} = RΦPᵀ``: ``E* = P_kᵀ S^{-1/2}``, ``D* = R_k Φ_k``, optimum
  ``Tr(XᵀX)/n − Σ_{i≤k} φ_i²`` (target ``X`` defaults to ``X̄``);
* joint embedding (Thm 3.2): ``min_W (1/n)Σ_i E_{τ1,τ2}‖Wτ1(x_i) − Wτ2(x_i)‖²``
  subject to ``W S Wᵀ = I_k``. With ``S^{-1/2} G S^{-1/2} = QΩQᵀ`` (ω descending in
  [0, 1]): ``W* = Q_kᵀ S^{-1/2}``, invariance ``2 Tr(WΣWᵀ) = 2(k − Σ_{i≤k} ω_i)``.
  The whitening constraint is what prevents collapse: ``W = 0`` has zero invariance
  but violates ``W S Wᵀ = I``. The paper normalises by ``1/(2n)`` (value
  ``k − Σω``); this library uses ``1/n``.

Solutions are unique only up to an invertible ``T`` (``E → TE, D → DT⁻¹``) or an
orthogonal ``U`` (``W → UW``): compare row spaces (:func:`principal_angles`,
:func:`subspace_overlap`), never raw matrices. The library picks ``T = U = I`` and
flips each row so that its largest-magnitude entry is positive.

Inputs are numpy arrays or torch tensors (converted to float64 numpy); outputs are
numpy. The objective functions also accept torch tensors and then keep autograd.

The example is :func:`joint_embedding_closed_form`'s.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg
import torch

from .._validate import as_matrix, check_int

__all__ = [
    "RCSolution",
    "JESolution",
    "supervised_closed_form",
    "reconstruction_closed_form",
    "joint_embedding_closed_form",
    "supervised_objective",
    "reconstruction_objective",
    "joint_embedding_objective",
    "second_moment",
    "inv_sqrt_psd",
    "subspace_overlap",
    "principal_angles",
]

_PD_RTOL = 1e-12
_GAP_TOL = 1e-10
_SYM_RTOL = 1e-8


class RCSolution(NamedTuple):
    """The reconstruction optimum of :func:`reconstruction_closed_form`.

    Attributes
    ----------
    E : numpy.ndarray of shape (k, d)
        The encoder.
    D : numpy.ndarray of shape (d, k)
        The decoder.
    singular_values : numpy.ndarray of shape (d,)
        All singular values ``φ`` of ``(XᵀX̄/n) S^{-1/2}``, descending.
    objective : float
        The optimal value ``Tr(XᵀX)/n − Σ_{i≤k} φ_i²``.
    """

    E: np.ndarray
    D: np.ndarray
    singular_values: np.ndarray
    objective: float


class JESolution(NamedTuple):
    """The joint-embedding optimum of :func:`joint_embedding_closed_form`.

    Attributes
    ----------
    W : numpy.ndarray of shape (k, d)
        The embedding.
    eigenvalues : numpy.ndarray of shape (d,)
        All eigenvalues ``ω`` of ``S^{-1/2} G S^{-1/2}``, descending.
    objective : float
        The invariance ``2(k − Σ_{i≤k} ω_i)``.
    """

    W: np.ndarray
    eigenvalues: np.ndarray
    objective: float


# ------------------------------------------------------------------ input handling
def _matrix(x, name: str, **kw) -> np.ndarray:
    return as_matrix(x, name, **kw).detach().cpu().numpy()


def _covariance(Sigma, d: int, name: str = "Sigma") -> np.ndarray:
    """A symmetric ``(d, d)`` matrix (symmetrised); asymmetric input raises naming ``name``."""
    M = _matrix(Sigma, name)
    if M.shape != (d, d):
        raise ValueError(f"{name}: expected a ({d}, {d}) matrix matching the {d} features, got {M.shape}")
    scale = max(float(np.abs(M).max()), np.finfo(float).tiny)
    if float(np.abs(M - M.T).max()) > _SYM_RTOL * scale:
        raise ValueError(f"{name}: expected a symmetric matrix (max |M - Mᵀ| = {np.abs(M - M.T).max():.3g})")
    return (M + M.T) / 2


def _moments(Xbar, Sigma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X̄, Σ, S)`` validated, ``S = X̄ᵀX̄/n + Σ`` symmetrised."""
    Xb = _matrix(Xbar, "Xbar")
    Sig = _covariance(Sigma, Xb.shape[1])
    G = Xb.T @ Xb / Xb.shape[0]
    S = G + Sig
    return Xb, Sig, (S + S.T) / 2


def inv_sqrt_psd(S: np.ndarray, name: str = "Sigma", matrix: str = "S = X̄ᵀX̄/n + Σ") -> np.ndarray:
    """``S^{-1/2}`` of a symmetric positive-definite matrix via ``eigh``.

    Raises ``ValueError`` (message ``"{name}: {matrix} is not positive definite ..."``)
    when ``λ_min ≤ 1e-12 · λ_max``: add augmentation noise or drop constant features.
    """
    lam, U = np.linalg.eigh((S + S.T) / 2)
    top = float(lam[-1]) if lam.size else 0.0
    if top <= 0 or lam[0] <= _PD_RTOL * top:
        raise ValueError(
            f"{name}: {matrix} is not positive definite (smallest eigenvalue {lam[0]:.3g}, largest {top:.3g}); "
            "the augmentation covariance must cover the directions the data do not span"
        )
    return (U / np.sqrt(lam)) @ U.T


def _check_rank(k, d: int) -> int:
    return check_int(k, "k", minimum=1, maximum=d)


def _warn_gap(values: np.ndarray, k: int, what: str) -> None:
    if k < values.size and values[k - 1] - values[k] < _GAP_TOL * max(abs(values[0]), 1.0):
        warnings.warn(
            f"k: {what} {k} and {k + 1} are equal ({values[k - 1]:.6g}); the optimal subspace is not unique",
            RuntimeWarning,
            stacklevel=3,
        )


def _sign_rows(M: np.ndarray) -> np.ndarray:
    """``±1`` per row so that each row's largest-magnitude entry becomes positive."""
    pick = M[np.arange(M.shape[0]), np.abs(M).argmax(axis=1)]
    return np.where(pick < 0, -1.0, 1.0)


# ------------------------------------------------------------------ closed forms
def supervised_closed_form(Xbar, Y, Sigma) -> np.ndarray:
    """``V* = (YᵀX̄/n) S⁻¹`` ``(c, d)``: the ridge regression of targets on augmented inputs (Lemma B.1).

    Parameters
    ----------
    Xbar : array-like of shape (n, d)
        The augmented inputs (rows).
    Y : array-like of shape (n, c)
        The targets.
    Sigma : array-like of shape (d, d)
        The augmentation covariance ``Σ`` (``S = X̄ᵀX̄/n + Σ``).

    Returns
    -------
    numpy.ndarray of shape (c, d)
        ``V*``.

    Examples
    --------
    >>> supervised_closed_form(np.eye(2), np.eye(2), np.zeros((2, 2))).round(6).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    Xb, _, S = _moments(Xbar, Sigma)
    Yt = _matrix(Y, "Y")
    if Yt.shape[0] != Xb.shape[0]:
        raise ValueError(f"Y: expected {Xb.shape[0]} rows like Xbar, got {Yt.shape[0]}")
    inv_sqrt_psd(S)  # positive-definiteness check with the documented message
    return np.linalg.solve(S, Xb.T @ Yt / Xb.shape[0]).T


def reconstruction_closed_form(Xbar, Sigma, k: int, X=None) -> RCSolution:
    """Thm 3.1: the best rank-``k`` linear autoencoder trained on augmented inputs.

    ``E* = P_kᵀ S^{-1/2}``, ``D* = R_k Φ_k`` from the SVD ``(XᵀX̄/n) S^{-1/2} = RΦPᵀ``;
    ``objective = Tr(XᵀX)/n − Σ_{i≤k} φ_i²``. ``X`` is the reconstruction target
    (default ``X̄``). Warns when ``φ_k = φ_{k+1}`` (subspace not unique).

    Parameters
    ----------
    Xbar : array-like of shape (n, d)
        The augmented inputs (rows).
    Sigma : array-like of shape (d, d)
        The augmentation covariance ``Σ`` (``S = X̄ᵀX̄/n + Σ``).
    k : int
        The code size.
    X : array-like of shape (n, d), optional
        The reconstruction target (default ``Xbar``).

    Returns
    -------
    RCSolution
        ``E*`` ``(k, d)``, ``D*`` ``(d, k)``, the singular values and the optimal value.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.diag([3.0, 2.0, 1.0])
    >>> reconstruction_closed_form(X, np.zeros((3, 3)), k=2).singular_values.round(6).tolist()
    [1.732051, 1.154701, 0.57735]
    """
    Xb, _, S = _moments(Xbar, Sigma)
    k = _check_rank(k, Xb.shape[1])
    Xt = Xb if X is None else _matrix(X, "X")
    if Xt.shape != Xb.shape:
        raise ValueError(f"X: expected the shape of Xbar {Xb.shape}, got {Xt.shape}")
    n = Xb.shape[0]
    S_mh = inv_sqrt_psd(S)
    R, phi, Pt = np.linalg.svd(Xt.T @ Xb / n @ S_mh)
    _warn_gap(phi, k, "singular values")
    E = Pt[:k] @ S_mh
    D = R[:, :k] * phi[:k]
    signs = _sign_rows(E)
    objective = float(np.sum(Xt * Xt) / n - np.sum(phi[:k] ** 2))
    return RCSolution(E * signs[:, None], D * signs[None, :], phi, objective)


def joint_embedding_closed_form(Xbar, Sigma, k: int) -> JESolution:
    """Thm 3.2: the ``k``-dim linear joint embedding under the whitening constraint ``W S Wᵀ = I``.

    ``W* = Q_kᵀ S^{-1/2}`` from ``S^{-1/2} G S^{-1/2} = QΩQᵀ`` (``eigh``, descending);
    ``objective = 2(k − Σ_{i≤k} ω_i)`` (the ``1/n`` invariance, twice the paper's
    ``1/(2n)`` value). Warns when ``ω_k = ω_{k+1}``.

    Parameters
    ----------
    Xbar : array-like of shape (n, d)
        The augmented inputs (rows).
    Sigma : array-like of shape (d, d)
        The augmentation covariance ``Σ`` (``S = X̄ᵀX̄/n + Σ``).
    k : int
        The embedding size.

    Returns
    -------
    JESolution
        ``W*`` ``(k, d)``, the eigenvalues and the optimal invariance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 4)) * [3.0, 2.0, 1.0, 0.5]
    >>> sol = joint_embedding_closed_form(X, 0.1 * np.eye(4), k=2)
    >>> S = X.T @ X / 500 + 0.1 * np.eye(4)
    >>> bool(np.allclose(sol.W @ S @ sol.W.T, np.eye(2)))
    True
    >>> rc = reconstruction_closed_form(X, 0.1 * np.eye(4), k=2)
    >>> bool(np.isclose(rc.objective, reconstruction_objective(rc.E, rc.D, X, 0.1 * np.eye(4))))
    True
    """
    Xb, _, S = _moments(Xbar, Sigma)
    k = _check_rank(k, Xb.shape[1])
    S_mh = inv_sqrt_psd(S)
    G = Xb.T @ Xb / Xb.shape[0]
    B = S_mh @ G @ S_mh
    omega, Q = np.linalg.eigh((B + B.T) / 2)
    omega, Q = omega[::-1], Q[:, ::-1]
    _warn_gap(omega, k, "eigenvalues")
    W = Q[:, :k].T @ S_mh
    W *= _sign_rows(W)[:, None]
    return JESolution(W, omega, float(2 * (k - np.sum(omega[:k]))))


# ------------------------------------------------------------------ analytic objectives
def _as_torch(x, name: str) -> torch.Tensor:
    return as_matrix(x, name, dtype=torch.float64)


def _output(value: torch.Tensor, *inputs):
    return value if any(isinstance(t, torch.Tensor) for t in inputs) else float(value)


def supervised_objective(V, Xbar, Y, Sigma):
    """Lemma B.1: ``(1/n)Σ_i‖y_i − V x̄_i‖² + Tr(VΣVᵀ)`` (= ``(1/n)Σ_i E_τ‖y_i − Vτ(x_i)‖²``).

    numpy in: a float; any torch input: a 0-d float64 tensor with autograd.
    """
    Vt, Xb, Yt = _as_torch(V, "V"), _as_torch(Xbar, "Xbar"), _as_torch(Y, "Y")
    Sig = torch.as_tensor(_covariance(Sigma, Xb.shape[1]))
    resid = Yt - Xb @ Vt.T
    value = (resid * resid).sum() / Xb.shape[0] + torch.trace(Vt @ Sig @ Vt.T)
    return _output(value, V, Xbar, Y, Sigma)


def reconstruction_objective(E, D, Xbar, Sigma, X=None):
    """``(1/n)Σ_i E_τ‖x_i − DEτ(x_i)‖² = (1/n)Σ_i‖x_i − DE x̄_i‖² + Tr(DEΣEᵀDᵀ)``.

    ``X`` (default ``X̄``) is the target. numpy in: a float; torch in: a 0-d tensor with autograd.
    """
    Et, Dt = _as_torch(E, "E"), _as_torch(D, "D")
    if Dt.shape[1] != Et.shape[0]:
        raise ValueError(f"D: expected {Et.shape[0]} columns (the rows of E), got {Dt.shape[1]}")
    value = supervised_objective(Dt @ Et, Xbar, Xbar if X is None else X, Sigma)
    return _output(value, E, D, Xbar, Sigma, X)


def joint_embedding_objective(W, Sigma):
    """``(1/n)Σ_i E_{τ1,τ2}‖Wτ1(x_i) − Wτ2(x_i)‖² = 2 Tr(WΣWᵀ)`` (independent views)."""
    Wt = _as_torch(W, "W")
    Sig = torch.as_tensor(_covariance(Sigma, Wt.shape[1]))
    value = 2 * torch.trace(Wt @ Sig @ Wt.T)
    return _output(value, W, Sigma)


def second_moment(Xbar, Sigma) -> np.ndarray:
    """``S = X̄ᵀX̄/n + Σ``, the second moment of the augmented data (symmetrised)."""
    return _moments(Xbar, Sigma)[2]


# ------------------------------------------------------------------ subspaces
def _orth_rows(M, name: str) -> np.ndarray:
    """Orthonormal basis ``(d, r)`` of the row space of ``M``."""
    A = _matrix(M, name)
    basis = scipy.linalg.orth(A.T)
    if basis.shape[1] == 0:
        raise ValueError(f"{name}: the matrix is zero; it has no row space")
    return basis


def subspace_overlap(M, basis) -> float:
    """``‖orth(Mᵀ)ᵀ B‖²_F / k`` ∈ [0, 1]: how much of the row space of ``M`` ``(k, d)`` lies
    in the span of the columns of ``basis`` ``(d, m)`` (orthonormalised first); ``k`` = rows of ``M``.

    >>> round(subspace_overlap(np.array([[1.0, 0, 0], [0, 1.0, 1.0]]), np.eye(3)[:, :2]), 12)
    0.75
    """
    Mo = _orth_rows(M, "M")
    B = scipy.linalg.orth(_matrix(basis, "basis"))
    if B.shape[0] != Mo.shape[0]:
        raise ValueError(f"basis: expected {Mo.shape[0]} rows (the columns of M), got {B.shape[0]}")
    k = _matrix(M, "M").shape[0]
    return float(np.sum((Mo.T @ B) ** 2) / k)


def principal_angles(M1, M2) -> np.ndarray:
    """Principal angles (radians, ascending) between the row spaces of ``M1`` and ``M2``
    (both ``(·, d)``), via ``scipy.linalg.subspace_angles``.
    """
    A, B = _matrix(M1, "M1"), _matrix(M2, "M2")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"M2: expected {A.shape[1]} columns like M1, got {B.shape[1]}")
    return np.sort(scipy.linalg.subspace_angles(A.T, B.T))
