r"""Representation Topology Divergence (RTD; Barannikov et al., ICML 2022).

Do two representations of the same samples have the same multi-scale cluster structure?
With ``A`` and ``B`` the Euclidean distance matrices of ``X`` and ``Y``, each divided by its
0.9-quantile (over all ``n^2`` entries, as the authors do), build the weighted graph on
``2n`` vertices

.. math::

    W(X, Y) = \begin{pmatrix} 0 & A^\top \\ A & \min(A, B) \end{pmatrix},

a first copy of the samples joined to each other at scale 0, and a second copy whose edges
appear at the smaller of the two distances. The **R-Cross-Barcode** ``R(X, Y)`` is the
1-dimensional persistence barcode of the Vietoris-Rips filtration of ``W``: each bar
``[b, d)`` is a loop that exists from scale ``b`` to ``d``, a way in which ``Y``'s
neighbourhood graph connects samples at a smaller scale than ``X``'s. If every normalised
distance of ``Y`` is at least ``X``'s, ``min(A, B) = A`` and the barcode is empty. RTD is
the symmetrised total bar length, averaged over ``trials`` random subsets of ``subsample``
rows (the authors' defaults: 10 of 500):

.. math::

    \mathrm{RTD}(X, Y) = \frac{1}{2}\Big(\sum_{[b, d) \in R(X, Y)} (d - b)
        + \sum_{[b, d) \in R(Y, X)} (d - b)\Big).

``RTD(X, X) = 0``; it is invariant to rotations, translations and a rescaling of either
input (the quantile normalisation), and to the order of the samples when ``n <= subsample``
(one exact evaluation on all rows; no randomness). Distances below ``1e-6`` times the mean
of ``A`` are set to 0, as in the authors' code, so rounding does not create bars. The
barcodes come from ``ripser`` (``pip install 'latentalign[topology]'``); one barcode of 500
rows (1000 vertices) takes about 5-10 s on one CPU core, against a GPU for the authors'
ripser++.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(40, 3))
>>> rtd(X, 3 * X + 1)
0.0
>>> rtd(X, X ** 2) > 0
True
"""

from __future__ import annotations

import numpy as np
import torch

from .._extras import require
from .._validate import check_int, check_seed
from ._common import paired

__all__ = ["rtd", "cross_barcode"]


def cross_barcode(X, Y) -> np.ndarray:
    r"""The R-Cross-Barcode ``R(X, Y)``: H1 bars of the Vietoris-Rips filtration of ``W(X, Y)``.

    Parameters
    ----------
    X, Y : array of shape (n_samples, d_x) and (n_samples, d_y)
        Two representations of the same samples, row ``i`` of each being sample ``i``.

    Returns
    -------
    ndarray of shape (n_bars, 2)
        Births and deaths of the 1-dimensional bars (all finite), in normalised distance units.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 2))
    >>> cross_barcode(X, 2 * X).shape  # same geometry: no bar
    (0, 2)
    """
    Xt, Yt = paired(X, Y)
    return _barcode(_normalised_distances(Xt), _normalised_distances(Yt))


def rtd(X, Y, *, subsample: int = 500, trials: int = 10, seed: int = 0) -> float:
    r"""Representation Topology Divergence: half the summed H1 bar lengths of both cross barcodes.

    Parameters
    ----------
    X, Y : array of shape (n_samples, d_x) and (n_samples, d_y)
        Two representations of the same samples.
    subsample : int, default 500
        Rows per evaluation. With ``n_samples <= subsample`` RTD is computed once on all rows
        (exact, no randomness); otherwise it is averaged over ``trials`` subsets drawn
        without replacement with ``seed``.
    trials : int, default 10
        Number of random subsets when ``n_samples > subsample``.
    seed : int, default 0
        Seed of the subsets.

    Returns
    -------
    float
        ``RTD(X, Y) >= 0``; 0 when the two have the same (scaled) geometry.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4))
    >>> near, far = rtd(X, X + 0.01 * rng.normal(size=X.shape)), rtd(X, rng.normal(size=X.shape))
    >>> near < far
    True
    """
    Xt, Yt = paired(X, Y)
    subsample = check_int(subsample, "subsample", minimum=3)
    trials = check_int(trials, "trials")
    seed = check_seed(seed)
    n = Xt.shape[0]
    if n < 3:
        raise ValueError(f"X: RTD needs at least 3 samples, got {n}")
    if n <= subsample:
        subsets = [np.arange(n)]
    else:
        rng = np.random.default_rng(seed)
        subsets = [rng.choice(n, subsample, replace=False) for _ in range(trials)]
    total = 0.0
    for rows in subsets:
        idx = torch.from_numpy(rows).to(Xt.device)
        A, B = _normalised_distances(Xt[idx]), _normalised_distances(Yt[idx])
        total += 0.5 * (_length(_barcode(A, B)) + _length(_barcode(B, A)))
    return total / len(subsets)


def _normalised_distances(Z: torch.Tensor) -> np.ndarray:
    D = torch.cdist(Z.detach().to(torch.float64), Z.detach().to(torch.float64)).cpu().numpy()
    D = 0.5 * (D + D.T)
    np.fill_diagonal(D, 0.0)
    scale = np.quantile(D, 0.9)
    if scale == 0:
        raise ValueError("X: most samples coincide (the 0.9-quantile of the distances is 0), so RTD's "
                         "normalisation is undefined")
    return D / scale


def _barcode(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    ripser = require("ripser", "RTD's persistence barcodes")
    n = A.shape[0]
    W = np.zeros((2 * n, 2 * n))
    W[n:, :n] = A
    W[:n, n:] = A.T
    W[n:, n:] = np.minimum(A, B)
    W[W < 1e-6 * A.mean()] = 0.0
    bars = ripser.ripser(W, maxdim=1, distance_matrix=True)["dgms"][1]
    return bars[bars[:, 1] > bars[:, 0]].reshape(-1, 2)


def _length(bars: np.ndarray) -> float:
    return float((bars[:, 1] - bars[:, 0]).sum())
