r"""Generative maps ``x = g(z)`` (normalised units) and the encoders that invert them.

The math: ``docs/ksm.md#eq-ksm-decoder`` and ``docs/ksm.md#eq-ksm-encode``.

Decoders (all with ``decode(Z) -> (X_hat, cache)`` and ``grad(Z, cache, G)``,
the gradient of ``1/2 ||O o (g(Z) - X)||^2`` given ``G = O o (g(Z) - X)``):

* :class:`KernelDecoder` ``g(z) = k(z, Z_d) W`` (Gaussian; exact: ``Z_d = Z``,
  ``W = M^{-1} X``; Nystroem: landmarks). Gradient ``-sigma^-2 sum_j c_j (z - z_j)``
  with ``c_j = k(z, z_j) (W G^T)_j``.
* :class:`LinearDecoder` ``g(z) = z D`` (linear kernel, ``D = D*`` or learned).
* :class:`FeatureDecoder` ``g(z) = phi(z) D`` (online network, random features).

Encoders minimise ``e(z) = 1/2 ||O o (x - g(z))||^2 + r(z)`` row by row (``O`` the
observed-entry mask, all ones for ``transform``):

* :func:`encode_adaptive` (Gaussian): from a start latent, proximal-gradient
  steps with a per-row step (initially ``0.1 sigma^2``) accepted only if ``e``
  drops (then x1.2), else halved; so ``e`` never rises.
* :func:`encode_fista` (linear): FISTA from 0 with step ``1/||D||_2^2``.

:func:`warm_start` gives the Gaussian encoder its start latents (the decoder latent of the
nearest decoder input, over the observed entries only); :func:`slerp` is the great-circle
path of ``interpolate(method="slerp")``.

Examples
--------
>>> import torch
>>> D = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
>>> X = torch.tensor([[3.0, 4.0]], dtype=torch.float64)
>>> encode_fista(LinearDecoder(D), X, None, Prior(), 200).round(decimals=10).tolist()
[[3.0, 2.0]]
"""

from __future__ import annotations

import math

import torch

from ..neighbors import knn
from .objective import cholesky, gram_matrix, kernel_form, kernel_matrix
from .online import RandomFeatures
from .prox import Prior

CHUNK_ENTRIES = 2**22  # rows x decoder latents per chunk (32 MiB of float64)
GROW, SHRINK = 1.2, 0.5


