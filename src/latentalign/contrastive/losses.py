r"""Contrastive losses of the tilted model, as modules and functions.

The math: ``docs/contrastive.md#contrastive-losses``.

Every loss is an ``nn.Module`` with ``forward(z_u, z_v) -> scalar`` over two
paired batches ``(n, e)`` (``return_terms=True``: a dict of its named terms with
the total under ``"loss"``) and also a plain function of a square score matrix
``S`` (positives on the diagonal; ``log p(v_k | u_i)`` is the row log-softmax,
``log p(u_k | v_i)`` the column log-softmax):

* :class:`ConditionalLoss` ``(lambda_u, lambda_v)``:
  ``l = -(1/N) sum_i [(lambda_u / 2) log p(u_i | v_i) + (lambda_v / 2) log p(v_i | u_i)]``;
  ``centered=True`` subtracts ``((lambda_u + lambda_v) / 2) log N``.
  :class:`ClipLoss` is ``(1, 1)`` (CLIP / InfoNCE); ``(2, 0)`` fits only ``u | v``,
  ``(0, 2)`` only ``v | u``.
* :class:`JointLoss` (Donsker-Varadhan):
  ``l = -(1/N) sum_i S_ii + logsumexp_{(i,j) in Neg} S_ij - log |Neg|`` with ``Neg``
  the off-diagonal pairs (default), all ``N^2`` pairs, or the shifted pairs ``(i, i+1 mod N)``.
* :class:`SigLipLoss` (a comparison, not a tilted-model loss):
  ``l = -(1/N) sum_{i,k} log sigmoid(y_ik (S_ik + b))``, ``y = 2 I - 1``.

Under ``torch.distributed`` each rank computes its local rows against the
gathered batch (:mod:`.distributed`), so DDP's gradient average is exact.

Examples
--------
>>> import torch
>>> z_u, z_v = torch.randn(8, 4, generator=torch.Generator().manual_seed(0)), torch.eye(8, 4)
>>> clip, centred = ClipLoss(temperature=1.0), ConditionalLoss(temperature=1.0, centered=True)
>>> round(float(clip(z_u, z_v) - centred(z_u, z_v)), 6) == round(math.log(8), 6)  # Thm 2.8
True
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._deprecate import renamed_objects
from .._validate import as_matrix, check_bool, check_choice, check_nonnegative, check_real, finite_peak
from .distributed import ScoreBlocks, check_gather, score_blocks
from .tilts import INIT_SCALE, MAX_SCALE, TILTS, as_temperature, check_embeddings, check_tilt_range

__all__ = [
    "NEGATIVES",
    "ConditionalLoss",
    "ClipLoss",
    "JointLoss",
    "SigLipLoss",
    "conditional_loss",
    "clip_loss",
    "joint_loss",
    "siglip_loss",
]

# The CLI's loss names moved to the CLI in 0.2 (deprecated here, removed in 0.3).
__getattr__ = renamed_objects(__name__, {"build_loss": "latentalign.contrastive.cli:parse_loss",
                                         "LOSS_NAMES": "latentalign.contrastive.cli:LOSS_NAMES"})

NEGATIVES = ("offdiag", "all", "shuffle")


# --------------------------------------------------------------------------- from score blocks
def _conditional_terms(b: ScoreBlocks, lambda_u: float, lambda_v: float, centered: bool) -> dict:
    """``"loss"`` and the fitted conditionals' ``-mean log p``: ``"v_given_u"``, ``"u_given_v"``."""
    pos = b.positives()
    terms = {"loss": b.rows_u.new_zeros(())}
    if lambda_v:
        terms["v_given_u"] = F.cross_entropy(b.rows_u, pos)
        terms["loss"] = terms["loss"] + 0.5 * lambda_v * terms["v_given_u"]
    if lambda_u:
        terms["u_given_v"] = F.cross_entropy(b.rows_v, pos)
        terms["loss"] = terms["loss"] + 0.5 * lambda_u * terms["u_given_v"]
    if centered:
        terms["loss"] = terms["loss"] - 0.5 * (lambda_u + lambda_v) * math.log(b.N)
    return terms


def _conditional(b: ScoreBlocks, lambda_u: float, lambda_v: float, centered: bool) -> torch.Tensor:
    return _conditional_terms(b, lambda_u, lambda_v, centered)["loss"]


