r"""Tilts (score functions) and the temperature every contrastive loss owns.

A contrastive model is an exponential tilting of the product of marginals,
``nu(du, dv) = exp(s(u, v)) mu_u(du) mu_v(dv) / Z`` (``docs/contrastive.md#eq-tilt``).
One function, :func:`scores`, gives ``S[i, k] = s(u_i, v_k)`` for every loss,
retrieval metric and sampler. With scale ``c = 1 / tau``:

* ``"cosine"`` (default): ``s = c <g_u / max(|g_u|, 1e-8), g_v / max(|g_v|, 1e-8)>``;
* ``"inner"``: ``s = c <g_u, g_v>`` (the Gaussian theory);
* ``"l2"``: ``s = -(c / 2) |g_u - g_v|^2 = c (<a, b> - |a|^2 / 2 - |b|^2 / 2)``.

Examples
--------
>>> import torch
>>> a, b = torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0], [0.0, 2.0]])
>>> scores(a, b, "cosine", 2.0).tolist(), scores(a, b, "inner").tolist(), scores(a, b, "l2").tolist()
([[1.2000000476837158, 1.600000023841858]], [[3.0, 8.0]], [[-10.0, -6.5]])
>>> round(Temperature()().item(), 4)  # learnable, initialised at 1 / 0.07
14.2857
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validate import as_matrix, check_choice, check_paired, check_positive, check_squares, unit_scale

__all__ = ["TILTS", "scores", "check_embeddings", "check_tilt_range", "Temperature"]

TILTS = ("cosine", "inner", "l2")
NORM_FLOOR = 1e-8
INIT_SCALE = 1.0 / 0.07
MAX_SCALE = 100.0


def check_embeddings(z_u, z_v, *, paired: bool = True, min_samples: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate two embedding batches ``(n_u, e)``, ``(n_v, e)``: 2-D, finite, same ``e`` and dtype.

    ``paired=True`` also requires ``n_u == n_v`` (the error names ``z_v``) and at
    least ``min_samples`` rows. Floating dtypes and autograd are kept.
    """
    z_u = as_matrix(z_u, "z_u", min_samples=min_samples, dtype=None)
    z_v = as_matrix(z_v, "z_v", min_samples=min_samples, dtype=None)
    if paired:
        check_paired(z_u, z_v, ("z_u", "z_v"))
    if z_u.shape[1] != z_v.shape[1]:
        raise ValueError(f"z_v: expected the embedding width of z_u ({z_u.shape[1]}), got {z_v.shape[1]}")
    if z_u.dtype != z_v.dtype:
        raise ValueError(f"z_v: dtype {z_v.dtype} differs from z_u's {z_u.dtype}; cast one of them")
    if z_u.device != z_v.device:
        raise ValueError(f"z_v: on {z_v.device}, z_u on {z_u.device}; move them to one device")
    return z_u, z_v


def scores(z_u, z_v, tilt: str = "cosine", scale=1.0) -> torch.Tensor:
    """``S[i, k] = s(u_i, v_k)``, shape ``(n_u, n_v)``, for ``tilt`` and scale ``c = 1 / tau``.

    ``z_u (n_u, e)`` and ``z_v (n_v, e)`` are numpy arrays or tensors (autograd kept);
    ``scale`` is a positive number or a 0-d tensor (e.g. a learnable temperature's output).

    Parameters
    ----------
    z_u : array-like of shape (n_u, e)
        Embeddings of the ``u`` side (autograd kept for tensors).
    z_v : array-like of shape (n_v, e)
        Embeddings of the ``v`` side.
    tilt : {"cosine", "inner", "l2"}, default "cosine"
        ``c cos(u, v)``, ``c u.v`` or ``-c ||u - v||^2 / 2``.
    scale : float or torch.Tensor, default 1.0
        ``c = 1 / tau``: a positive number or a 0-d tensor (e.g. a :class:`Temperature`'s output).

    Returns
    -------
    torch.Tensor of shape (n_u, n_v)
        The score matrix.

    Examples
    --------
    >>> scores([[1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]], tilt="inner", scale=2.0).tolist()
    [[2.0, 0.0]]
    """
    check_choice(tilt, "tilt", TILTS)
    z_u, z_v = check_embeddings(z_u, z_v, paired=False, min_samples=1)
    if not isinstance(scale, torch.Tensor):
        scale = check_positive(scale, "scale")
    check_tilt_range(z_u, z_v, tilt)
    return tilted_scores(z_u, z_v, tilt, scale)


