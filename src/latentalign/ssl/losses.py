r"""Deep SSL objectives as ``nn.Module`` losses; their terms are plain functions too.

Joint embedding (predict in latent space):

* :class:`VICRegLoss` (Bardes et al. 2022): ``inv_weight·invariance_loss(z1, z2) +
  var_weight·(variance_loss(z1) + variance_loss(z2))/2 + cov_weight·(covariance_loss(z1) + covariance_loss(z2))``
  with ``invariance_loss = mean((z1 − z2)²)`` over ``B·D`` entries,
  ``variance_loss(z) = mean_j relu(γ − √(Var_j z + eps))`` (unbiased variance) and
  ``covariance_loss(z) = Σ_{i≠j} C_ij² / D`` (``C`` the unbiased covariance). Variance-term
  convention: the two views' terms are *averaged* (``var_reduction="mean"``, as
  facebookresearch/vicreg and lightly); solo-learn *sums* them (``"sum"``).
  Statistics are computed in float32 (or float64 if given) with autocast off.
* :class:`NTXentLoss` (SimCLR): L2-normalise the ``2B`` embeddings, similarities
  ``/ t`` with the diagonal masked, cross-entropy against the partner view
  (``2B − 2`` negatives per row), mean over the ``2B`` rows.
* :class:`BYOLLoss`: ``2 − 2 cos(p, sg(z'))`` in both directions, averaged, batch mean;
  :class:`EMA` moves the target network with the cosine momentum schedule
  ``m_t = 1 − (1 − m_0)(cos(πt/T) + 1)/2``; :func:`byol_predictor` is ``k → 4k → k``.

Reconstruction (predict in input space):

* :class:`DenoisingLoss`: ``mean_i ‖x̂_i − x_i‖²`` (target: the un-augmented input).
* :class:`MaskedReconstructionLoss`: MSE over the hidden units of
  :func:`~latentalign.ssl.augment.random_mask` only; ``norm_target`` standardises each
  target patch (as MAE's normalised-pixel target).

:class:`LinearJELoss` is Thm 3.2's penalised objective for gradient tests.

Every loss takes ``(B, D)`` (or image) batches, raises ``ValueError`` for mismatched
shapes or ``B < 2`` where statistics need it, and with ``return_terms=True`` returns a
dict of its named terms with the total under ``"loss"``. ``gather`` (VICReg, NT-Xent):
``"auto"`` (default) and ``True`` compute the batch statistics on the batch of every rank
(:func:`~latentalign.train.distributed.gather_with_grad`, gradients flow back to each rank)
when ``torch.distributed`` runs with more than one process; a no-op at world size 1.

The example is :class:`VICRegLoss`'s.
"""

from __future__ import annotations

import copy
import math
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from .._deprecate import renamed_kwargs, renamed_objects
from .._validate import (
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_squares,
    finite_peak,
    unit_scale,
)
from ..train.distributed import check_gather, gather_with_grad, world
from .augment import random_mask

__all__ = [
    "invariance_loss",
    "variance_loss",
    "covariance_loss",
    "VICRegLoss",
    "nt_xent_loss",
    "NTXentLoss",
    "byol_loss",
    "BYOLLoss",
    "EMA",
    "byol_predictor",
    "DenoisingLoss",
    "masked_reconstruction_loss",
    "MaskedReconstructionLoss",
    "LinearJELoss",
]

__getattr__ = renamed_objects(__name__, {  # the names before the glossary (deprecated, removed in 0.3)
    "invariance": "invariance_loss", "variance": "variance_loss", "covariance": "covariance_loss",
    "nt_xent": "nt_xent_loss", "byol_term": "byol_loss", "masked_mse": "masked_reconstruction_loss",
})

VAR_REDUCTIONS = ("mean", "sum")


# ------------------------------------------------------------------ checks and helpers
def _pair(z1: torch.Tensor, z2: torch.Tensor, names=("z1", "z2"), *, min_batch: int = 2,
          squares: str | None = None) -> tuple[float, float]:
    """Check two ``(B, D)`` batches; one ``max |z|`` reduction each refuses NaN/Inf (and, for a loss of
    ``squares``, values whose squares overflow). Returns the two peaks.
    """
    _check_shapes(z1, z2, names, min_batch)
    return tuple(finite_peak(z, name) if squares is None else check_squares(_stats_dtype(z), name, squares)
                 for name, z in zip(names, (z1, z2)))


