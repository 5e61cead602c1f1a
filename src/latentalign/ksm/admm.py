r"""Linearised ADMM for ``min_Z F(Z) + sum_i r(z_i)`` (``docs/ksm.md#eq-ksm-admm``).

::

    U <- prox(Z); Lambda <- 0
    for k = 1..max_iter:
        Z <- Z - eta (grad F(Z) + Lambda + rho (Z - U))
        U_old <- U;  U <- prox(Z + Lambda/rho; rho);  Lambda <- Lambda + rho (Z - U)
        stop if k >= 10 and ||Z - U||/sqrt(Nm) < tol and rho ||U - U_old||/sqrt(Nm) < tol

Learned bandwidth (Gaussian, ``learn_sigma``): each step also takes
``log sigma <- log sigma - eta (dF/d log sigma) / |S|`` (the per-sample gradient),
from the same kernel matrix as the latent step.

Minibatch mode: every epoch splits a seeded permutation into ``floor(N/B)``
batches; batch ``S`` takes one step on rows ``S`` of ``Z, U, Lambda`` with
``F_S`` at ``gamma = ridge |S|``; ``max_iter`` counts epochs. Full batch is
the one-batch case. Safeguard: when the epoch's objective (``f`` + mean
penalty) is NaN or above 1.5x its best, the best state is restored and ``eta`` halved (warned once); after
10 halvings the solver stops with a ``ConvergenceWarning``.

Examples
--------
>>> import torch
>>> from latentalign.data.synthetic import ring
>>> X = torch.as_tensor(ring(n=60, seed=0).X, dtype=torch.float64)
>>> X = (X - X.mean(0)) / X.var(0).sum().sqrt()
>>> Z0 = 0.1 * torch.randn(60, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
>>> res = linearized_admm(X, Z0, kernel="rbf", sigma=1.0, ridge=1e-3, prior=Prior(budget="ball", radius=2.0),
...                       max_iter=300, tol=1e-3)
>>> bool(res.history["objective"][-1] < 0.2 * res.history["objective"][0])
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from .objective import value_and_grad
from .prox import Prior

MIN_ITER = 10
BLOWUP = 1.5
MAX_HALVINGS = 10


@dataclass
class SolverResult:
    """What an ADMM solve returns: the latents, the iteration count, the residuals and their history."""

    embedding: torch.Tensor  # U, the feasible latents
    n_iter: int
    history: dict  # per iteration (epoch): objective, primal_residual, dual_residual, step_size
    primal_residual: float
    dual_residual: float
    objective: float  # last f + mean penalty (minibatch: mean over the epoch's batches)
    converged: bool
    sigma: float  # the bandwidth at the end (the given one unless learned)


def linearized_admm(
    X: torch.Tensor,
    Z0: torch.Tensor,
    *,
    kernel: str,
    sigma: float,
    ridge: float,
    prior: Prior,
    step_size: float = 0.1,
    rho: float = 1.0,
    tol: float = 1e-5,
    max_iter: int = 1500,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
    callback: Callable[[int, float], None] | None = None,
    learn_sigma: bool = False,
) -> SolverResult:
    """Run the solver from ``Z0`` on normalised inputs ``X`` (float64 tensors, same device)."""
    if learn_sigma and kernel != "rbf":
        raise ValueError(f"learn_sigma: only the Gaussian kernel has a bandwidth, got kernel={kernel!r}")
    N, m = Z0.shape
    root = math.sqrt(N * m)
    state = _State(Z0.clone(), prior.prox(Z0, 1.0 / rho), torch.zeros_like(Z0), sigma)
    best_f, best = math.inf, state.copy()
    eta, halvings, warned = step_size, 0, False
    hist = {"objective": [], "primal_residual": [], "dual_residual": [], "step_size": [], "sigma": []}
    primal = dual = math.inf
    converged = False
    it = 0
    while it < max_iter:
        start = state.copy()
        F_sum, pen_sum = 0.0, 0.0
        for S in _batches(N, batch_size, generator, Z0.device):
            out = value_and_grad(X[S], state.Z[S], ridge * X[S].shape[0], kernel, state.sigma, with_sigma=learn_sigma)
            F_sum += float(out[0])
            pen_sum += float(prior.penalty(state.U[S]).sum())
            state.step(S, out[1], eta, rho, prior)
            if learn_sigma:
                state.sigma *= math.exp(-eta * float(out[2]) / X[S].shape[0])  # a step in log sigma
        f = (F_sum + pen_sum) / N  # f + mean penalty: the safeguard watches the whole objective
        if not math.isfinite(f) or f > BLOWUP * best_f:
            state, eta, halvings = best.copy(), eta / 2.0, halvings + 1
            if halvings > MAX_HALVINGS:
                warnings.warn(f"step_size: objective still diverging after {MAX_HALVINGS} halvings; stopped",
                              ConvergenceWarning, stacklevel=3)
                break
            if not warned:
                warnings.warn(f"step_size: objective rose to {f:.4g} (best {best_f:.4g}); restoring the best "
                              "state and halving the step", UserWarning, stacklevel=3)
                warned = True
            continue
        if f < best_f:
            best_f, best = f, start
        it += 1
        primal = float((state.Z - state.U).norm()) / root
        dual = rho * float((state.U - start.U).norm()) / root
        for key, value in zip(hist, (f, primal, dual, eta, state.sigma)):
            hist[key].append(value)
        if callback is not None:
            callback(it, hist["objective"][-1])
        if it >= MIN_ITER and primal < tol and dual < tol:
            converged = True
            break
    if not converged and halvings <= MAX_HALVINGS:
        warnings.warn(f"max_iter: ADMM stopped after {it} iterations with primal residual {primal:.2e} and dual "
                      f"residual {dual:.2e} (tol {tol:g})", ConvergenceWarning, stacklevel=3)
    return SolverResult(state.U, it, {k: np.asarray(v, dtype=np.float64) for k, v in hist.items()},
                        primal, dual, hist["objective"][-1] if it else math.nan, converged, state.sigma)


class _State:
    """Primal ``Z``, split copy ``U``, scaled multiplier ``Lambda`` and the bandwidth."""

    def __init__(self, Z, U, Lam, sigma: float):
        self.Z, self.U, self.Lam, self.sigma = Z, U, Lam, sigma

    def copy(self) -> _State:
        return _State(self.Z.clone(), self.U.clone(), self.Lam.clone(), self.sigma)

    def step(self, S, grad, eta: float, rho: float, prior: Prior) -> None:
        Z, U, Lam = self.Z[S], self.U[S], self.Lam[S]
        Z = Z - eta * (grad + Lam + rho * (Z - U))
        U = prior.prox(Z + Lam / rho, 1.0 / rho)
        self.Z[S], self.U[S], self.Lam[S] = Z, U, Lam + rho * (Z - U)


def _batches(N: int, batch_size: int | None, generator, device):
    if batch_size is None or batch_size >= N:
        return [slice(None)]
    perm = torch.randperm(N, generator=generator).to(device)
    return list(torch.tensor_split(perm, N // batch_size))
