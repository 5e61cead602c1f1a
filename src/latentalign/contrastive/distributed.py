r"""Local loss against gathered features, with gradients (``docs/contrastive.md#eq-rank-loss``).

Under ``torch.distributed`` with world size ``W > 1``, each rank gathers every
rank's embeddings with :func:`~latentalign.train.distributed.gather_with_grad`
(its backward sums the gradients of all ranks) and scores only its own rows
against the global batch: rank ``r`` owns global rows ``r n .. r n + n - 1``.
The losses define their rank-local value ``l_r`` so that ``mean_r l_r`` is the
one-process loss on the concatenated batch; DDP's gradient average then gives
exactly its gradient (rank ``r`` receives ``sum_r' d l_r' / d z_r = W dL/dz_r``).
Gathering without grad (keeping only local gradients) would drop the other
ranks' terms. Memory per rank: ``n x W n`` scores.

In one process (or ``gather=False``) the blocks are the square ``S`` and ``S^T``
(one matrix product).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..train.distributed import check_gather, gather_with_grad, world
from .tilts import tilted_scores

__all__ = ["ScoreBlocks", "score_blocks", "world", "gather_with_grad", "check_gather"]


def _check_equal_batches(n: int, world_size: int, device) -> None:
    sizes = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(world_size)]
    torch.distributed.all_gather(sizes, torch.tensor([n], dtype=torch.int64, device=device))
    sizes = [int(s) for s in sizes]
    if any(s != n for s in sizes):
        raise ValueError(
            f"z_u: every rank must hold the same batch size, got {sizes} across ranks; "
            "use drop_last=True in the loaders"
        )


@dataclass
class ScoreBlocks:
    """Rank-local score blocks: ``rows_u[i, k] = s(u_{offset+i}, v_k)`` and
    ``rows_v[i, k] = s(u_k, v_{offset+i})`` over the global batch of ``N = W n`` pairs.
    Row ``i``'s positive is column ``offset + i``.
    """

    rows_u: torch.Tensor
    rows_v: torch.Tensor | None
    offset: int
    world_size: int

    @property
    def n(self) -> int:
        """Local rows ``n``."""
        return self.rows_u.shape[0]

    @property
    def N(self) -> int:
        """Candidate rows ``N`` over every rank."""
        return self.rows_u.shape[1]

    def positives(self) -> torch.Tensor:
        """Global column of each local row's positive."""
        return torch.arange(self.offset, self.offset + self.n, device=self.rows_u.device)

    def global_logsumexp(self, local: torch.Tensor) -> torch.Tensor:
        """``logsumexp`` over ranks of each rank's 0-d ``local`` logsumexp, with gradients."""
        if self.world_size == 1:
            return local
        return torch.logsumexp(gather_with_grad(local.reshape(1, 1)).reshape(-1), dim=0)


def score_blocks(z_u: torch.Tensor, z_v: torch.Tensor, tilt: str, scale, *, gather="auto",
                 need_v: bool = True) -> ScoreBlocks:
    """Score this rank's pairs against the global batch (inputs already validated)."""
    rank, world_size = world(gather)
    if world_size == 1:
        S = tilted_scores(z_u, z_v, tilt, scale)
        return ScoreBlocks(S, S.T if need_v else None, 0, 1)
    n = z_u.shape[0]
    _check_equal_batches(n, world_size, z_u.device)
    all_v = gather_with_grad(z_v)
    rows_v = tilted_scores(gather_with_grad(z_u), z_v, tilt, scale).T if need_v else None
    return ScoreBlocks(tilted_scores(z_u, all_v, tilt, scale), rows_v, rank * n, world_size)