def _check_shapes(z1: torch.Tensor, z2: torch.Tensor, names=("z1", "z2"), min_batch: int = 1) -> None:
    for name, z in zip(names, (z1, z2)):
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(z).__name__}")
        if z.ndim != 2:
            raise ValueError(f"{name}: expected a (batch, dim) tensor, got shape {tuple(z.shape)}")
        if z.shape[0] < min_batch:
            raise ValueError(f"{name}: needs a batch of at least {min_batch} samples, got {z.shape[0]}")
    if z1.shape != z2.shape:
        raise ValueError(f"{names[1]}: expected the shape of {names[0]} {tuple(z1.shape)}, got {tuple(z2.shape)}")


def _directions(z: torch.Tensor, name: str, peak: float) -> torch.Tensor:
    """``z`` rescaled exactly by a power of two (cosines are scale-invariant; norms then neither
    overflow nor underflow); a batch of zero rows has no direction and is refused.
    """
    if peak == 0.0:
        raise ValueError(f"{name}: every row is zero; its cosine similarities are undefined")
    return unit_scale(z)


def _stats_dtype(z: torch.Tensor) -> torch.Tensor:
    """float32 for half precisions (statistics never in fp16/bf16); float64 kept."""
    return z if z.dtype == torch.float64 else z.float()


def _no_autocast(z: torch.Tensor):
    return torch.autocast(z.device.type, enabled=False) if torch.is_autocast_enabled(z.device.type) else nullcontext()


# ------------------------------------------------------------------ VICReg
def invariance_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """``mean((z1 − z2)²)`` over all ``B·D`` entries."""
    _pair(z1, z2, min_batch=1, squares="the invariance term")
    return F.mse_loss(z1, z2)


def variance_loss(z: torch.Tensor, gamma: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """``mean_j relu(γ − √(Var_j z + eps))``, ``Var`` unbiased over the batch (``B >= 2``)."""
    _pair(z, z, ("z", "z"), squares="the variance term")
    return _variance(z, check_positive(gamma, "gamma"), check_positive(eps, "eps"))


def covariance_loss(z: torch.Tensor) -> torch.Tensor:
    """``Σ_{i≠j} C_ij² / D`` with ``C = (z − z̄)ᵀ(z − z̄)/(B − 1)``."""
    _pair(z, z, ("z", "z"), squares="the covariance term")
    return _covariance(z)


def _variance(z: torch.Tensor, gamma: float, eps: float) -> torch.Tensor:
    std = torch.sqrt(z.var(dim=0) + eps)
    return F.relu(gamma - std).mean()


def _covariance(z: torch.Tensor) -> torch.Tensor:
    zc = z - z.mean(dim=0)
    C = zc.T @ zc / (z.shape[0] - 1)
    off = C - torch.diag(torch.diagonal(C))
    return (off**2).sum() / z.shape[1]


class VICRegLoss(nn.Module):
    """VICReg: invariance + variance + covariance (defaults 25 / 25 / 1, ``γ = 1``, ``eps = 1e-4``).

    ``var_reduction="mean"`` averages the two views' variance terms (vicreg, lightly);
    ``"sum"`` adds them (solo-learn). ``forward(z1, z2, return_terms=False)``.

    Parameters
    ----------
    inv_weight, var_weight, cov_weight : float, default 25, 25, 1
        The terms' weights.
    gamma : float, default 1.0
        The target standard deviation of the variance term.
    eps : float, default 1e-4
        Added to the variance under the square root.
    var_reduction : {"mean", "sum"}, default "mean"
        Average or add the two views' variance terms.
    gather : bool or "auto", default "auto"
        Batch statistics over every rank's rows under ``torch.distributed`` (``"auto"``: when running).

    Examples
    --------
    >>> import torch
    >>> z1 = torch.tensor([[1., 2.], [3., 0.], [-1., 1.], [1., 1.]])
    >>> z2 = torch.tensor([[0., 2.], [3., 1.], [-1., 0.], [2., 1.]])
    >>> round(VICRegLoss()(z1, z2).item(), 4)
    15.3486
    >>> round(NTXentLoss(0.5)(torch.eye(2), torch.eye(2)).item(), 7)
    0.2395448
    """

    kind = "joint_embedding"

    @renamed_kwargs(gather_distributed="gather")
    def __init__(self, inv_weight: float = 25.0, var_weight: float = 25.0, cov_weight: float = 1.0,
                 gamma: float = 1.0, eps: float = 1e-4, var_reduction: str = "mean", gather="auto"):
        super().__init__()
        self.inv_weight = check_nonnegative(inv_weight, "inv_weight")
        self.var_weight = check_nonnegative(var_weight, "var_weight")
        self.cov_weight = check_nonnegative(cov_weight, "cov_weight")
        self.gamma = check_positive(gamma, "gamma")
        self.eps = check_positive(eps, "eps")
        self.var_reduction = check_choice(var_reduction, "var_reduction", VAR_REDUCTIONS)
        self.gather = check_gather(gather)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, return_terms: bool = False):
        """VICReg loss of two views' embeddings.

        Parameters
        ----------
        z1, z2 : torch.Tensor of shape (B, D)
            The embeddings of the two views (statistics over every rank's rows when gathering).
        return_terms : bool, default False
            Return a dict of the named terms and ``"loss"`` instead of the loss alone.

        Returns
        -------
        torch.Tensor or dict
            The 0-d loss, or with ``return_terms`` the dict ``{"loss", "invariance", "variance", "covariance"}``.
        """
        _pair(z1, z2, squares="VICReg's squared terms")
        with _no_autocast(z1):
            z1, z2 = _stats_dtype(z1), _stats_dtype(z2)
            inv = F.mse_loss(z1, z2)
            if world(self.gather)[1] > 1:
                z1, z2 = gather_with_grad(z1), gather_with_grad(z2)
            v1, v2 = _variance(z1, self.gamma, self.eps), _variance(z2, self.gamma, self.eps)
            var = (v1 + v2) / 2 if self.var_reduction == "mean" else v1 + v2
            c1, c2 = _covariance(z1), _covariance(z2)
            loss = self.inv_weight * inv + self.var_weight * var + self.cov_weight * (c1 + c2)
        if return_terms:
            return {"loss": loss, "invariance": inv, "variance": var, "covariance": c1 + c2}
        return loss


