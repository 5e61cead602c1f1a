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

Example
-------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(60, 3))
>>> round(pwcca(X, X @ np.diag([1., 2., 3.]) + 4), 12)
1.0
"""

from __future__ import annotations

import torch

from ..moments import centered
from ._common import as_output, paired
from .subspace_metrics import cca_bases

__all__ = ["pwcca"]


def pwcca(X, Y):
    """Projection-weighted mean canonical correlation (weights from ``X``), in ``[0, 1]``."""
    Qx, Qy = cca_bases(X, Y)
    A, rho, _ = torch.linalg.svd(Qx.T @ Qy, full_matrices=False)
    H = Qx @ A  # canonical variates of X, orthonormal columns
    Xt, _ = paired(X, Y, min_samples=3)
    weights = (H.T @ centered(Xt)).abs().sum(1)
    return as_output((weights * rho.clamp(0.0, 1.0)).sum() / weights.sum(), X, Y)