def _joint_terms(b: ScoreBlocks, negatives: str) -> dict:
    """``"loss" = "positive" + "negative"``: ``-mean_i S_ii`` and ``logsumexp_Neg S - log |Neg|``."""
    rows, pos, N = torch.arange(b.n, device=b.rows_u.device), b.positives(), b.N
    if negatives == "all":
        neg, count = b.rows_u, N * N
    elif negatives == "offdiag":
        mask = torch.zeros_like(b.rows_u, dtype=torch.bool)
        mask[rows, pos] = True
        neg, count = b.rows_u.masked_fill(mask, float("-inf")), N * (N - 1)
    else:  # shuffle: the pairs (i, i + 1 mod N)
        neg, count = b.rows_u[rows, (pos + 1) % N], N
    lse = b.global_logsumexp(torch.logsumexp(neg.reshape(-1), dim=0))
    positive, negative = -b.rows_u[rows, pos].mean(), lse - math.log(count)
    return {"loss": positive + negative, "positive": positive, "negative": negative}


def _joint(b: ScoreBlocks, negatives: str) -> torch.Tensor:
    return _joint_terms(b, negatives)["loss"]


def _siglip(b: ScoreBlocks, bias) -> torch.Tensor:
    # every pair as a negative, then the positives' terms swapped: log s(x) - log s(-x) = x, so
    # l = -(1/n) [sum_{i,k} log s(-x_ik) + sum_i x_ii] with x = S + b (two passes over the n x N block)
    rows, pos = torch.arange(b.n, device=b.rows_u.device), b.positives()
    negatives = F.logsigmoid(torch.sub(-bias, b.rows_u)).sum()
    return -(negatives + (b.rows_u[rows, pos] + bias).sum()) / b.n


# --------------------------------------------------------------------------- plain functions of S
def _square(S) -> ScoreBlocks:
    S = as_matrix(S, "S", min_samples=2, dtype=None)
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"S: expected a square score matrix (positives on the diagonal), got shape {tuple(S.shape)}")
    return ScoreBlocks(S, S.T, 0, 1)


def _check_lambdas(lambda_u, lambda_v) -> tuple[float, float]:
    lambda_u, lambda_v = check_nonnegative(lambda_u, "lambda_u"), check_nonnegative(lambda_v, "lambda_v")
    if lambda_u + lambda_v == 0:
        raise ValueError("lambda_u: lambda_u and lambda_v are both 0; at least one conditional must be fitted")
    return lambda_u, lambda_v


def conditional_loss(S, lambda_u: float = 1.0, lambda_v: float = 1.0, *, centered: bool = False) -> torch.Tensor:
    """Weighted conditional loss of a square score matrix ``S`` (see the module docstring).

    Parameters
    ----------
    S : torch.Tensor of shape (N, N)
        Scores ``S[i, k] = s(u_i, v_k)`` (already scaled); the diagonal holds the positive pairs.
    lambda_u, lambda_v : float, default 1.0
        Weights of ``log p(u|v)`` and ``log p(v|u)``.
    centered : bool, default False
        Subtract ``((lambda_u + lambda_v)/2) log N``.

    Returns
    -------
    torch.Tensor
        The 0-d loss.

    Examples
    --------
    >>> import torch
    >>> round(float(conditional_loss(torch.zeros(4, 4), centered=True)), 6)  # uninformative scores
    0.0
    """
    lambda_u, lambda_v = _check_lambdas(lambda_u, lambda_v)
    return _conditional(_square(S), lambda_u, lambda_v, check_bool(centered, "centered"))


def clip_loss(S) -> torch.Tensor:
    """CLIP / InfoNCE: ``(CE(S) + CE(S^T)) / 2`` with the diagonal as targets.

    Parameters
    ----------
    S : torch.Tensor of shape (N, N)
        Scores ``S[i, k] = s(u_i, v_k)`` (already scaled); the diagonal holds the positive pairs.

    Returns
    -------
    torch.Tensor
        The 0-d loss.

    Examples
    --------
    >>> import torch
    >>> round(float(clip_loss(torch.eye(3))), 4)
    0.5514
    """
    return _conditional(_square(S), 1.0, 1.0, False)


def joint_loss(S, negatives: str = "offdiag") -> torch.Tensor:
    """Joint (Donsker-Varadhan) loss of a square score matrix ``S``.

    Parameters
    ----------
    S : torch.Tensor of shape (N, N)
        Scores ``S[i, k] = s(u_i, v_k)`` (already scaled); the diagonal holds the positive pairs.
    negatives : {"offdiag", "all", "shuffle"}, default "offdiag"
        The pairs standing for the product of marginals.

    Returns
    -------
    torch.Tensor
        The 0-d loss.

    Examples
    --------
    >>> import torch
    >>> round(float(joint_loss(torch.eye(3))), 6)
    -1.0
    """
    check_choice(negatives, "negatives", NEGATIVES)
    return _joint(_square(S), negatives)