# ------------------------------------------------------------------ SimCLR
@renamed_kwargs(gather_distributed="gather")
def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, *, gather="auto"):
    """NT-Xent of two views: rows ``i`` and ``i + B`` of ``normalize([z1; z2])`` are positives."""
    temperature = check_positive(temperature, "temperature")
    z1, z2 = (_directions(z, name, peak) for z, name, peak in zip((z1, z2), ("z1", "z2"), _pair(z1, z2)))
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    B = z1.shape[0]
    rank, world_size = world(check_gather(gather))
    keys = gather_with_grad(z) if world_size > 1 else z  # (2B) or world * (2B) rows
    sim = z @ keys.T / temperature
    offset = rank * 2 * B if keys is not z else 0
    rows = torch.arange(2 * B, device=z.device)
    sim[rows, rows + offset] = float("-inf")
    partner = (rows + B) % (2 * B) + offset
    return F.cross_entropy(sim, partner)


class NTXentLoss(nn.Module):
    """SimCLR's normalised-temperature cross-entropy, ``temperature`` 0.5 by default.

    Parameters
    ----------
    temperature : float, default 0.5
        The softmax temperature.
    gather : bool or "auto", default "auto"
        Batch statistics over every rank's rows under ``torch.distributed`` (``"auto"``: when running).

    Examples
    --------
    >>> import torch
    >>> round(NTXentLoss(0.5)(torch.eye(2), torch.eye(2)).item(), 7)
    0.2395448
    """

    kind = "joint_embedding"

    @renamed_kwargs(gather_distributed="gather")
    def __init__(self, temperature: float = 0.5, gather="auto"):
        super().__init__()
        self.temperature = check_positive(temperature, "temperature")
        self.gather = check_gather(gather)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, return_terms: bool = False):
        """NT-Xent loss of two views' embeddings.

        Parameters
        ----------
        z1, z2 : torch.Tensor of shape (B, D)
            The embeddings of the two views; row ``i`` of each is a positive pair.
        return_terms : bool, default False
            Return a dict of the named terms and ``"loss"`` instead of the loss alone.

        Returns
        -------
        torch.Tensor or dict
            The 0-d loss, or with ``return_terms`` the dict ``{"loss"}``.
        """
        with _no_autocast(z1):
            loss = nt_xent_loss(_stats_dtype(z1), _stats_dtype(z2), self.temperature, gather=self.gather)
        return {"loss": loss} if return_terms else loss