def check_tilt_range(z_u: torch.Tensor, z_v: torch.Tensor, tilt: str) -> None:
    """The cosine tilt is scale-invariant (:func:`tilted_scores` rescales exactly); the inner and l2
    tilts are not, so embeddings whose squares overflow their dtype are refused, naming the batch.
    """
    if tilt != "cosine":
        for name, z in (("z_u", z_u), ("z_v", z_v)):
            check_squares(z, name, f"the {tilt} tilt's scores")


def tilted_scores(z_u: torch.Tensor, z_v: torch.Tensor, tilt: str, scale) -> torch.Tensor:
    """:func:`scores` without input checks (for callers that validated once).

    The cosine tilt first rescales each batch by a power of two (:func:`~latentalign._validate.unit_scale`,
    exact), so norms neither overflow nor underflow: its scores are the same for ``c z`` and ``z``.
    """
    if tilt == "cosine":
        z_u, z_v = unit_scale(z_u), unit_scale(z_v)
        z_u = z_u / z_u.norm(dim=1, keepdim=True).clamp_min(NORM_FLOOR)
        z_v = z_v / z_v.norm(dim=1, keepdim=True).clamp_min(NORM_FLOOR)
    S = (scale * z_u) @ z_v.T  # scaling the (n, e) factor, not the (n, n) product
    if tilt == "l2":
        half = 0.5 * scale
        S = S - half * (z_u * z_u).sum(1, keepdim=True) - half * (z_v * z_v).sum(1).unsqueeze(0)
    return S


class Temperature(nn.Module):
    r"""The scale ``c = 1 / tau`` of a tilt, fixed or learnable (log-parameterised).

    ``temperature=None`` (default): learnable ``t = log c`` initialised at
    ``log(init_scale)`` (``log(1 / 0.07) = 2.659260``); ``forward`` returns
    ``exp(min(t, log max_scale))`` and :meth:`clamp_` (called by the trainer after
    every optimiser step) keeps ``t`` in ``[0, log max_scale]``. A number
    ``temperature = tau > 0`` fixes ``c = 1 / tau`` (a buffer, never clamped).

    Parameters
    ----------
    temperature : float, optional
        ``tau > 0`` fixes ``c = 1 / tau``; ``None`` makes ``log c`` learnable.
    init_scale : float, default 1/0.07
        The learnable scale's start.
    max_scale : float, default 100
        The learnable scale's clamp.

    Examples
    --------
    >>> Temperature(0.5)().item(), Temperature(0.5).learnable
    (2.0, False)
    """

    def __init__(self, temperature: float | None = None, *, init_scale: float = INIT_SCALE,
                 max_scale: float = MAX_SCALE):
        super().__init__()
        self.max_scale = check_positive(max_scale, "max_scale")
        if max_scale < 1:
            raise ValueError(f"max_scale: must be >= 1 (the clamp range is [0, log max_scale]), got {max_scale}")
        self.learnable = temperature is None
        if self.learnable:
            init_scale = check_positive(init_scale, "init_scale")
            self.log_scale = nn.Parameter(torch.tensor(math.log(init_scale)))
        else:
            tau = check_positive(temperature, "temperature")
            self.register_buffer("log_scale", torch.tensor(-math.log(tau), dtype=torch.float64))

    def forward(self) -> torch.Tensor:
        """The current scale.

        Returns
        -------
        torch.Tensor
            0-d: ``c = 1 / tau`` (a learnable one clamped to ``max_scale``).
        """
        if self.learnable:
            return self.log_scale.clamp(max=math.log(self.max_scale)).exp()
        return self.log_scale.exp()

    @torch.no_grad()
    def clamp_(self) -> None:
        """Clamp a learnable ``t = log c`` to ``[0, log max_scale]`` in place (no-op when fixed)."""
        if self.learnable:
            self.log_scale.clamp_(0.0, math.log(self.max_scale))

    def extra_repr(self) -> str:
        """Learnable or fixed, the current scale and its clamp, shown by ``repr``."""
        kind = "learnable" if self.learnable else "fixed"
        return f"{kind}, scale={float(self.forward()):.4g}, max_scale={self.max_scale:g}"


def as_temperature(temperature, *, init_scale: float = INIT_SCALE, max_scale: float = MAX_SCALE) -> Temperature:
    """``temperature`` as a :class:`Temperature`: an instance is used as is, ``None`` is learnable, a number fixed."""
    if isinstance(temperature, Temperature):
        return temperature
    if isinstance(temperature, torch.Tensor):
        raise TypeError("temperature: expected a number, None (learnable) or a Temperature, got a tensor")
    return Temperature(temperature, init_scale=init_scale, max_scale=max_scale)