def siglip_loss(S, bias=0.0) -> torch.Tensor:
    """SigLIP loss of square logits ``S`` (already scaled) plus ``bias``: sum over ``N^2`` pairs / ``N``.

    Parameters
    ----------
    S : torch.Tensor of shape (N, N)
        Scores ``S[i, k] = s(u_i, v_k)`` (already scaled); the diagonal holds the positive pairs.
    bias : float or torch.Tensor, default 0.0
        Added to every score.

    Returns
    -------
    torch.Tensor
        The 0-d loss.

    Examples
    --------
    >>> import torch
    >>> round(float(siglip_loss(torch.zeros(2, 2))), 4)  # 4 pairs of log 2, over N = 2
    1.3863
    """
    if isinstance(bias, torch.Tensor) and bias.numel() == 1:
        finite_peak(bias, "bias")  # a learnable bias keeps its gradient
    else:
        bias = check_real(bias, "bias")
    return _siglip(_square(S), bias)


# --------------------------------------------------------------------------- modules
class _TiltedLoss(nn.Module):
    """Shared machinery: tilt, temperature, input checks, local-vs-gathered scoring."""

    _needs_v = True

    def __init__(self, tilt: str, temperature, gather, *, init_scale: float = INIT_SCALE,
                 max_scale: float = MAX_SCALE):
        super().__init__()
        self.tilt = check_choice(tilt, "tilt", TILTS)
        self.gather = check_gather(gather)
        self.temperature = as_temperature(temperature, init_scale=init_scale, max_scale=max_scale)

    def scale(self) -> torch.Tensor:
        """The current scale ``c = 1 / tau`` (a 0-d tensor)."""
        return self.temperature()

    def clamp_(self) -> None:
        """Keep learnable parameters in range after an optimiser step (the trainer calls it)."""
        self.temperature.clamp_()

    def forward(self, z_u, z_v, return_terms: bool = False):
        """The loss of the pairs ``(z_u[i], z_v[i])``, or with ``return_terms`` its named terms and ``"loss"``."""
        z_u, z_v = check_embeddings(z_u, z_v)
        check_tilt_range(z_u, z_v, self.tilt)
        blocks = score_blocks(z_u, z_v, self.tilt, self.scale(), gather=self.gather, need_v=self._needs_v)
        terms = self._terms(blocks)
        return terms if return_terms else terms["loss"]

    def _terms(self, blocks: ScoreBlocks) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


class ConditionalLoss(_TiltedLoss):
    r"""Weighted sum of the two conditional log-likelihoods (the paper's ``L^N_cond`` family).

    ``l = -(1/N) sum_i [(lambda_u/2) log p(u_i|v_i) + (lambda_v/2) log p(v_i|u_i)]``, ``lambda >= 0``,
    ``lambda_u + lambda_v > 0``; ``centered=True`` returns ``l - ((lambda_u + lambda_v)/2) log N``
    (``N`` the global batch). ``temperature``: ``None`` learnable (init ``1/0.07``, clamp 100),
    a number ``tau`` fixed, or a :class:`~latentalign.contrastive.Temperature`.
    ``gather``: ``"auto"`` gathers over ``torch.distributed`` ranks when running.

    Parameters
    ----------
    lambda_u, lambda_v : float, default 1.0
        Weights (``>= 0``, not both 0) of ``log p(u|v)`` and ``log p(v|u)``.
    tilt : {"cosine", "inner", "l2"}, default "cosine"
        The score ``s(u, v)`` (see :func:`~latentalign.contrastive.scores`).
    temperature : float, Temperature or None, default None
        ``None``: a learnable scale (init ``1/0.07``, clamp 100); a number ``tau`` fixes ``c = 1/tau``.
    centered : bool, default False
        Subtract ``((lambda_u + lambda_v)/2) log N``.
    gather : bool or "auto", default "auto"
        Score the local rows against every rank's batch under ``torch.distributed`` (``"auto"``: when running).

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(3)
    >>> round(float(ConditionalLoss(0.0, 2.0, temperature=1.0)(z, z)), 4)  # -log(e / (e + 2))
    0.5514
    """

    def __init__(self, lambda_u: float = 1.0, lambda_v: float = 1.0, *, tilt: str = "cosine",
                 temperature=None, centered: bool = False, gather="auto"):
        super().__init__(tilt, temperature, gather)
        self.lambda_u, self.lambda_v = _check_lambdas(lambda_u, lambda_v)
        self.centered = check_bool(centered, "centered")

    def _terms(self, blocks):
        return _conditional_terms(blocks, self.lambda_u, self.lambda_v, self.centered)

    def extra_repr(self) -> str:
        """The hyper-parameters shown by ``repr``."""
        return f"lambda_u={self.lambda_u:g}, lambda_v={self.lambda_v:g}, tilt={self.tilt!r}, centered={self.centered}"