class KernelDecoder:
    """``g(z) = k(z, Z_d) W`` with the Gaussian kernel of bandwidth ``sigma``."""

    def __init__(self, latents: torch.Tensor, W: torch.Tensor, sigma: float):
        self.latents, self.W, self.sigma = latents, W, sigma

    def decode(self, Z):
        """Decoded rows ``(B, d)`` of latents ``Z`` ``(B, m)`` and the kernel block the gradient reuses."""
        K = kernel_matrix(Z, self.latents, "rbf", self.sigma)
        return K @ self.W, K

    def grad(self, Z, K, G):
        """``(dg/dz)^T G`` per row: the latents' gradient ``(B, m)`` given the outputs' gradient ``G`` ``(B, d)``."""
        C = K * (G @ self.W.T)
        return -(C.sum(1, keepdim=True) * Z - C @ self.latents) / self.sigma**2

    def chunk_rows(self) -> int:
        """Rows per chunk so a chunk's kernel block stays near ``CHUNK_ENTRIES`` entries."""
        return max(1, CHUNK_ENTRIES // self.latents.shape[0])


class LinearDecoder:
    """``g(z) = z D``."""

    def __init__(self, D: torch.Tensor):
        self.D = D

    def decode(self, Z):
        """Decoded rows ``Z D`` ``(B, d)`` (no cache)."""
        return Z @ self.D, None

    def grad(self, Z, cache, G):
        """The latents' gradient ``G D^T`` ``(B, m)``."""
        return G @ self.D.T

    def chunk_rows(self) -> int:
        """Rows per chunk so a chunk stays near ``CHUNK_ENTRIES`` entries."""
        return max(1, CHUNK_ENTRIES // max(self.D.shape))


class FeatureDecoder:
    """``g(z) = phi(z) D`` with random Fourier features ``phi``."""

    def __init__(self, features: RandomFeatures, D: torch.Tensor):
        self.features, self.D = features, D

    def decode(self, Z):
        """Decoded rows ``phi(Z) D`` ``(B, d)`` (no cache)."""
        return self.features(Z) @ self.D, None

    def grad(self, Z, cache, G):
        """The latents' gradient ``J_phi(Z)^T (G D^T)`` ``(B, m)``."""
        return self.features.vjp(Z, G @ self.D.T)

    def chunk_rows(self) -> int:
        """Rows per chunk so a chunk stays near ``CHUNK_ENTRIES`` entries."""
        return max(1, CHUNK_ENTRIES // self.D.shape[0])


def exact_coef(X: torch.Tensor, Z: torch.Tensor, ridge: float, sigma: float) -> torch.Tensor:
    """``W = (K_Z + gamma_N I)^{-1} X`` for the exact Gaussian decoder."""
    return kernel_form(X, gram_matrix(Z, "rbf", sigma), ridge * Z.shape[0])[1]


def nystrom_coef(X: torch.Tensor, Z: torch.Tensor, landmarks: torch.Tensor, ridge: float, sigma: float):
    """``W_L = (K_LN K_NL + gamma_N K_LL + eps I)^{-1} K_LN X``, ``eps = 1e-10 tr(K_LL)/|L|``,
    accumulated over row blocks so no ``N x |L|`` matrix is held.
    """
    L = Z[landmarks]
    n_l = L.shape[0]
    KK = torch.zeros((n_l, n_l), dtype=Z.dtype, device=Z.device)
    KX = torch.zeros((n_l, X.shape[1]), dtype=Z.dtype, device=Z.device)
    step = max(1, CHUNK_ENTRIES // n_l)
    for start in range(0, Z.shape[0], step):
        K_b = kernel_matrix(Z[start : start + step], L, "rbf", sigma)
        KK += K_b.T @ K_b
        KX += K_b.T @ X[start : start + step]
    K_LL = kernel_matrix(L, L, "rbf", sigma)
    eps = 1e-10 * float(torch.diagonal(K_LL).mean())
    A = 0.5 * (KK + KK.T) + ridge * Z.shape[0] * 0.5 * (K_LL + K_LL.T)
    A = A + eps * torch.eye(n_l, dtype=Z.dtype, device=Z.device)
    return torch.cholesky_solve(KX, cholesky(A))


def warm_start(inputs: torch.Tensor, latents: torch.Tensor, X: torch.Tensor, O: torch.Tensor | None) -> torch.Tensor:
    """Start latents for the encoder: row ``i`` is the latent of the input nearest to ``x_i``.

    With a mask ``O`` (1 = observed) distances run over each query's observed entries only:
    ``sum_f o_f (x_f - y_f)^2 = (O o X^2) 1 - 2 (O o X) Y^T + O (Y^2)^T``.

    Parameters
    ----------
    inputs : torch.Tensor, shape (n_decoder, n_features)
        The decoder's inputs (normalised units).
    latents : torch.Tensor, shape (n_decoder, n_components)
        Their latents.
    X : torch.Tensor, shape (n, n_features)
        Queries (normalised units).
    O : torch.Tensor of shape (n, n_features), or None
        Observed-entry mask (float 0/1); None: every entry observed (exact kNN).

    Returns
    -------
    torch.Tensor, shape (n, n_components)

    Examples
    --------
    >>> inputs = torch.tensor([[0.0, 0.0], [1.0, 5.0]], dtype=torch.float64)
    >>> latents = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)
    >>> X = torch.tensor([[0.9, 0.0]], dtype=torch.float64)
    >>> warm_start(inputs, latents, X, None).tolist()  # nearest over both entries
    [[-1.0]]
    >>> warm_start(inputs, latents, X, torch.tensor([[1.0, 0.0]])).tolist()  # over the first only
    [[1.0]]
    """
    if O is None:
        nearest = knn(inputs, 1, queries=X).indices[:, 0]
    else:
        nearest = torch.empty(X.shape[0], dtype=torch.long, device=X.device)
        O = O.to(X.dtype)
        rows = max(1, CHUNK_ENTRIES // inputs.shape[0])
        for s in range(0, X.shape[0], rows):
            x, o = X[s : s + rows], O[s : s + rows]
            d = (o * x * x).sum(1, keepdim=True) - 2.0 * (o * x) @ inputs.T + o @ (inputs * inputs).T
            nearest[s : s + rows] = d.argmin(1)
    return latents[nearest.to(latents.device)]


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Great-circle interpolation of the directions with linearly interpolated norms.

    ``z(t) = ((1-t)||a|| + t||b||) (sin((1-t) w) a^ + sin(t w) b^) / sin w``, ``w`` the angle
    between ``a^ = a/||a||`` and ``b^``; a straight line when either end is 0 or ``w = 0``.

    Parameters
    ----------
    a, b : torch.Tensor, shape (1, m)
        The ends.
    t : torch.Tensor, shape (n_steps, 1)
        Positions in [0, 1].

    Returns
    -------
    torch.Tensor, shape (n_steps, m)

    Examples
    --------
    >>> a, b = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 4.0]])
    >>> slerp(a, b, torch.tensor([[0.5]])).mul(2 ** 0.5).round(decimals=6).tolist()  # norm 3, at 45 degrees
    [[3.0, 3.0]]
    """
    na, nb = a.norm(), b.norm()
    if float(na) == 0.0 or float(nb) == 0.0:
        return (1 - t) * a + t * b
    ua, ub = a / na, b / nb
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    if float(omega.sin()) < 1e-12:
        return (1 - t) * a + t * b
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    return ((1 - t) * na + t * nb) * direction


def encode_adaptive(decoder, X, O, Z0, prior: Prior, steps: int, step0: float) -> torch.Tensor:
    """Monotone per-row proximal gradient on ``e(z)`` from ``Z0`` (chunked over rows)."""
    out = torch.empty_like(Z0)
    size = decoder.chunk_rows()
    for start in range(0, X.shape[0], size):
        rows = slice(start, start + size)
        out[rows] = _adaptive(decoder, X[rows], None if O is None else O[rows], Z0[rows], prior, steps, step0)
    return out


def _adaptive(decoder, X, O, Z, prior, steps, step0):
    Xh, cache = decoder.decode(Z)
    err = _error(X, Xh, O, Z, prior)
    step = torch.full((Z.shape[0], 1), step0, dtype=Z.dtype, device=Z.device)
    for _ in range(steps):
        G = Xh - X if O is None else O * (Xh - X)
        trial = prior.prox(Z - step * decoder.grad(Z, cache, G), step)
        Xh_t, cache_t = decoder.decode(trial)
        err_t = _error(X, Xh_t, O, trial, prior)
        better = err_t < err
        keep = better.unsqueeze(1)
        Z, Xh, err = torch.where(keep, trial, Z), torch.where(keep, Xh_t, Xh), torch.where(better, err_t, err)
        if cache is not None:
            cache = torch.where(keep, cache_t, cache)
        step = torch.where(keep, step * GROW, step * SHRINK)
    return Z


def encode_fista(decoder: LinearDecoder, X, O, prior: Prior, steps: int) -> torch.Tensor:
    """FISTA from 0 on ``1/2 ||O o (x - z D)||^2 + r(z)`` with step ``1/||D||_2^2``."""
    lip = float(torch.linalg.matrix_norm(decoder.D, ord=2)) ** 2
    t = 1.0 / max(lip, 1e-300)
    Z = torch.zeros((X.shape[0], decoder.D.shape[0]), dtype=X.dtype, device=X.device)
    Y, theta = Z, 1.0
    for _ in range(steps):
        G = Y @ decoder.D - X
        if O is not None:
            G = O * G
        new = prior.prox(Y - t * decoder.grad(Y, None, G), t)
        theta_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * theta * theta))
        Y = new + ((theta - 1.0) / theta_next) * (new - Z)
        Z, theta = new, theta_next
    return Z


def _error(X, Xh, O, Z, prior: Prior):
    R = Xh - X if O is None else O * (Xh - X)
    return 0.5 * (R * R).sum(1) + prior.penalty(Z)
