"""Check 11: two gloo processes (DistributedSampler, padded shards) give the one-process state."""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, DistributedSampler

from latentalign.lcc import ClusterCorrection, SampleIdDataset
from latentalign.models import MLP

N = 301  # odd: the sampler pads one rank with a repeated id


def _setup():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(N) % 3
    X = torch.eye(8)[y] * 3 + torch.randn(N, 8, generator=g)
    torch.manual_seed(0)
    return SampleIdDataset(X, y), MLP(8, (16, 8), 3)


def _summary(corr):
    s = corr.state["penultimate"]
    return {"latents": s.latents, "labels": s.labels, "communities": s.communities, "matching": s.matching,
            "cc": s.cc, "mc": s.mc, "banks": s.banks, "targets": corr.targets["penultimate"],
            "metrics": s.metrics}


def _worker(rank, port, out):
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        ds, model = _setup()
        loader = DataLoader(ds, batch_size=32, sampler=DistributedSampler(ds, num_replicas=2, rank=rank, seed=0))
        corr = ClusterCorrection("penultimate", 3, k=10, warmup=0, matching="aligned")
        corr.update(model, loader, 0)
        torch.save(_summary(corr), os.path.join(out, f"rank{rank}.pt"))
        dist.barrier()  # tearing gloo down while the peer still talks to it can abort the process
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process(tmp_path, free_port):
    mp.spawn(_worker, args=(free_port, str(tmp_path)), nprocs=2, join=True)
    ds, model = _setup()
    corr = ClusterCorrection("penultimate", 3, k=10, warmup=0)
    corr.update(model, DataLoader(ds, batch_size=50), 0)
    ref = _summary(corr)
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        assert torch.allclose(got["latents"], ref["latents"], atol=1e-6)
        for key in ("labels", "communities", "matching", "cc", "mc"):
            assert torch.equal(got[key], ref[key]), key
        assert sorted(got["banks"]) == sorted(ref["banks"])
        assert all(torch.allclose(got["banks"][b], ref["banks"][b], atol=1e-6) for b in ref["banks"])
        assert got["metrics"]["modularity"] == pytest.approx(ref["metrics"]["modularity"])
