r"""Circular statistics of the KSM study (``docs/ksm.md#eq-circular-correlation``); the distances to the
true manifolds are :data:`latentalign.data.synthetic.MANIFOLD_DISTANCE`.

* Circular correlation
  ``max(|mean e^{i(phi - theta)}|, |mean e^{i(phi + theta)}|)``; a non-negative
  unit's circular variance ``1 - |sum_i z_i e^{i theta_i}| / sum_i z_i``; the
  population-vector angle ``arg sum_k z_k e^{i theta^_k}`` with ``theta^_k`` a unit's
  preferred angle.

Examples
--------
>>> import numpy as np
>>> round(circular_correlation(np.array([0.1, 1.0, 2.0]), np.array([0.1, 1.0, 2.0])), 12)
1.0
"""

from __future__ import annotations

import numpy as np


def circular_correlation(phi, theta) -> float:
    """Agreement of two angle sets up to rotation and reflection (1 = identical)."""
    phi, theta = np.asarray(phi, dtype=np.float64), np.asarray(theta, dtype=np.float64)
    return float(max(abs(np.mean(np.exp(1j * (phi - theta)))), abs(np.mean(np.exp(1j * (phi + theta))))))


def preferred_angles(Z, theta) -> np.ndarray:
    """Each unit's preferred angle ``arg sum_i z_ik e^{i theta_i}``."""
    return np.angle((np.asarray(Z) * np.exp(1j * np.asarray(theta))[:, None]).sum(0))


def circular_variance(Z, theta) -> np.ndarray:
    """Per-unit circular variance of non-negative tuning curves (0 = a spike, 1 = untuned); NaN for silent units."""
    Z = np.asarray(Z, dtype=np.float64)
    mass = Z.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 0, 1.0 - np.abs((Z * np.exp(1j * np.asarray(theta))[:, None]).sum(0)) / mass,
                        np.nan)


def population_vector_angle(Z, preferred) -> np.ndarray:
    """Decoded angle ``arg sum_k z_k e^{i theta^_k}`` of each row."""
    return np.angle((np.asarray(Z) * np.exp(1j * np.asarray(preferred))[None]).sum(1))
