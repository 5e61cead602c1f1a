r"""Closed forms for Gaussian pairs and linear encoders (``docs/contrastive.md#eq-gaussian-optima``).

``(u, v) ~ N(0, [[C_uu, C_uv], [C_vu, C_vv]])``, encoders ``g_u = G u``, ``g_v = H v``,
``tau = 1``, unnormalised tilts. Everything is numpy float64; a covariance
``cov`` is the triple ``(C_uu, C_uv, C_vv)`` (as returned by
``latentalign.data.gaussian_pairs(..., return_cov=True)`` or :func:`make_example`).

With ``K = C_uu^{-1/2} C_uv C_vv^{-1/2} = U Sigma V^T`` (symmetric roots) the
canonical correlations are ``sigma_i in [0, 1)`` and the canonical directions
``W_u = C_uu^{-1/2} U``, ``W_v = C_vv^{-1/2} V``. The inner tilt identifies
``A = G^T H``:

* conditional (CLIP and every ``(lambda_u, lambda_v)`` summing to 2):
  ``L(A) = -tr(A^T C_uv) + 1/2 tr(A C_vv A^T C_uu)``, optimum
  ``A* = C_uu^{-1} C_uv C_vv^{-1}`` (Thm 5.1), rank ``r``: the truncated SVD of ``K``;
* joint: ``L(A) = -tr(A^T C_uv) - 1/2 log det(I - M^T M)``, ``M = C_uu^{1/2} A C_vv^{1/2}``,
  optimum ``C_uu^{-1/2} U h(Sigma) V^T C_vv^{-1/2}`` with ``h(s) = 2 s / (1 + sqrt(1 + 4 s^2))`` (Thm 5.6);
* L2 tilt, one-sided ``(2, 0)``: :func:`optimal_l2_one_sided` (Cor. 5.4).

Examples
--------
>>> cov = make_example("g43")
>>> sigma, W_u, W_v = canonical_correlations(*cov)
>>> sigma.round(6).tolist()
[0.9, 0.6, 0.3]
>>> round(conditional_loss(optimal_A(cov), cov), 6), round(joint_loss(optimal_A(cov, "joint"), cov), 6)
(-0.63, -0.51745)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg

from .._validate import check_choice, check_int, check_seed

__all__ = [
    "canonical_correlations",
    "h",
    "conditional_loss",
    "joint_loss",
    "optimal_A",
    "optimal_value",
    "optimal_l2_one_sided",
    "canonical_gains",
    "from_gains",
    "l2_one_sided_loss",
    "model_conditionals",
    "model_marginal_u",
    "whitened_error",
    "conditional_mean_error",
    "principal_angles",
    "sample",
    "make_example",
    "EXAMPLES",
    "GaussianConditional",
]

LOSSES = ("conditional", "joint")
DIRECTIONS = ("u|v", "v|u")
EXAMPLES = ("g43",)


class _Cov(NamedTuple):
    """A validated covariance with its symmetric roots and CCA."""

    uu: np.ndarray
    uv: np.ndarray
    vv: np.ndarray
    uu_half: np.ndarray
    uu_ihalf: np.ndarray
    vv_half: np.ndarray
    vv_ihalf: np.ndarray
    sigma: np.ndarray
    U: np.ndarray
    V: np.ndarray


def _roots(C: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    w, Q = np.linalg.eigh(C)
    if w.min() <= 1e-12 * max(w.max(), 0.0) or w.max() <= 0:
        raise ValueError(f"cov: {what} is not positive definite (smallest eigenvalue {w.min():.3g})")
    return (Q * np.sqrt(w)) @ Q.T, (Q / np.sqrt(w)) @ Q.T


def _check_cov(cov) -> _Cov:
    if isinstance(cov, _Cov):
        return cov
    if not isinstance(cov, (tuple, list)) or len(cov) != 3:
        raise TypeError("cov: expected the triple (C_uu, C_uv, C_vv) of float arrays")
    try:
        uu, uv, vv = (np.array(c, dtype=np.float64) for c in cov)
    except (TypeError, ValueError):
        raise TypeError("cov: expected the triple (C_uu, C_uv, C_vv) of float arrays") from None
    if uu.ndim != 2 or uu.shape[0] != uu.shape[1] or vv.ndim != 2 or vv.shape[0] != vv.shape[1]:
        raise ValueError(f"cov: C_uu and C_vv must be square, got shapes {uu.shape} and {vv.shape}")
    if uv.shape != (uu.shape[0], vv.shape[0]):
        raise ValueError(f"cov: C_uv must have shape {(uu.shape[0], vv.shape[0])}, got {uv.shape}")
    for C, what in ((uu, "C_uu"), (uv, "C_uv"), (vv, "C_vv")):
        if not np.all(np.isfinite(C)):
            raise ValueError(f"cov: {what} contains non-finite values")
    for C, what in ((uu, "C_uu"), (vv, "C_vv")):
        if np.abs(C - C.T).max() > 1e-10 * np.abs(C).max():
            raise ValueError(f"cov: {what} is not symmetric (max |C - C^T| = {np.abs(C - C.T).max():.3g})")
    uu, vv = (uu + uu.T) / 2, (vv + vv.T) / 2
    uu_half, uu_ihalf = _roots(uu, "C_uu")
    vv_half, vv_ihalf = _roots(vv, "C_vv")
    U, sigma, Vt = np.linalg.svd(uu_ihalf @ uv @ vv_ihalf, full_matrices=False)
    if sigma.size and sigma[0] >= 1 - 1e-12:
        raise ValueError(
            f"cov: the top canonical correlation is {sigma[0]:.12g} >= 1 - 1e-12; the joint covariance is "
            "singular (C_u|v is not invertible)"
        )
    return _Cov(uu, uv, vv, uu_half, uu_ihalf, vv_half, vv_ihalf, sigma, U, Vt.T)


def _check_A(A, c: _Cov, name: str = "A") -> np.ndarray:
    try:
        A = np.array(A, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a float array") from None
    want = (c.uu.shape[0], c.vv.shape[0])
    if A.shape != want:
        raise ValueError(f"{name}: expected shape {want} (n_u, n_v), got {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name}: contains non-finite values")
    return A


def _check_rank(rank, c: _Cov) -> int:
    k = c.sigma.size
    return k if rank is None else check_int(rank, "rank", minimum=1, maximum=k)


# --------------------------------------------------------------------------- CCA and h
def canonical_correlations(C_uu, C_uv, C_vv) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sigma, W_u, W_v)``: canonical correlations (descending, ``min(n_u, n_v)`` of them) and
    canonical directions ``W_u = C_uu^{-1/2} U`` ``(n_u, k)``, ``W_v = C_vv^{-1/2} V`` ``(n_v, k)``.
    """
    c = _check_cov((C_uu, C_uv, C_vv))
    return c.sigma.copy(), c.uu_ihalf @ c.U, c.vv_ihalf @ c.V