# ------------------------------------------------------------------ BYOL
def byol_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``mean_i (2 − 2 cos(p_i, sg(z_i)))``: one direction, prediction ``p`` regresses the stopped target ``z``."""
    return _byol(p, z)


def _byol(p: torch.Tensor, z: torch.Tensor, names=("p", "z")) -> torch.Tensor:
    p, z = (_directions(t, name, peak) for t, name, peak in zip((p, z), names, _pair(p, z, names, min_batch=1)))
    return (2 - 2 * F.cosine_similarity(p, z.detach(), dim=1)).mean()


class BYOLLoss(nn.Module):
    """``(byol_loss(p1, z2) + byol_loss(p2, z1)) / 2``: online predictions ``p``, target projections ``z``.

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(2)
    >>> BYOLLoss()(z, z, z, z).item()
    0.0
    """

    kind = "byol"

    def forward(self, p1, p2, z1, z2, return_terms: bool = False):
        """Symmetrised BYOL loss.

        Parameters
        ----------
        p1, p2 : torch.Tensor of shape (B, D)
            The online network's predictions for views 1 and 2.
        z1, z2 : torch.Tensor of shape (B, D)
            The target network's projections of views 1 and 2 (gradients stopped).
        return_terms : bool, default False
            Return a dict of the named terms and ``"loss"`` instead of the loss alone.

        Returns
        -------
        torch.Tensor or dict
            The 0-d loss, or with ``return_terms`` the dict ``{"loss", "p1_z2", "p2_z1"}``.
        """
        for pair in ((p1, p2, ("p1", "p2")), (z1, z2, ("z1", "z2")), (p1, z1, ("p1", "z1"))):
            _check_shapes(*pair)
        t12, t21 = _byol(p1, z2, ("p1", "z2")), _byol(p2, z1, ("p2", "z1"))
        loss = (t12 + t21) / 2
        return {"loss": loss, "p1_z2": t12, "p2_z1": t21} if return_terms else loss


def byol_predictor(dim: int) -> nn.Sequential:
    """BYOL's predictor ``dim → 4·dim → dim`` (Linear, BatchNorm, ReLU, Linear).

    Parameters
    ----------
    dim : int
        The projection width.

    Returns
    -------
    torch.nn.Sequential
        ``(B, dim)`` to ``(B, dim)``.

    Examples
    --------
    >>> import torch
    >>> byol_predictor(4)(torch.randn(3, 4)).shape
    torch.Size([3, 4])
    """
    dim = check_int(dim, "dim")
    return nn.Sequential(nn.Linear(dim, 4 * dim), nn.BatchNorm1d(4 * dim), nn.ReLU(), nn.Linear(4 * dim, dim))


class EMA:
    """Exponential moving average of ``online`` into ``target`` (a frozen copy when ``target`` is None).

    ``update(step, total_steps)`` sets ``target ← m_t·target + (1 − m_t)·online`` with
    ``m_t = 1 − (1 − m_0)(cos(π t/T) + 1)/2`` (from ``m_0`` up to 1); buffers are copied.

    Parameters
    ----------
    online : torch.nn.Module
        The trained network.
    target : torch.nn.Module, optional
        Its moving average (default: a frozen deep copy of ``online``).
    base_momentum : float, default 0.99
        ``m_0``, in ``[0, 1]``.

    Examples
    --------
    >>> from torch import nn
    >>> ema = EMA(nn.Linear(2, 2), base_momentum=0.9)
    >>> ema.update(step=0, total_steps=10)
    0.9
    """

    def __init__(self, online: nn.Module, target: nn.Module | None = None, base_momentum: float = 0.99):
        if check_nonnegative(base_momentum, "base_momentum") > 1.0:
            raise ValueError(f"base_momentum: must be in [0, 1], got {base_momentum}")
        self.online = online
        self.target = copy.deepcopy(online) if target is None else target
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.base_momentum = float(base_momentum)

    def momentum(self, step: int, total_steps: int) -> float:
        """BYOL's cosine momentum schedule: ``1 - (1 - base) (cos(pi step / total) + 1) / 2``."""
        total = max(int(total_steps), 1)
        return 1 - (1 - self.base_momentum) * (math.cos(math.pi * min(step, total) / total) + 1) / 2

    @torch.no_grad()
    def update(self, step: int, total_steps: int) -> float:
        """Move the target toward the online network: ``θ_t <- m θ_t + (1 - m) θ_o``.

        Parameters
        ----------
        step : int
            Optimiser steps taken so far.
        total_steps : int
            Steps of the whole run (the schedule's end).

        Returns
        -------
        float
            The momentum ``m`` used (:meth:`momentum`); buffers are copied as they are.
        """
        m = self.momentum(step, total_steps)
        for pt, po in zip(self.target.parameters(), self.online.parameters()):
            pt.mul_(m).add_(po.detach(), alpha=1 - m)
        for bt, bo in zip(self.target.buffers(), self.online.buffers()):
            bt.copy_(bo)
        return m


