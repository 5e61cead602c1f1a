r"""SGD on Gaussian pairs with linear encoders, to see whether training reaches the closed forms.

:func:`fit_linear` trains ``g_u = G u``, ``g_v = H v`` (``G: (e, n_u)``, ``H: (e, n_v)``)
with any loss of this package on pairs from ``N(0, cov)``, in float64 with
Adam and a cosine-annealed learning rate (``docs/contrastive.md#contrastive-recovery``):
fresh pairs every step by default, or epochs over a fixed data set of ``n_data`` pairs.
Compare the result with :mod:`.gaussian`'s optima.

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

__all__ = ["LinearFit", "fit_linear"]


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