def h(sigma):
    """``h(s) = 2 s / (1 + sqrt(1 + 4 s^2))``, the root in ``[0, s)`` of ``s (1 - m^2) = m``.

    (Equal to ``(sqrt(1 + 4 s^2) - 1) / (2 s)``, written without cancellation; ``h(0) = 0``.)

    >>> round(h(2 / 3), 12), round(h(1.0), 10)
    (0.5, 0.6180339887)
    """
    s = np.asarray(sigma, dtype=np.float64)
    out = 2.0 * s / (1.0 + np.sqrt(1.0 + 4.0 * s * s))
    return out if out.ndim else float(out)


# --------------------------------------------------------------------------- population losses
def conditional_loss(A, cov) -> float:
    """Population conditional loss of ``A = G^T H`` (inner tilt): ``-tr(A^T C_uv) + 1/2 tr(A C_vv A^T C_uu)``."""
    c = _check_cov(cov)
    A = _check_A(A, c)
    return float(-np.sum(A * c.uv) + 0.5 * np.trace(A @ c.vv @ A.T @ c.uu))


def joint_loss(A, cov) -> float:
    """Population joint loss: ``-tr(A^T C_uv) - 1/2 log det(I - M^T M)``, ``+inf`` if ``||M||_2 >= 1``."""
    c = _check_cov(cov)
    A = _check_A(A, c)
    M = c.uu_half @ A @ c.vv_half
    s = np.linalg.svd(M, compute_uv=False)
    if s.size and s[0] >= 1:
        return float("inf")
    return float(-np.sum(A * c.uv) - 0.5 * np.sum(np.log1p(-s * s)))


