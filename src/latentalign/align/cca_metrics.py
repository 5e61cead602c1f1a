r"""Projection-weighted CCA (PWCCA, Morcos, Raghu & Bengio 2018).

With ``Qx``, ``Qy`` orthonormal bases of the centred inputs and
``Qx^T Qy = A diag(rho) B^T``, the canonical variates of ``X`` are the columns ``h_i`` of
``Qx A``. Each correlation is weighted by how much of ``X`` its variate accounts for,
``alpha_i = sum_j |<h_i, xc_j>|`` over the centred neurons ``xc_j``, and
``PWCCA = sum_i alpha_i rho_i / sum_i alpha_i`` (in ``[0, 1]``; not symmetric).

This is the paper's definition. The Google ``svcca`` code (copied by ``contrasim``, ``resi``
and ``rtd``) projects the uncentred data on ``u_i^T Xc`` plus the neuron means, un-whitened,
so its value depends on the signs LAPACK gives singular vectors; it differs from the
paper's by about ``5e-3`` on Gaussian data. Like CCA, it needs ``rank X + rank Y < n``.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(60, 3))
>>> round(pwcca(X, X @ np.diag([1., 2., 3.]) + 4), 12)
1.0
"""

from __future__ import annotations

import torch

from ..moments import centered
from ._common import as_output, paired
from .subspace_metrics import check_ranks, gram_eigen

__all__ = ["pwcca"]


def pwcca(X, Y):
    """Projection-weighted mean canonical correlation (weights from ``X``), in ``[0, 1]``.

    By ``d x d`` products: with ``Xc = Qx Sx Vx^T`` from the Gram, ``Qx^T Qy = Sx^-1 Vx^T Xc^T Yc Vy Sy^-1``
    and the projections of the neurons on the variates are ``A^T Qx^T Xc = A^T Sx Vx^T``.
    """
    Xt, Yt = paired(X, Y, min_samples=3)
    Xc, Yc = centered(Xt), centered(Yt)
    (sx, Vx), (sy, Vy) = gram_eigen(Xc), gram_eigen(Yc)
    check_ranks(len(sx), len(sy), Xt.shape[0])
    A, rho, _ = torch.linalg.svd((Vx / sx).T @ (Xc.T @ Yc) @ (Vy / sy), full_matrices=False)
    weights = (A.T @ (Vx * sx).T).abs().sum(1)
    return as_output((weights * rho.clamp(0.0, 1.0)).sum() / weights.sum(), X, Y)