# ------------------------------------------------------------------ reconstruction
def _same_shape(x_hat: torch.Tensor, x: torch.Tensor) -> None:
    for name, t in (("x_hat", x_hat), ("x", x)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat: expected the shape of x {tuple(x.shape)}, got {tuple(x_hat.shape)}")
    for name, t in (("x_hat", x_hat), ("x", x)):
        check_squares(_stats_dtype(t).flatten(1) if t.ndim > 1 else _stats_dtype(t), name, "the squared error")


class DenoisingLoss(nn.Module):
    """``mean_i ‖x̂_i − x_i‖²`` (squared norm per sample, batch mean); ``x`` is the un-augmented input.

    Examples
    --------
    >>> import torch
    >>> DenoisingLoss()(torch.ones(2, 3), torch.zeros(2, 3)).item()
    3.0
    """

    kind = "denoising"

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor, return_terms: bool = False):
        """Denoising reconstruction loss.

        Parameters
        ----------
        x_hat : torch.Tensor of shape (B, ...)
            The reconstruction of the augmented input.
        x : torch.Tensor of the shape of ``x_hat``
            The clean input.
        return_terms : bool, default False
            Return a dict of the named terms and ``"loss"`` instead of the loss alone.

        Returns
        -------
        torch.Tensor or dict
            The 0-d loss, or with ``return_terms`` the dict ``{"loss"}``.
        """
        _same_shape(x_hat, x)
        loss = ((x_hat - x) ** 2).flatten(1).sum(dim=1).mean()
        return {"loss": loss} if return_terms else loss