def l2_one_sided_loss(G, H, cov) -> float:
    """Exact ``-E log rho(u | v)`` of the L2 tilt ``s = -|G u - H v|^2 / 2`` (the ``(2, 0)`` loss).

    It is ``1/2 tr(B C_uu) - tr(A C_vu) + 1/2 tr(C C_vv) - 1/2 log det(I + C_uu B)
    - 1/2 tr(H^T (I + G C_uu G^T)^{-1} H C_vv)``, ``A = G^T H``, ``B = G^T G``, ``C = H^T H``.
    """
    c = _check_cov(cov)
    G, H = np.array(G, dtype=np.float64), np.array(H, dtype=np.float64)
    if G.ndim != 2 or G.shape[1] != c.uu.shape[0] or not np.all(np.isfinite(G)):
        raise ValueError(f"G: expected a finite (e, {c.uu.shape[0]}) array, got shape {G.shape}")
    if H.shape != (G.shape[0], c.vv.shape[0]) or not np.all(np.isfinite(H)):
        raise ValueError(f"H: expected a finite {(G.shape[0], c.vv.shape[0])} array, got shape {H.shape}")
    A, B, C = G.T @ H, G.T @ G, H.T @ H
    _, logdet = np.linalg.slogdet(np.eye(B.shape[0]) + c.uu @ B)
    inner = np.linalg.solve(np.eye(G.shape[0]) + G @ c.uu @ G.T, H)
    return float(0.5 * np.trace(B @ c.uu) - np.sum(A * c.uv) + 0.5 * np.trace(C @ c.vv)
                 - 0.5 * logdet - 0.5 * np.trace(H.T @ inner @ c.vv))


# --------------------------------------------------------------------------- optima
def optimal_A(cov, loss: str = "conditional", rank: int | None = None) -> np.ndarray:
    """Minimiser ``A*`` of the conditional (Thm 5.1) or joint (Thm 5.6) loss over rank ``<= rank``.

    ``C_uu^{-1/2} U f(Sigma)_r V^T C_vv^{-1/2}`` with ``f(s) = s`` (conditional) or ``h(s)``
    (joint), top ``rank`` values kept (default all). The row space of the optimal
    ``G`` is ``span W_u[:, :rank]``.
    """
    check_choice(loss, "loss", LOSSES)
    c = _check_cov(cov)
    r = _check_rank(rank, c)
    return from_gains(c.sigma[:r] if loss == "conditional" else h(c.sigma[:r]), c)


def optimal_value(cov, loss: str = "conditional", rank: int | None = None) -> float:
    """The minimum: ``-1/2 sum_{i<=r} sigma_i^2`` (conditional) or
    ``sum_{i<=r} [-sigma_i h_i - 1/2 log(1 - h_i^2)]`` (joint).
    """
    check_choice(loss, "loss", LOSSES)
    c = _check_cov(cov)
    s = c.sigma[: _check_rank(rank, c)]
    if loss == "conditional":
        return float(-0.5 * np.sum(s * s))
    m = h(s)
    return float(np.sum(-s * m - 0.5 * np.log1p(-m * m)))


def canonical_gains(A, cov) -> np.ndarray:
    """Singular values of the whitened ``M = C_uu^{1/2} A C_vv^{1/2}``, descending.

    The conditional optimum has gains ``sigma`` (the canonical correlations), the joint
    one ``h(sigma)``; every model quantity that depends only on them (the marginals,
    the losses) can be recomputed on the exact canonical directions with :func:`from_gains`.

    Parameters
    ----------
    A : array of shape (n_u, n_v)
        ``G^T H`` of linear encoders.
    cov : tuple of arrays
        ``(C_uu, C_uv, C_vv)``.

    Returns
    -------
    ndarray of shape (min(n_u, n_v),)

    Examples
    --------
    >>> cov = make_example("g43")
    >>> canonical_gains(optimal_A(cov), cov).round(6).tolist()
    [0.9, 0.6, 0.3]
    """
    c = _check_cov(cov)
    return np.linalg.svd(c.uu_half @ _check_A(A, c) @ c.vv_half, compute_uv=False)


