"""What the KSM study's experiments share: the tiling setting, one fit, the ring data, the relative error."""

from __future__ import annotations

import numpy as np

from ..data.synthetic import ring
from ..ksm import KernelSimilarityMatching

TILING = {"kernel": "linear", "nonneg": True, "n_components": 16, "budget": "ball", "budget_radius": 1.0}


def fit(X, **params) -> KernelSimilarityMatching:
    """A fitted :class:`KernelSimilarityMatching` with ``params``."""
    return KernelSimilarityMatching(**params).fit(X)


def ring_data(config, seed, *, return_basis=False):
    """The study's ring (300 points in 10 dimensions, times ``size_scale``)."""
    n = max(40, int(round(300 * config["size_scale"])))
    return ring(n=n, dim=10, seed=seed, return_basis=return_basis)


def rel_error(X, X_hat, mean) -> float:
    """``||X - X_hat|| / ||X - mean||``."""
    return float(np.linalg.norm(X - X_hat) / np.linalg.norm(X - mean))


class RingFits:
    """Fits on the study's ring, memoised by data seed and the estimator's full parameters.

    Experiments that need the same fit share one: the manifolds' ring is the ablation's default,
    the online network's Gaussian reference and the budget's unbudgeted one; the tiling fit is
    the online network's linear reference and the budget's unit ball. ``max_iter`` defaults to
    the config's and ``random_state`` to the data seed.
    """

    def __init__(self, config):
        self.config, self._fits = config, {}

    def __call__(self, seed, **params) -> KernelSimilarityMatching:
        est = KernelSimilarityMatching(**{"max_iter": self.config["max_iter"], "random_state": seed, **params})
        key = (seed, tuple(sorted(est.get_params().items())))
        if key not in self._fits:
            self._fits[key] = est.fit(ring_data(self.config, seed).X)
        return self._fits[key]
