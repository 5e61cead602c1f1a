r"""The latent prior ``r(z) = alpha ||z||_1 + (beta/2) ||z||^2 + iota_C(z)`` and its prox.

The math: ``docs/ksm.md#eq-ksm-prior``.

``prox(v; rho)`` row by row: (1) soft-threshold at ``alpha/rho`` (``max(v - alpha/rho, 0)``
if ``nonneg``); (2) divide by ``1 + beta/rho``; (3) project onto the budget set ``C``:

* ``"ball"``   ``||z||_2 <= c`` (rescale),
* ``"sphere"`` ``||z||_2 = c`` (``c s/||s||``; ``c e_1`` for ``s = 0``; a heuristic, the set is not convex),
* ``"l1"``     ``||z||_1 <= c`` (sort-based projection, Duchi et al. 2008),
* ``"total"``  ``||Z||_F <= c sqrt(N)`` over the whole batch (global rescale),
* ``None``     no constraint.

The functions work on numpy arrays and torch tensors alike (the online network
runs on numpy for speed); ``threshold`` and ``l2`` may be per-row columns.

Examples
--------
>>> import numpy as np
>>> prox_latent(np.array([[3.0, -1.0, 0.5]]), threshold=1.0).tolist()
[[2.0, 0.0, 0.0]]
>>> prox_latent(np.array([[0.6, 0.8]]), budget="l1", radius=1.0).round(12).tolist()
[[0.4, 0.6]]
"""

from __future__ import annotations

import numpy as np
import torch

from .._validate import check_choice, check_nonnegative, check_positive
from ._arrays import as_float64, restore

BUDGETS = ("ball", "sphere", "l1", "total", None)


def prox_rows(V, threshold=0.0, l2=0.0, nonneg: bool = False, budget: str | None = None, radius: float = 1.0):
    """Unchecked prox of a 2-D numpy array or torch tensor (see module doc)."""
    if nonneg:
        S = (V - threshold).clip(min=0.0)
    else:
        S = V - V.clip(-threshold, threshold) if _any(threshold) else V
    if _any(l2):
        S = S / (1.0 + l2)
    return project(S, budget, radius)


def project(S, budget: str | None, radius: float):
    """Euclidean projection of each row (``"total"``: of the whole matrix) onto the budget set."""
    if budget is None:
        return S
    if budget == "total":
        norm = float((S * S).sum()) ** 0.5
        limit = radius * S.shape[0] ** 0.5
        return S * (limit / norm) if norm > limit else S
    if budget == "l1":
        return _project_l1(S, radius)
    norms = (S * S).sum(axis=1, keepdims=True) ** 0.5
    if budget == "ball":
        return S * (radius / norms.clip(min=radius))
    out = S * (radius / norms.clip(min=1e-300))
    zero = norms[:, 0] == 0
    if bool(zero.any()):
        out[zero] = 0.0
        out[zero, 0] = radius
    return out


def penalty(Z, alpha: float, l2: float):
    """Per-row ``alpha ||z||_1 + (l2/2) ||z||^2`` (the budget indicator is 0 on feasible rows)."""
    return alpha * abs(Z).sum(axis=1) + 0.5 * l2 * (Z * Z).sum(axis=1)


def prox_latent(V, *, threshold: float = 0.0, l2: float = 0.0, nonneg: bool = False, budget=None, radius: float = 1.0):
    """Validated prox of ``r`` at ``rho = 1``: ``threshold = alpha/rho``, ``l2 = beta/rho``.

    ``V`` is ``(N, m)`` numpy or torch; the result has the same kind and dtype and
    meets the budget to rounding (``1e-12``).
    """
    Vt, like = as_float64(V, "V")
    threshold = check_nonnegative(threshold, "threshold")
    l2 = check_nonnegative(l2, "l2")
    check_budget(budget)
    radius = check_positive(radius, "radius")
    return restore(prox_rows(Vt, threshold, l2, bool(nonneg), budget, radius), like)


def check_budget(budget):
    """``budget`` is one of :data:`BUDGETS` (None included)."""
    return check_choice(budget, "budget", BUDGETS)


def _any(value) -> bool:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return bool((value != 0).any())
    return value != 0


def _project_l1(S, radius: float):
    A = abs(S)
    over = A.sum(axis=1) > radius
    if not bool(over.any()):
        return S
    if isinstance(S, torch.Tensor):
        U = torch.sort(A[over], dim=1, descending=True).values
        j = torch.arange(1, U.shape[1] + 1, dtype=U.dtype, device=U.device)
    else:
        U = -np.sort(-A[over], axis=1)
        j = np.arange(1, U.shape[1] + 1, dtype=U.dtype)
    css = U.cumsum(1) - radius
    count = (U - css / j > 0).sum(1, keepdims=True)  # rho: the last index with u_j > (css_j - c)/j
    theta = _take(css, count - 1) / count
    out = S.clone() if isinstance(S, torch.Tensor) else S.copy()
    out[over] = S[over] - S[over].clip(-theta, theta)
    return out


def _take(M, idx):
    if isinstance(M, torch.Tensor):
        return torch.gather(M, 1, idx)
    return np.take_along_axis(M, idx, axis=1)


class Prior:
    """The prior's parameters; ``prox(V, step)`` is the prox of ``step * r`` (``step = 1/rho``)."""

    def __init__(self, alpha: float = 0.0, l2: float = 0.0, nonneg: bool = False, budget=None, radius: float = 1.0):
        self.alpha, self.l2, self.nonneg, self.budget, self.radius = alpha, l2, nonneg, budget, radius

    def prox(self, V, step=1.0):
        """The prox of ``step * r`` applied to each row of ``V``."""
        return prox_rows(V, step * self.alpha, step * self.l2, self.nonneg, self.budget, self.radius)

    def penalty(self, Z):
        """``r(z)`` summed over the rows of ``Z``."""
        return penalty(Z, self.alpha, self.l2)

    def clamp(self, Z):
        """Only the hard constraints: non-negativity, then the budget projection."""
        return project(Z.clip(min=0.0) if self.nonneg else Z, self.budget, self.radius)