def from_gains(gains, cov) -> np.ndarray:
    """``A = C_uu^{-1/2} U diag(gains) V^T C_vv^{-1/2}``: gains on the exact canonical directions.

    Parameters
    ----------
    gains : array of shape (k,)
        One gain per canonical pair, ``k <= min(n_u, n_v)`` (the rest are 0).
    cov : tuple of arrays
        ``(C_uu, C_uv, C_vv)``.

    Returns
    -------
    ndarray of shape (n_u, n_v)

    Examples
    --------
    >>> cov = make_example("g43")
    >>> bool(np.allclose(from_gains(h(np.array([0.9, 0.6, 0.3])), cov), optimal_A(cov, "joint")))
    True
    """
    c = _check_cov(cov)
    g = np.array(gains, dtype=np.float64).ravel()
    if g.size > c.sigma.size or not np.all(np.isfinite(g)):
        raise ValueError(f"gains: expected at most {c.sigma.size} finite values, got {g.size}")
    return c.uu_ihalf @ (c.U[:, :g.size] * g) @ c.V[:, :g.size].T @ c.vv_ihalf


def _conditional_covs(c: _Cov) -> tuple[np.ndarray, np.ndarray]:
    """``(C_u|v, C_v|u)``: the true conditional covariances."""
    return (c.uu - c.uv @ np.linalg.solve(c.vv, c.uv.T), c.vv - c.uv.T @ np.linalg.solve(c.uu, c.uv))


def optimal_l2_one_sided(cov) -> tuple[np.ndarray, np.ndarray]:
    """``(A*, B*)`` of the L2 tilt's one-sided ``(2, 0)`` loss (Cor. 5.4).

    ``A* = C_u|v^{-1} C_uv C_vv^{-1}``, ``B* = C_uu^{-1} C_uv C_v|u^{-1} C_vu C_uu^{-1}``,
    so that ``B* + C_uu^{-1} = C_u|v^{-1}``: the model's ``u | v`` is exact.
    (``C = H^T H`` does not enter this loss; there is no rank-restricted closed form.)
    """
    c = _check_cov(cov)
    c_u_v, c_v_u = _conditional_covs(c)
    A = np.linalg.solve(c_u_v, c.uv) @ np.linalg.inv(c.vv)
    X = np.linalg.solve(c.uu, c.uv)  # C_uu^{-1} C_uv
    return A, X @ np.linalg.solve(c_v_u, X.T)


# --------------------------------------------------------------------------- the fitted model
class GaussianConditional(NamedTuple):
    """``N(mean_map @ x, cov)``: a model conditional given the other modality ``x``."""

    mean_map: np.ndarray
    cov: np.ndarray


def model_conditionals(A, cov, *, B=None, C=None) -> dict[str, GaussianConditional]:
    """The tilted model's conditionals ``{"u|v": ..., "v|u": ...}``.

    Inner tilt (Cor. 5.2): ``nu(u|v) = N(C_uu A v, C_uu)``, ``nu(v|u) = N(C_vv A^T u, C_vv)``.
    L2 tilt: pass ``B = G^T G`` (for ``u|v``: ``N((B + C_uu^{-1})^{-1} A v, (B + C_uu^{-1})^{-1})``)
    and/or ``C = H^T H`` (likewise for ``v|u``); a direction whose matrix is not given uses the
    inner formula.
    """
    c = _check_cov(cov)
    A = _check_A(A, c)
    out = {}
    for direction, X, C_own, quad in (("u|v", A, c.uu, B), ("v|u", A.T, c.vv, C)):
        if quad is None:
            out[direction] = GaussianConditional(C_own @ X, C_own.copy())
            continue
        name = "B" if direction == "u|v" else "C"
        quad = np.array(quad, dtype=np.float64)
        if quad.shape != C_own.shape or not np.all(np.isfinite(quad)):
            raise ValueError(f"{name}: expected a finite {C_own.shape} array, got shape {quad.shape}")
        cov_model = np.linalg.inv(quad + np.linalg.inv(C_own))
        out[direction] = GaussianConditional(cov_model @ X, cov_model)
    return out


def model_marginal_u(A, cov) -> np.ndarray:
    """Covariance of the model's ``u``-marginal, inner tilt: ``(C_uu^{-1} - A C_vv A^T)^{-1}`` (Cor. 5.7).

    Raises ``ValueError`` naming ``A`` if the precision is not positive definite (no normalisable model).
    """
    c = _check_cov(cov)
    A = _check_A(A, c)
    precision = np.linalg.inv(c.uu) - A @ c.vv @ A.T
    precision = (precision + precision.T) / 2
    w = np.linalg.eigvalsh(precision)
    if w.min() <= 0:
        raise ValueError(f"A: the model's u-marginal is not normalisable (precision eigenvalue {w.min():.3g} <= 0)")
    return np.linalg.inv(precision)


