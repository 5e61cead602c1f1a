r"""Online Hebbian / predictive-coding KSM network (``docs/ksm.md#eq-ksm-online``).

Units: latents ``z`` (m), prediction errors ``e`` (n), top-down weights ``D`` (p x n).
Linear kernel: ``phi(z) = z`` (p = m). Gaussian kernel: ``p`` random Fourier
features ``phi(z) = sqrt(2/p) cos(z Omega + b)``, ``Omega ~ N(0, sigma^-2)``,
``b ~ U[0, 2 pi)``, so ``E[phi(z) phi(z')^T] = exp(-||z - z'||^2 / (2 sigma^2))``.

Per stimulus ``x``::

    z <- N(0, (0.1 sigma)^2)            (linear: |N(0, 0.01/m)|)
    repeat online_steps:  e = x - phi(z) D;  z <- prox(z + tau J_phi(z)^T D e^T)
    D <- D + lr (phi(z)^T e - ridge D)  # Hebbian latent x error product, plus decay

``tau = rate / max(1, ||D||_2^2)`` (linear) or ``rate sigma^2`` (Gaussian).
``D e^T = D x^T - D D^T phi(z)^T``: feed-forward Hebbian drive plus anti-Hebbian
lateral weights ``D D^T``. The inference loop also stops early once
``||dz|| / sqrt(m) < tol`` (``online_steps`` is the cap). The whole network
runs on float64 numpy: per-stimulus updates are too small for torch's overhead.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((40, 3))
>>> net = OnlineNetwork.create(3, 2, kernel="linear", sigma=1.0, ridge=1e-3, prior=Prior(), rng=rng)
>>> first = net.epoch(X, rng)[1]
>>> for _ in range(5):
...     last = net.epoch(X, rng)[1]
>>> bool(last < first)
True
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .prox import Prior


def _xp(a):
    return torch if isinstance(a, torch.Tensor) else np


class RandomFeatures:
    """``phi(Z) = sqrt(2/p) cos(Z Omega + b)`` on numpy arrays or torch tensors."""

    def __init__(self, weights, offsets):
        self.weights, self.offsets = weights, offsets  # (m, p), (p,)
        self.coef = math.sqrt(2.0 / weights.shape[1])

    @classmethod
    def draw(cls, m: int, p: int, sigma: float, rng: np.random.Generator) -> RandomFeatures:
        """Frequencies ``Omega ~ N(0, 1/sigma^2)`` ``(m, p)`` and phases ``b ~ U[0, 2 pi)`` ``(p,)``."""
        return cls(rng.normal(0.0, 1.0 / sigma, size=(m, p)), rng.uniform(0.0, 2.0 * np.pi, size=p))

    def __call__(self, Z):
        """``phi(Z)`` ``(n, p)`` of latents ``Z`` ``(n, m)``."""
        return self.at(self.angles(Z))

    def vjp(self, Z, V):
        """``J_phi(z)^T v`` for each row: ``(-sqrt(2/p) sin(z Omega + b) o v) Omega^T``."""
        return self.vjp_at(self.angles(Z), V)

    def angles(self, Z):
        """``Z Omega + b`` ``(n, p)``."""
        return Z @ self.weights + self.offsets

    def at(self, angles):
        """``sqrt(2/p) cos(angles)``."""
        return self.coef * _xp(angles).cos(angles)

    def vjp_at(self, angles, V):
        """``J_phi^T v`` per row from precomputed ``angles`` (see :meth:`vjp`)."""
        return (-self.coef * _xp(angles).sin(angles) * V) @ self.weights.T

    def to_torch(self, device) -> RandomFeatures:
        """The same features as float64 tensors on ``device``."""
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=device)  # noqa: E731
        return RandomFeatures(as_t(self.weights), as_t(self.offsets))


def hebbian_update(D, Phi, E, lr: float, ridge: float):
    """``D + lr (Phi^T E / B - ridge D)``: the mean Hebbian update over ``B`` rows (SGD on ``L/N``)."""
    return D + lr * (Phi.T @ E / Phi.shape[0] - ridge * D)


class OnlineNetwork:
    """Weights ``D`` and (Gaussian) random features; ``epoch`` runs one pass over the stimuli in order."""

    def __init__(self, D, features, *, kernel, sigma, ridge, prior, steps=200, rate=0.5, lr=0.05, tol=1e-5):
        self.D, self.features = D, features
        self.kernel, self.sigma, self.ridge, self.prior = kernel, sigma, ridge, prior
        self.steps, self.rate, self.lr, self.tol = steps, rate, lr, tol

    @classmethod
    def create(cls, n_features: int, m: int, *, kernel: str, sigma: float, ridge: float, prior: Prior,
               rng: np.random.Generator, n_random_features: int = 256, **rates) -> OnlineNetwork:
        """``D_0 = 0`` with fresh random features (Gaussian), or ``N(0, 1e-4)`` entries (linear)."""
        if kernel == "linear":
            return cls(rng.normal(0.0, 1e-2, size=(m, n_features)), None, kernel=kernel, sigma=sigma,
                       ridge=ridge, prior=prior, **rates)
        features = RandomFeatures.draw(m, n_random_features, sigma, rng)
        return cls(np.zeros((n_random_features, n_features)), features, kernel=kernel, sigma=sigma,
                   ridge=ridge, prior=prior, **rates)

    def phi(self, Z):
        """The network's features of ``Z``: ``Z`` itself (linear kernel) or ``phi(Z)``."""
        return Z if self.features is None else self.features(Z)

    def epoch(self, X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """Infer, then learn, stimulus by stimulus; return the latents and the mean per-sample loss
        ``1/2 ||e||^2 + r(z)`` (plus ``ridge/2 ||D||^2`` at the end of the pass).
        """
        Z = np.empty((X.shape[0], self._m()))
        loss = 0.0
        for i in range(X.shape[0]):
            x = X[i : i + 1]
            z = self.infer(x, self._init(rng))
            phi = self.phi(z)
            e = x - phi @ self.D
            loss += 0.5 * float((e * e).sum()) + float(self.prior.penalty(z).sum())
            self.D = hebbian_update(self.D, phi, e, self.lr, self.ridge)
            Z[i] = z[0]
        return Z, loss / X.shape[0] + 0.5 * self.ridge * float((self.D * self.D).sum())

    def infer(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``online_steps`` proximal steps ``z <- prox(z + tau J^T D e^T)`` with ``D`` frozen."""
        if self.features is None:
            tau = self.rate / max(1.0, float(np.linalg.norm(self.D, 2)) ** 2)
        else:
            tau = self.rate * self.sigma**2
        stop = (self.tol * math.sqrt(z.shape[1])) ** 2
        D, f = self.D, self.features
        for _ in range(self.steps):
            if f is None:
                step = (x - z @ D) @ D.T
            else:
                a = f.angles(z)
                step = f.vjp_at(a, (x - f.at(a) @ D) @ D.T)
            new = self.prior.prox(z + tau * step, tau)
            d = new - z
            z = new
            if float((d * d).sum()) < stop:
                break
        return z

    def _m(self) -> int:
        return self.D.shape[0] if self.features is None else self.features.weights.shape[0]

    def _init(self, rng: np.random.Generator) -> np.ndarray:
        m = self._m()
        if self.features is None:
            return np.abs(rng.normal(0.0, math.sqrt(0.01 / m), size=(1, m)))
        return rng.normal(0.0, 0.1 * self.sigma, size=(1, m))