def _patches(t: torch.Tensor, patch: int | None) -> torch.Tensor:
    """``(B, P, u)``: the units of :func:`random_mask` (entries, chunks, pixels or patches) as rows."""
    if t.ndim == 2:
        return t.reshape(t.shape[0], -1, patch or 1)
    B, C, H, W = t.shape
    p = patch or 1
    return t.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5).reshape(B, (H // p) * (W // p), -1)


def masked_reconstruction_loss(x_hat: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(x̂ − target)²`` over the entries where ``mask`` is True (the hidden units)."""
    n_hidden = mask.sum()
    if int(n_hidden) == 0:
        raise ValueError("mask: hides nothing; masked reconstruction needs hidden units")
    return (((x_hat - target) ** 2) * mask).sum() / n_hidden


class MaskedReconstructionLoss(nn.Module):
    """MAE-style loss: the mean squared error over the units ``mask`` hides.

    Parameters
    ----------
    mask_ratio : float, default 0.5
        Share of units hidden, in ``(0, 1)``.
    patch : int, optional
        Unit size: entries (``None``), chunks of a flat row, or ``patch x patch`` image patches.
    norm_target : bool, default False
        Standardise each target patch by its mean and unbiased std (units of >= 2 entries).

    Examples
    --------
    >>> import torch
    >>> loss = MaskedReconstructionLoss(mask_ratio=0.5)
    >>> x = torch.ones(2, 4)
    >>> masked, mask = loss.mask(x, torch.Generator().manual_seed(0))
    >>> int(mask.sum()), loss(torch.zeros(2, 4), x, mask).item()
    (4, 1.0)
    """

    kind = "masked"

    def __init__(self, mask_ratio: float = 0.5, patch: int | None = None, norm_target: bool = False):
        super().__init__()
        if isinstance(mask_ratio, bool) or not 0.0 < float(mask_ratio) < 1.0:
            raise ValueError(f"mask_ratio: must be in (0, 1), got {mask_ratio!r}")
        self.mask_ratio = float(mask_ratio)
        self.patch = None if patch is None else check_int(patch, "patch")
        self.norm_target = check_bool(norm_target, "norm_target")

    def mask(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """``(x with hidden units set to 0, bool mask of hidden entries)``."""
        return random_mask(x, self.mask_ratio, patch=self.patch, generator=generator)

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, return_terms: bool = False):
        """Masked reconstruction loss over the hidden units.

        Parameters
        ----------
        x_hat : torch.Tensor of shape (B, D) or (B, C, H, W)
            The reconstruction of the masked input.
        x : torch.Tensor of the shape of ``x_hat``
            The clean input.
        mask : torch.Tensor of bool, of the shape of ``x``
            True on hidden entries (from :meth:`mask`).
        return_terms : bool, default False
            Return a dict of the named terms and ``"loss"`` instead of the loss alone.

        Returns
        -------
        torch.Tensor or dict
            The 0-d loss, or with ``return_terms`` the dict ``{"loss"}``.
        """
        _same_shape(x_hat, x)
        if not isinstance(mask, torch.Tensor) or mask.shape != x.shape or mask.dtype != torch.bool:
            raise ValueError(f"mask: expected a bool tensor of shape {tuple(x.shape)}")
        target = x
        if self.norm_target:
            units = _patches(x, self.patch)
            if units.shape[-1] < 2:
                raise ValueError("norm_target: needs patches of at least 2 entries (set patch)")
            normed = (units - units.mean(-1, keepdim=True)) / (units.var(-1, keepdim=True) + 1e-6).sqrt()
            target = _unpatch(normed, x.shape, self.patch)
        loss = masked_reconstruction_loss(x_hat, target, mask)
        return {"loss": loss} if return_terms else loss


def _unpatch(units: torch.Tensor, shape: torch.Size, patch: int | None) -> torch.Tensor:
    if len(shape) == 2:
        return units.reshape(shape)
    B, C, H, W = shape
    p = patch or 1
    return units.reshape(B, H // p, W // p, C, p, p).permute(0, 3, 1, 4, 2, 5).reshape(shape)


# ------------------------------------------------------------------ linear joint embedding
class LinearJELoss(nn.Module):
    """Thm 3.2 with a penalty: ``(1/B)Σ_i‖z1_i − z2_i‖² + λ‖Ŝ_z − I‖²_F``, ``Ŝ_z = (z1ᵀz1 + z2ᵀz2)/(2B)``.

    For linear ``z = Wx`` this is ``2Tr(WΣWᵀ) + λ‖WŜWᵀ − I‖²_F`` in expectation, with ``Ŝ``
    the (uncentred) second moment of the views; its minimiser spans ``W*``'s row space.
    ``λ`` is ``whitening_weight`` (a term's weight, as VICReg's ``*_weight``; not a ridge).

    Parameters
    ----------
    whitening_weight : float, default 1.0
        ``λ``, the weight of the whitening penalty.

    Examples
    --------
    >>> import torch
    >>> z = 2 ** 0.5 * torch.eye(2)  # identical, whitened views: both terms vanish
    >>> round(LinearJELoss()(z, z).item(), 12)
    0.0
    """

    kind = "joint_embedding"

    @renamed_kwargs(lam="whitening_weight")
    def __init__(self, whitening_weight: float = 1.0):
        super().__init__()
        self.whitening_weight = check_positive(whitening_weight, "whitening_weight")

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, return_terms: bool = False):
        """Penalised linear joint-embedding loss.

        Parameters
        ----------
        z1, z2 : torch.Tensor of shape (B, k)
            The embeddings of the two views.
        return_terms : bool, default False
            Return a dict of the named terms and ``"loss"`` instead of the loss alone.

        Returns
        -------
        torch.Tensor or dict
            The 0-d loss, or with ``return_terms`` the dict ``{"loss", "invariance", "whitening"}``.
        """
        _pair(z1, z2, min_batch=1, squares="the squared terms of LinearJELoss")
        inv = ((z1 - z2) ** 2).sum(dim=1).mean()
        S = (z1.T @ z1 + z2.T @ z2) / (2 * z1.shape[0])
        white = ((S - torch.eye(S.shape[0], dtype=S.dtype, device=S.device)) ** 2).sum()
        loss = inv + self.whitening_weight * white
        return {"loss": loss, "invariance": inv, "whitening": white} if return_terms else loss