def whitened_error(A, A_ref, cov) -> float:
    """``||C_uu^{1/2} (A - A_ref) C_vv^{1/2}||_F / ||C_uu^{1/2} A_ref C_vv^{1/2}||_F`` (coordinate free)."""
    c = _check_cov(cov)
    A, A_ref = _check_A(A, c), _check_A(A_ref, c, "A_ref")
    ref = np.linalg.norm(c.uu_half @ A_ref @ c.vv_half)
    if ref == 0:
        raise ValueError("A_ref: is zero; the relative error is undefined")
    return float(np.linalg.norm(c.uu_half @ (A - A_ref) @ c.vv_half) / ref)


def conditional_mean_error(A, cov, direction: str = "u|v", *, B=None, C=None) -> float:
    """Relative RMS error of the model's conditional mean, in whitened units, exactly.

    For ``"u|v"``: ``||C_uu^{-1/2} (T - C_uv C_vv^{-1}) C_vv^{1/2}||_F / ||K||_F`` with ``T`` the
    model's mean map (:func:`model_conditionals`), i.e. ``E|error|^2 / E|true mean|^2`` over
    ``v ~ N(0, C_vv)`` in whitened ``u`` coordinates; likewise ``"v|u"``. Zero at the
    conditional optimum ``A*``.
    """
    check_choice(direction, "direction", DIRECTIONS)
    c = _check_cov(cov)
    T = model_conditionals(A, c, B=B, C=C)[direction].mean_map
    if direction == "u|v":
        true, out_ihalf, in_half = c.uv @ np.linalg.inv(c.vv), c.uu_ihalf, c.vv_half
    else:
        true, out_ihalf, in_half = c.uv.T @ np.linalg.inv(c.uu), c.vv_ihalf, c.uu_half
    scale = np.sqrt(np.sum(c.sigma**2))
    if scale == 0:
        raise ValueError("cov: u and v are independent; the conditional mean is 0 and the relative error undefined")
    return float(np.linalg.norm(out_ihalf @ (T - true) @ in_half) / scale)


# --------------------------------------------------------------------------- helpers
def principal_angles(X, Y) -> np.ndarray:
    """Principal angles (radians, largest first) between the column spans of ``X`` and ``Y``
    (``scipy.linalg.subspace_angles``). For an encoder ``G (e, n_u)`` pass ``G.T``.
    """
    X, Y = np.array(X, dtype=np.float64), np.array(Y, dtype=np.float64)
    for M, name in ((X, "X"), (Y, "Y")):
        if M.ndim != 2 or not np.all(np.isfinite(M)):
            raise ValueError(f"{name}: expected a finite 2-D array (dim, k), got shape {M.shape}")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"Y: expected {X.shape[0]} rows like X, got {Y.shape[0]}")
    return scipy.linalg.subspace_angles(X, Y)


def sample(cov, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs ``(u (n, n_u), v (n, n_v))`` from ``N(0, cov)``, float64, seeded (Cholesky of the joint)."""
    c = _check_cov(cov)
    n = check_int(n, "n")
    rng = np.random.default_rng(check_seed(seed))
    joint = np.block([[c.uu, c.uv], [c.uv.T, c.vv]])
    L = np.linalg.cholesky(joint)
    x = rng.standard_normal((n, joint.shape[0])) @ L.T
    return x[:, : c.uu.shape[0]], x[:, c.uu.shape[0]:]


def make_example(name: str = "g43") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference covariances. ``"g43"``: ``C_uu = P P^T``, ``C_vv = Q Q^T``, ``C_uv = P D Q^T`` with
    ``P = [[2,0,0,0],[1,1,0,0],[0,1,.5,0],[0,0,1,3]]``, ``Q = [[1,0,0],[.5,2,0],[0,-1,1]]``,
    ``D = diag(0.9, 0.6, 0.3)`` padded to ``4 x 3`` (canonical correlations 0.9, 0.6, 0.3).
    """
    check_choice(name, "name", EXAMPLES)
    P = np.array([[2.0, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0.5, 0], [0, 0, 1, 3]])
    Q = np.array([[1.0, 0, 0], [0.5, 2, 0], [0, -1, 1]])
    D = np.zeros((4, 3))
    D[[0, 1, 2], [0, 1, 2]] = (0.9, 0.6, 0.3)
    return P @ P.T, P @ D @ Q.T, Q @ Q.T
