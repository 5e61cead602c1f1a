r"""SGD on Gaussian pairs with linear encoders, to see whether training reaches the closed forms.

:func:`fit_linear` trains ``g_u = G u``, ``g_v = H v`` (``G: (e, n_u)``, ``H: (e, n_v)``)
with any loss of this package on pairs from ``N(0, cov)``, in float64 with
Adam and a cosine-annealed learning rate (``docs/contrastive.md#contrastive-recovery``):
fresh pairs every step by default, or epochs over a fixed data set of ``n_data`` pairs.
Compare the result with :mod:`.gaussian`'s optima, or, at a finite batch size, with
:func:`finite_batch_gains` (the minimiser of the expected CLIP loss of one batch).

Examples
--------
>>> from latentalign.contrastive import ClipLoss, gaussian
>>> cov = gaussian.make_example("g43")
>>> fit = fit_linear(cov, ClipLoss(tilt="inner", temperature=1.0), 1, steps=1000, batch_size=128, lr=3e-2)
>>> _, W_u, _ = gaussian.canonical_correlations(*cov)
>>> float(gaussian.principal_angles(fit.G.T, W_u[:, :1]).max()) < 0.05
True
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .._validate import check_int, check_positive, check_seed
from .gaussian import _check_cov
from .losses import _TiltedLoss

__all__ = ["LinearFit", "finite_batch_gains", "fit_linear"]


class LinearFit(NamedTuple):
    """Trained encoders (numpy float64) and the loss of every step."""

    G: np.ndarray
    H: np.ndarray
    losses: np.ndarray

    @property
    def A(self) -> np.ndarray:
        """``G^T H``, the identifiable bilinear part of the score."""
        return self.G.T @ self.H

    @property
    def B(self) -> np.ndarray:
        """``G^T G`` (the L2 tilt's quadratic term in ``u``)."""
        return self.G.T @ self.G


def fit_linear(cov, loss: nn.Module, dim: int, *, steps: int = 3000, batch_size: int = 256, lr: float = 1e-2,
               n_data: int | None = None, init_std: float = 0.1, seed: int = 0) -> LinearFit:
    """Train linear encoders of width ``dim`` on Gaussian pairs with ``loss`` (float64, Adam,
    learning rate ``lr`` cosine-annealed to 0 over ``steps``; ``G, H`` initialised ``init_std * N(0, 1)``).

    ``n_data=None`` draws ``batch_size`` fresh pairs per step; an integer draws one data set
    of that many pairs and cycles through seeded shuffles of it (``drop_last``).
    The loss's own parameters (a learnable temperature or bias) are trained too.
    """
    c = _check_cov(cov)
    if not isinstance(loss, _TiltedLoss):
        raise TypeError(f"loss: expected a loss of latentalign.contrastive, got {type(loss).__name__}")
    dim, steps = check_int(dim, "dim"), check_int(steps, "steps")
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    lr, init_std = check_positive(lr, "lr"), check_positive(init_std, "init_std")
    if n_data is not None:
        n_data = check_int(n_data, "n_data", minimum=batch_size)
    gen = torch.Generator().manual_seed(check_seed(seed))
    n_u = c.uu.shape[0]
    chol = torch.from_numpy(np.linalg.cholesky(np.block([[c.uu, c.uv], [c.uv.T, c.vv]])))

    def draw(n):
        return torch.randn(n, chol.shape[0], generator=gen, dtype=torch.float64) @ chol.T

    G = nn.Parameter(init_std * torch.randn(dim, n_u, generator=gen, dtype=torch.float64))
    H = nn.Parameter(init_std * torch.randn(dim, c.vv.shape[0], generator=gen, dtype=torch.float64))
    loss = loss.double()
    opt = torch.optim.Adam([G, H, *loss.parameters()], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * t / steps)))
    data = None if n_data is None else draw(n_data)
    order, cursor = None, 0
    history = np.empty(steps)
    for step in range(steps):
        if data is None:
            x = draw(batch_size)
        else:
            if order is None or cursor + batch_size > n_data:
                order, cursor = torch.randperm(n_data, generator=gen), 0
            x = data[order[cursor: cursor + batch_size]]
            cursor += batch_size
        value = loss(x[:, :n_u] @ G.T, x[:, n_u:] @ H.T)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        sched.step()
        loss.clamp_()
        history[step] = float(value.detach())
    return LinearFit(G.detach().numpy().copy(), H.detach().numpy().copy(), history)


def finite_batch_gains(cov, batch_size: int, *, n_batches: int = 200, seed: int = 0) -> np.ndarray:
    r"""Canonical gains of the minimiser of the *expected batch* CLIP loss (inner tilt, ``tau = 1``).

    CLIP on a batch of ``N`` pairs has no population limit; its expected value
    ``E[-s_ii + 1/2 log sum_k e^{s_ik} + 1/2 log sum_k e^{s_ki}]`` is minimised by a
    different ``A`` than :func:`.gaussian.optimal_A` (the ``N -> infinity`` limit of the
    centred loss): the log of an ``N``-term mean is biased, most for the top canonical
    pair, whose ``e^s`` has infinite variance once ``sigma_1 >= 2/3``. In canonical
    coordinates (``x ~ N(0, I)``, ``y = Sigma x + (I - Sigma^2)^{1/2} z``) the minimiser
    is diagonal (flipping the sign of one pair ``(x_j, y_j)`` leaves the loss unchanged),
    so it is found over the gains ``d`` with ``s_ik = sum_j d_j x_ij y_kj``, by L-BFGS on
    ``n_batches`` fixed batches (common random numbers; a Monte Carlo estimate, float64).
    ``gaussian.from_gains(d, cov)`` is the corresponding ``A``.

    Parameters
    ----------
    cov : tuple of arrays
        ``(C_uu, C_uv, C_vv)``.
    batch_size : int
        ``N``, at least 2.
    n_batches : int
        Batches in the Monte Carlo average.
    seed : int
        Seeds the batches.

    Returns
    -------
    ndarray of shape (min(n_u, n_v),)
        The gains in the order of the canonical pairs, to compare with ``gaussian.canonical_gains`` of a trained ``A``
        and with
        the canonical correlations (the infinite-batch optimum).

    Examples
    --------
    >>> from latentalign.contrastive import gaussian
    >>> d = finite_batch_gains(gaussian.make_example("g43"), 64, n_batches=50)
    >>> bool(d[0] > 0.9)  # the top gain is inflated at a small batch
    True
    """
    c = _check_cov(cov)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    n_batches = check_int(n_batches, "n_batches")
    gen = torch.Generator().manual_seed(check_seed(seed))
    sigma = torch.from_numpy(c.sigma)
    shape = (n_batches, batch_size, sigma.numel())
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    y = sigma * x + torch.sqrt(1 - sigma**2) * torch.randn(shape, generator=gen, dtype=torch.float64)
    d = sigma.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([d], max_iter=100, tolerance_grad=1e-10, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        S = (x * d) @ y.transpose(1, 2)
        value = (0.5 * (torch.logsumexp(S, 2).mean() + torch.logsumexp(S, 1).mean())
                 - torch.diagonal(S, dim1=1, dim2=2).mean())
        value.backward()
        return value

    opt.step(closure)
    return d.detach().numpy().copy()
