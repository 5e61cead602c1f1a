"""Plumbing shared by the alignment metrics: paired input checks and self-term guards.

Every metric validates its two representations here (2-D, finite, same ``n``,
enough samples, not constant), so every error names ``X`` or ``Y``.

The HSIC formula itself (:func:`latentalign.moments.hsic_from_sums`), column sums
and centring are the core's.
"""

from __future__ import annotations

import torch

from .._validate import as_matrix, check_paired, check_scale, rescale_extreme
from ..kernels import as_output  # numpy in -> float, torch in -> 0-d tensor

__all__ = ["paired", "as_output", "safe_sqrt", "check_self_term", "zero_diagonal"]


def paired(X, Y, *, unbiased: bool = False, min_samples: int = 2, allow_constant: bool = False,
           names: tuple[str, str] = ("X", "Y"), scale_free: bool = False):
    """Validate a pair of representations ``(n, d1)``, ``(n, d2)``; return float64 tensors.

    ``unbiased`` raises the sample floor to 4 (the unbiased HSIC needs ``n >= 4``).
    A constant input (every row identical) is rejected unless ``allow_constant``.
    ``scale_free=True`` (a measure invariant to rescaling each input) returns an input of extreme
    magnitude rescaled by a power of two to ``max|x|`` in [0.5, 1) (:func:`~latentalign._validate.rescale_extreme`);
    otherwise magnitudes whose squares overflow or underflow are refused
    (:func:`~latentalign._validate.check_scale`).
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
    if scale_free:
        return rescale_extreme(Xt), rescale_extreme(Yt)
    return check_scale(Xt, names[0]), check_scale(Yt, names[1])


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