class ClipLoss(ConditionalLoss):
    """CLIP / InfoNCE: :class:`ConditionalLoss` with ``(lambda_u, lambda_v) = (1, 1)``.

    Parameters
    ----------
    tilt : {"cosine", "inner", "l2"}, default "cosine"
        The score ``s(u, v)`` (see :func:`~latentalign.contrastive.scores`).
    temperature : float, Temperature or None, default None
        ``None``: a learnable scale (init ``1/0.07``, clamp 100); a number ``tau`` fixes ``c = 1/tau``.
    centered : bool, default False
        Subtract ``log N`` (the loss of uninformative scores).
    gather : bool or "auto", default "auto"
        Score the local rows against every rank's batch under ``torch.distributed`` (``"auto"``: when running).

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(3)
    >>> round(float(ClipLoss(temperature=1.0)(z, z)), 4)
    0.5514
    """

    def __init__(self, *, tilt: str = "cosine", temperature=None, centered: bool = False, gather="auto"):
        super().__init__(1.0, 1.0, tilt=tilt, temperature=temperature, centered=centered, gather=gather)


class JointLoss(_TiltedLoss):
    r"""Joint (Donsker-Varadhan) loss with product-of-marginals negatives.

    ``l = -(1/N) sum_i S_ii + logsumexp_{(i,j) in Neg} S_ij - log |Neg|``;
    ``negatives``: ``"offdiag"`` (``i != j``, default), ``"all"`` (``N^2`` pairs; by Jensen
    ``>=`` the centred conditional loss on every batch) or ``"shuffle"`` (``(i, i+1 mod N)``, O(N e)).

    Parameters
    ----------
    negatives : {"offdiag", "all", "shuffle"}, default "offdiag"
        The pairs standing for the product of marginals.
    tilt : {"cosine", "inner", "l2"}, default "cosine"
        The score ``s(u, v)`` (see :func:`~latentalign.contrastive.scores`).
    temperature : float, Temperature or None, default None
        ``None``: a learnable scale (init ``1/0.07``, clamp 100); a number ``tau`` fixes ``c = 1/tau``.
    gather : bool or "auto", default "auto"
        Score the local rows against every rank's batch under ``torch.distributed`` (``"auto"``: when running).

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(3)
    >>> round(float(JointLoss(tilt="inner", temperature=1.0)(z, z)), 6)  # -1 + log(6 e^0) - log 6
    -1.0
    """

    _needs_v = False

    def __init__(self, negatives: str = "offdiag", *, tilt: str = "cosine", temperature=None, gather="auto"):
        super().__init__(tilt, temperature, gather)
        self.negatives = check_choice(negatives, "negatives", NEGATIVES)

    def _terms(self, blocks):
        return _joint_terms(blocks, self.negatives)

    def extra_repr(self) -> str:
        """The hyper-parameters shown by ``repr``."""
        return f"negatives={self.negatives!r}, tilt={self.tilt!r}"


class SigLipLoss(_TiltedLoss):
    r"""SigLIP: ``-(1/N) sum_{i,k} log sigmoid(y_ik (S_ik + b))``, ``y = 2 I - 1``.

    The sum over all ``N^2`` pairs is divided by ``N`` (not averaged). The scale is
    learnable from ``init_scale`` (10) unless ``temperature`` fixes it; the bias ``b``
    is a learnable parameter initialised at ``init_bias`` (-10).

    Parameters
    ----------
    tilt : {"cosine", "inner", "l2"}, default "cosine"
        The score ``s(u, v)`` (see :func:`~latentalign.contrastive.scores`).
    temperature : float, Temperature or None, default None
        ``None``: a learnable scale (init ``1/0.07``, clamp 100); a number ``tau`` fixes ``c = 1/tau``.
    init_scale : float, default 10
        The learnable scale's start (when ``temperature`` is None).
    init_bias : float, default -10
        The learnable bias's start.
    gather : bool or "auto", default "auto"
        Score the local rows against every rank's batch under ``torch.distributed`` (``"auto"``: when running).

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(3)
    >>> round(float(SigLipLoss(temperature=1.0)(z, z).detach()), 4)  # bias -10: every pair looks negative
    9.0002
    """

    _needs_v = False

    def __init__(self, *, tilt: str = "cosine", temperature=None, init_scale: float = 10.0,
                 init_bias: float = -10.0, gather="auto"):
        super().__init__(tilt, temperature, gather, init_scale=init_scale)
        if isinstance(init_bias, bool) or not isinstance(init_bias, (int, float)) or not math.isfinite(init_bias):
            raise ValueError(f"init_bias: expected a finite number, got {init_bias!r}")
        self.bias = nn.Parameter(torch.tensor(float(init_bias)))

    def _terms(self, blocks):
        return {"loss": _siglip(blocks, self.bias)}

    def extra_repr(self) -> str:
        """The hyper-parameters shown by ``repr``."""
        return f"tilt={self.tilt!r}"
