r"""Geometry helpers for the KSM study (``specs/ksm.md`` §9-§10).

* Distance to the true manifold of :func:`latentalign.data.synthetic.ring`, ``torus``
  and ``swiss_roll`` given their basis ``Q`` (``return_basis=True``): the point is
  split into its coordinates in the manifold's subspace, ``y = x Q``, and the
  off-subspace remainder ``x - y Q^T``; then

  - ring: ``sqrt((||y|| - 1)^2 + ||off||^2)`` (unit circle),
  - torus: ``sqrt((||y_12|| - r)^2 + (||y_34|| - r)^2 + ||off||^2)``, ``r = 1/sqrt 2``,
  - swiss roll: in-plane distance to the spiral ``(t cos t, t sin t)/10``,
    ``t in [1.5 pi, 4.5 pi]`` (a 2000-point curve), the height's distance to
    ``[0, 2.1]``, and the off-subspace norm, combined in quadrature.

* Circular statistics: circular correlation
  ``max(|mean e^{i(phi - theta)}|, |mean e^{i(phi + theta)}|)``; a non-negative
  unit's circular variance ``1 - |sum_i z_i e^{i theta_i}| / sum_i z_i``; the
  population-vector angle ``arg sum_k z_k e^{i theta^_k}`` with ``theta^_k`` a unit's
  preferred angle.

(General helpers: the manifold distances belong next to the generators in
``data.synthetic`` and could move there.)

Example
-------
>>> import numpy as np
>>> Q = np.eye(3)[:, :2]
>>> ring_distance(np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.5]]), Q).tolist()
[1.0, 0.5]
>>> round(circular_correlation(np.array([0.1, 1.0, 2.0]), np.array([0.1, 1.0, 2.0])), 12)
1.0
"""

from __future__ import annotations

import numpy as np

SWISS_T = (1.5 * np.pi, 4.5 * np.pi)
SWISS_HEIGHT = 2.1  # h in [0, 21], scaled by 1/10
CURVE_POINTS = 2000


def _split(X, Q):
    X = np.asarray(X, dtype=np.float64)
    Y = X @ Q
    off = X - Y @ Q.T
    return Y, (off * off).sum(1)


def ring_distance(X, Q) -> np.ndarray:
    """Distance of each row of ``X`` to the unit circle spanned by the columns of ``Q`` (dim x 2)."""
    Y, off2 = _split(X, Q)
    return np.sqrt((np.sqrt((Y * Y).sum(1)) - 1.0) ** 2 + off2)


def torus_distance(X, Q) -> np.ndarray:
    """Distance to the flat torus ``(cos t1, sin t1, cos t2, sin t2) Q^T / sqrt 2``."""
    Y, off2 = _split(X, Q)
    r = 1.0 / np.sqrt(2.0)
    d1 = np.sqrt((Y[:, :2] ** 2).sum(1)) - r
    d2 = np.sqrt((Y[:, 2:] ** 2).sum(1)) - r
    return np.sqrt(d1 * d1 + d2 * d2 + off2)


def swiss_roll_distance(X, Q, *, curve_points: int = CURVE_POINTS) -> np.ndarray:
    """Distance to the swiss roll ``(t cos t, h, t sin t) Q^T / 10`` (spiral sampled at ``curve_points``)."""
    Y, off2 = _split(X, Q)
    t = np.linspace(*SWISS_T, curve_points)
    curve = np.column_stack([t * np.cos(t), t * np.sin(t)]) / 10.0
    plane = Y[:, [0, 2]]
    d2 = (plane * plane).sum(1)[:, None] - 2.0 * plane @ curve.T + (curve * curve).sum(1)[None]
    height = Y[:, 1] - np.clip(Y[:, 1], 0.0, SWISS_HEIGHT)
    return np.sqrt(np.clip(d2.min(1), 0.0, None) + height * height + off2)


MANIFOLD_DISTANCE = {"ring": ring_distance, "torus": torus_distance, "swiss_roll": swiss_roll_distance}


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
