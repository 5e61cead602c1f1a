"""LCC under ``torch.distributed``: gather the latents by id, cluster once, share the result.

Each rank collects its shard (``allow_missing=True``). :func:`gather_collected`
merges the shards: a sample seen by several ranks (``DistributedSampler``
padding) keeps the row of the lowest rank that saw it, then one ``all_reduce``
gives every rank the whole ``(N, D)`` latents and labels; a sample no rank saw is
an error. :func:`share_clustering` runs the clustering on rank 0 only and
broadcasts the partition, matching, masks, graph and metrics; each rank then
rebuilds the banks from its (identical) latents. Without an initialised process
group both are the identity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch
import torch.distributed as dist

from ..train.distributed import is_distributed
from .collect import Collected
from .state import ClusterState

__all__ = ["gather_collected", "share_clustering"]


def _device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def gather_collected(col: Collected) -> Collected:
    """The union of every rank's collected shard, identical on all ranks (identity when not distributed)."""
    if not is_distributed():
        return col
    device = _device()
    present = col.present.to(device)
    seen = [torch.zeros_like(present) for _ in range(dist.get_world_size())]
    dist.all_gather(seen, present)
    seen = torch.stack(seen)  # (world, N)
    if not bool(seen.any(0).all()):
        missing = torch.nonzero(~seen.any(0)).flatten()[:10].tolist()
        raise ValueError(f"loader: {int((~seen.any(0)).sum())} sample ids were seen by no rank (e.g. {missing})")
    owner = seen.to(torch.int8).argmax(0)  # the lowest rank that saw the id
    mine = owner == dist.get_rank()
    latents = {}
    for name, z in col.latents.items():
        z = z.to(device) * mine.unsqueeze(1).to(z.dtype)
        dist.all_reduce(z)
        latents[name] = z.cpu()
    labels = torch.where(mine, col.labels.to(device) + 1, 0)
    dist.all_reduce(labels)
    return Collected(latents, (labels - 1).cpu(), torch.ones_like(col.present))


def share_clustering(cluster: Callable[[], ClusterState]) -> ClusterState:
    """``cluster()`` on rank 0, broadcast without latents and banks (rebuild them with ``completed``)."""
    if not is_distributed():
        return cluster()
    state = cluster() if dist.get_rank() == 0 else None
    box = [replace(state, latents=None, labels=None, banks={}) if state is not None else None]
    dist.broadcast_object_list(box, src=0, device=_device())
    return state if state is not None else box[0]
