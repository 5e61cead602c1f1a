"""Plumbing shared by the alignment metrics: paired input checks and the HSIC formula.

Every metric validates its two representations here (2-D, finite, same ``n``,
enough samples, not constant), so every error names ``X`` or ``Y``.

``hsic_from_sums`` assembles HSIC from the four Gram sums of
``../shared/specs/align.md`` §2 (``sum K*L``, ``sum K``, ``sum L``,
``r_K . r_L``); the permutation tests and the streaming metrics feed it the same
sums computed other ways (batched, or from mergeable moments).
"""

from __future__ import annotations

import torch

from .._validate import as_matrix, check_paired
from ..kernels import _like as as_output  # numpy in -> float, torch in -> 0-d tensor

__all__ = ["paired", "as_output", "hsic_from_sums", "safe_sqrt", "check_self_term", "centered",
           "zero_diagonal", "column_sums"]


def paired(X, Y, *, unbiased: bool = False, min_samples: int = 2, allow_constant: bool = False,
           names: tuple[str, str] = ("X", "Y")):
    """Validate a pair of representations ``(n, d1)``, ``(n, d2)``; return float64 tensors.

    ``unbiased`` raises the sample floor to 4 (the unbiased HSIC needs ``n >= 4``).
    A constant input (every row identical) is rejected unless ``allow_constant``.
    """
    Xt = as_matrix(X, names[0])
    Yt = as_matrix(Y, names[1])
    n = check_paired(Xt, Yt, names)
    if not allow_constant:
        for t, name in ((Xt, names[0]), (Yt, names[1])):
            if n > 1 and torch.equal(t.detach(), t.detach()[:1].expand_as(t)):  # every row equals the first
                raise ValueError(f"{name}: every sample is identical (zero variance); nothing to compare")
    floor = max(min_samples, 4 if unbiased else 1)
    if n < floor:
        why = "the unbiased estimator needs" if unbiased and floor == 4 else "needs"
        raise ValueError(f"{names[0]}: {why} at least {floor} samples, got {n}")
    return Xt, Yt


def column_sums(X: torch.Tensor) -> torch.Tensor:
    """``X^T 1`` as a matrix-vector product (a BLAS gemv; ``X.sum(0)`` is ~20x slower on CPU)."""
    return torch.ones(X.shape[0], dtype=X.dtype, device=X.device) @ X


def centered(X: torch.Tensor) -> torch.Tensor:
    """Columns minus their mean."""
    return X - column_sums(X) / X.shape[0]


def hsic_from_sums(kl, k_sum, l_sum, cross, n: int, unbiased: bool):
    """HSIC from Gram sums (tensors broadcast, so a batch of permutations works).

    ``kl = sum K*L`` (diagonals zeroed when unbiased), ``k_sum = 1^T K 1``,
    ``l_sum = 1^T L 1``, ``cross = (K1).(L1)``::

        biased:   [kl - (2/n) cross + k_sum l_sum / n^2] / (n-1)^2
        unbiased: [kl + k_sum l_sum / ((n-1)(n-2)) - 2 cross / (n-2)] / (n (n-3))
    """
    if unbiased:
        return (kl + k_sum * l_sum / ((n - 1) * (n - 2)) - 2.0 * cross / (n - 2)) / (n * (n - 3))
    return (kl - 2.0 / n * cross + k_sum * l_sum / n**2) / (n - 1) ** 2


def zero_diagonal(M: torch.Tensor) -> torch.Tensor:
    """``M`` with its diagonal set to exactly 0 (differentiable, not in place)."""
    return M - torch.diag_embed(torch.diagonal(M))


def safe_sqrt(t: torch.Tensor) -> torch.Tensor:
    """``sqrt(t)`` for ``t >= 0`` whose gradient at 0 is 0 instead of NaN (distances on a diagonal)."""
    pos = t > 0
    return torch.where(pos, torch.where(pos, t, torch.ones_like(t)).sqrt(), torch.zeros_like(t))


def check_self_term(value: torch.Tensor, name: str, what: str = "HSIC") -> None:
    """A normalising self-term must be positive: raise naming ``name`` otherwise (never NaN)."""
    v = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
    if v == 0:
        raise ValueError(f"{name}: self-{what} is 0: the representation is constant (every sample identical), "
                         "so the normalised score is undefined")
    if not v > 0:
        raise ValueError(
            f"{name}: self-{what} is {v:.3g} <= 0, so the normalised score is undefined "
            "(a near-constant representation, or too few samples for the unbiased estimator)"
        )
