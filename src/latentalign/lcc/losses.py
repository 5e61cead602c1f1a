"""The LCC losses: pull misclustered latents toward correctly clustered latents of their class.

For a batch of current latents ``u`` (train mode, with grad), labels ``y`` and
the batch MC set ``S = {i : y_i >= 0, m(c[idx_i]) != y_i, y_i matched}``:

- exact: for each cluster ``b`` with ``m(b) = y_i``, ``t_{i,b}`` is the mean of
  the ``min(k_target, n_b)`` bank members nearest ``u_i.detach()``,
  ``d_{i,b} = ||u_i - t_{i,b}||_2 / sqrt(D)``, ``l_i = min_b d_{i,b}``;
- randomized: ``l_i = min_r ||u_i - r|| / sqrt(D)`` over ``n_per_cluster`` members
  drawn with replacement from each bank of class ``y_i`` (a ``torch.Generator``
  seeded with ``seed + epoch``) -- the exact term with one bank of draws and ``k = 1``;
- ``L = (1/|S|) sum_{i in S} l_i``; ``u.sum() * 0`` when ``S`` is empty (keeps
  every parameter in the graph, as DDP needs).

Everything runs with torch on the batch's device, for all MC rows and banks
at once: the banks are packed once per clustering (:func:`pack_banks`), the
targets of a batch come from one ``cdist`` and one ``topk`` over a padded
``(MC row, bank of the row's class, member)`` view (no gradient), and only
``||u_i - t_{i,b}||`` carries one. No per-sample or per-bank loop, no search library in the step.
The gradient is finite (zero) at zero distance.

Examples
--------
>>> import torch
>>> banks = {0: [torch.tensor([[0.0, 0.0], [2.0, 0.0]]), torch.tensor([[10.0, 0.0]])]}
>>> u = torch.tensor([[4.0, 0.0], [9.0, 0.0]], dtype=torch.float64, requires_grad=True)
>>> L = lcc_loss(u, torch.tensor([0, 0]), torch.tensor([True, True]), banks, k=2)
>>> round(L.item(), 8)
1.41421356
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch
from torch import nn

from .._validate import check_int, check_seed, check_squares, finite_peak
from .state import ClusterState

__all__ = ["lcc_distances", "lcc_loss", "pack_banks", "PackedBanks", "ExactLCCLoss", "RandomizedLCCLoss",
           "Targets"]

Targets = Mapping[int, Sequence[torch.Tensor]]
"""Class -> its banks (each ``(n_b, D)``); a class absent from the map has no target."""

_TARGET_CHUNK = 2**22
"""Largest distance view (rows x banks x members) or target gather of one selection chunk: 16 MiB in float32."""


class PackedBanks(NamedTuple):
    """Banks ``b = 0..B-1`` stacked for batched target selection.

    ``members`` ``(R, D)``: every bank's rows, bank after bank; ``slots``
    ``(B, n_max)``: bank ``b``'s row ids in ``members`` (the first ``n_b`` columns;
    the padding repeats row 0 and is masked by ``sizes``); ``sizes`` ``(B,)``: ``n_b``;
    ``by_class`` ``(A, M)``: row ``a`` lists the banks of class ``a``, padded with ``-1`` (no row is owned when packed
    from a plain list).
    """

    members: torch.Tensor
    slots: torch.Tensor
    sizes: torch.Tensor
    by_class: torch.Tensor

    @property
    def dim(self) -> int:
        """Latent width ``D``."""
        return int(self.members.shape[1])

    def to(self, device=None, dtype=None) -> PackedBanks:
        """The packed banks on ``device`` (members also cast to ``dtype``)."""
        return PackedBanks(self.members.to(device=device, dtype=dtype), self.slots.to(device),
                           self.sizes.to(device), self.by_class.to(device))


def pack_banks(banks: Targets | Sequence[torch.Tensor]) -> PackedBanks:
    """Pack ``{class: [bank, ...]}`` (or a plain list of banks, owner ``-1``) into :class:`PackedBanks`."""
    if isinstance(banks, Mapping):
        pairs = [(int(a), b) for a in sorted(banks) for b in banks[a]]
    else:
        pairs = [(-1, b) for b in banks]
    if not pairs:
        raise ValueError("banks: expected at least one bank")
    if not all(isinstance(b, torch.Tensor) for _, b in pairs):
        raise TypeError("banks: expected {class: [bank tensor (n_b, D), ...]} or a list of bank tensors")
    tensors = [b.detach() for _, b in pairs]
    dim = tensors[0].shape[-1]
    if any(b.ndim != 2 or b.shape[1] != dim or b.shape[0] == 0 for b in tensors):
        raise ValueError(f"banks: expected non-empty (n_b, {dim}) tensors, got shapes "
                         f"{[tuple(b.shape) for b in tensors]}")
    device, dtype = tensors[0].device, tensors[0].dtype
    sizes = torch.tensor([b.shape[0] for b in tensors], device=device)
    members = torch.cat([b.to(device=device, dtype=dtype) for b in tensors])
    finite_peak(members, "banks")
    starts = torch.cumsum(sizes, 0) - sizes
    pos = torch.arange(int(sizes.max()), device=device)
    slots = torch.where(pos < sizes[:, None], starts[:, None] + pos, torch.zeros_like(pos))
    return PackedBanks(members, slots, sizes, _class_table(torch.tensor([a for a, _ in pairs], device=device)))


def _targets(anchor: torch.Tensor, packed: PackedBanks, k: int, banks: torch.Tensor) -> torch.Tensor:
    """``(n, M, D)``: ``t_{i,j}``, the mean of the ``min(k, n_b)`` members of bank ``b = banks[i, j]``
    nearest ``anchor_i``.
    """
    members, slots, sizes, _ = packed
    (n, n_cols), width, dim = banks.shape, slots.shape[1], members.shape[1]
    kk = min(k, width)
    out = torch.empty(n, n_cols, dim, dtype=members.dtype, device=members.device)
    step = max(1, _TARGET_CHUNK // max(members.shape[0], n_cols * max(width, kk * dim)))
    pos = torch.arange(width, device=members.device)
    for start in range(0, n, step):
        rows, cols = anchor[start:start + step], banks[start:start + step]
        d = torch.cdist(rows, members)
        view = torch.gather(d, 1, slots[cols].flatten(1)).view(rows.shape[0], n_cols, width)
        size = sizes[cols][..., None]  # (rows, M, 1)
        near = view.masked_fill_(pos >= size, float("inf")).topk(kk, dim=2, largest=False).indices
        keep = (near < size).to(members.dtype)[..., None]  # a bank shorter than kk also yields padding: weight 0
        picked = members[slots[cols[..., None], near]]  # (rows, M, kk, D)
        out[start:start + step] = (picked * keep).sum(2) / keep.sum(2)
    return out


def lcc_distances(u: torch.Tensor, banks: Sequence[torch.Tensor] | PackedBanks, k: int,
                  which: torch.Tensor | None = None) -> torch.Tensor:
    """``(n, B)``: ``||u_i - t_{i,b}|| / sqrt(D)``, ``t_{i,b}`` the mean of the
    ``min(k, n_b)`` members of bank ``b`` nearest ``u_i.detach()``; with ``which``
    ``(n, M)`` (bank ids), only the banks ``which[i]`` of each row.
    """
    packed = banks if isinstance(banks, PackedBanks) else pack_banks(banks)
    packed = packed.to(device=u.device, dtype=u.dtype)
    if which is None:
        which = torch.arange(packed.slots.shape[0], device=u.device).expand(u.shape[0], -1)
    with torch.no_grad():
        t = _targets(u.detach(), packed, k, which)
    return torch.linalg.vector_norm(u[:, None, :] - t, dim=2) / math.sqrt(u.shape[1])


def lcc_loss(u: torch.Tensor, labels: torch.Tensor, mc: torch.Tensor, targets: Targets | PackedBanks,
             k: int) -> torch.Tensor:
    """Mean over ``S = mc & (labels >= 0) & (class has a bank)`` of ``min_{b: m(b) = y_i} lcc_distances``.

    ``u`` ``(n, D)``, ``labels`` ``(n,)`` int, ``mc`` ``(n,)`` bool: the batch's
    misclustered flags; ``targets`` the class banks, or them packed once by
    :func:`pack_banks`. Returns ``u.sum() * 0`` when ``S`` is empty. ``u`` holding NaN/Inf, or values
    whose squared distances overflow, is refused (one ``max |u|`` reduction).

    Parameters
    ----------
    u : torch.Tensor of shape (n, D)
        The batch's latents.
    labels : torch.Tensor of shape (n,)
        Their integer labels.
    mc : torch.Tensor of shape (n,)
        bool: the batch's misclustered flags.
    targets : dict or PackedBanks
        The class banks ``{class: [bank (n_b, D), ...]}``, or them packed once by :func:`pack_banks`.
    k : int
        Target CC latents averaged per bank (1: the nearest).

    Returns
    -------
    torch.Tensor
        The 0-d loss (``u.sum() * 0`` when ``S`` is empty).

    Examples
    --------
    >>> import torch
    >>> banks = {0: [torch.tensor([[0.0]]), torch.tensor([[10.0]])]}  # class 0 owns two clusters
    >>> float(lcc_loss(torch.tensor([[4.0]]), torch.tensor([0]), torch.tensor([True]), banks, k=1))
    4.0
    """
    check_squares(u, "u", "the LCC distances")
    for name, t in (("labels", labels), ("mc", mc)):
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != (u.shape[0],):
            raise ValueError(f"{name}: expected a tensor of shape ({u.shape[0]},), one per row of u, got "
                             f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}")
    zero = u.sum() * 0.0
    if not isinstance(targets, PackedBanks):
        if not any(len(b) for b in targets.values()):
            return zero
        targets = pack_banks({a: b for a, b in targets.items() if len(b)})
    labels, mc = labels.to(u.device), mc.to(u.device)
    table = targets.by_class.to(u.device)
    known = (labels >= 0) & (labels < table.shape[0])
    rows = torch.nonzero(mc & known & (table[torch.where(known, labels, 0)] >= 0).any(1)).flatten()
    if rows.numel() == 0:
        return zero
    which = table[labels[rows]]
    d = lcc_distances(u[rows], targets, k, which.clamp_min(0))
    nearest = torch.where(which >= 0, d, torch.full_like(d, float("inf"))).min(dim=1).values
    return nearest.sum() / rows.numel() + zero


def _class_table(owner: torch.Tensor) -> torch.Tensor:
    """``(max class + 1, M)``: row ``a`` lists the banks ``b`` with ``owner[b] = a``, padded with ``-1``."""
    n_rows = max(int(owner.max()) + 1, 1)
    counts = torch.bincount(owner[owner >= 0], minlength=n_rows)
    table = torch.full((n_rows, max(int(counts.max()), 1)), -1, dtype=torch.long, device=owner.device)
    order = torch.argsort(owner, stable=True)
    order = order[owner[order] >= 0]
    first = torch.cumsum(counts, 0) - counts
    rank = torch.arange(order.numel(), device=owner.device) - first[owner[order]]
    table[owner[order], rank] = order
    return table


def _check_latents(u: torch.Tensor, dim: int) -> torch.Tensor:
    if not isinstance(u, torch.Tensor):
        raise TypeError(f"latents: expected a torch.Tensor, got {type(u).__name__}")
    if u.ndim != 2:
        u = u.reshape(u.shape[0], -1)
    if u.shape[1] != dim:
        raise ValueError(f"latents: expected {dim} features like the clustered latents, got {u.shape[1]}")
    return u


class _BankLoss(nn.Module):
    """``forward(u, labels, mc, targets)``: :func:`lcc_loss` with the subclass's ``k``
    (``return_terms=True``: ``{"loss": ...}``, its only term).
    """

    k: int

    def forward(self, u: torch.Tensor, labels: torch.Tensor, mc: torch.Tensor,
                targets: Targets | PackedBanks, return_terms: bool = False):
        if isinstance(targets, PackedBanks):
            dim = targets.dim
        else:
            dim = next((b[0].shape[1] for b in targets.values() if b), u.shape[-1])
        loss = lcc_loss(_check_latents(u, dim), labels, mc, targets, self.k)
        return {"loss": loss} if return_terms else loss


class ExactLCCLoss(_BankLoss):
    """Exact LCC: distance to the mean of the ``k_target`` nearest CC latents of the closest matched cluster.

    ``targets(state)`` gives the per-class banks of a :class:`ClusterState`;
    ``forward(u, labels, mc, targets)`` the loss of a batch.

    Parameters
    ----------
    k_target : int, default 10
        CC latents averaged into each target.

    Examples
    --------
    >>> import torch
    >>> banks = {0: [torch.tensor([[0.0], [2.0]])]}  # one class, one cluster, two CC latents
    >>> float(ExactLCCLoss(k_target=2)(torch.tensor([[1.5]]), torch.tensor([0]), torch.tensor([True]), banks))
    0.5
    """

    def __init__(self, k_target: int = 10):
        super().__init__()
        self.k = self.k_target = check_int(k_target, "k_target")

    def targets(self, state: ClusterState, epoch: int = 0) -> dict[int, list[torch.Tensor]]:
        """The per-class banks of ``state``: every correctly clustered latent of each matched cluster."""
        return state.class_banks()


class RandomizedLCCLoss(_BankLoss):
    """Randomized LCC: distance to the nearest of ``n_per_cluster`` draws (with replacement) per matched cluster.

    The draws are made once per clustering, by ``targets(state, epoch)`` with a
    ``torch.Generator`` seeded ``seed + epoch`` (no global RNG).

    Parameters
    ----------
    n_per_cluster : int, default 100
        Draws per matched cluster.
    seed : int, default 0
        The draws use ``seed + epoch``.

    Examples
    --------
    >>> import torch
    >>> banks = {0: [torch.tensor([[0.0]])]}
    >>> float(RandomizedLCCLoss()(torch.tensor([[3.0]]), torch.tensor([0]), torch.tensor([True]), banks))
    3.0
    """

    def __init__(self, n_per_cluster: int = 100, seed: int = 0):
        super().__init__()
        self.n_per_cluster = check_int(n_per_cluster, "n_per_cluster")
        self.seed = check_seed(seed)
        self.k = 1

    def targets(self, state: ClusterState, epoch: int = 0) -> dict[int, list[torch.Tensor]]:
        """``n_per_cluster`` draws per matched cluster, seeded ``seed + epoch``, as one bank per class."""
        g = torch.Generator().manual_seed(self.seed + int(epoch))
        draws: dict[int, list[torch.Tensor]] = {}
        for b in sorted(state.banks):
            bank = state.banks[b]
            pick = torch.randint(bank.shape[0], (self.n_per_cluster,), generator=g)
            draws.setdefault(int(state.matching[b]), []).append(bank[pick])
        return {a: [torch.cat(chunks)] for a, chunks in draws.items()}
