"""gather_with_grad: rank order forward, summed own-slice gradients backward (two gloo processes)."""

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from latentalign.train.distributed import gather_with_grad, world

N, D, W = 3, 2, 2


def _local(rank: int) -> torch.Tensor:
    return torch.arange(N * D, dtype=torch.float64).reshape(N, D) + 100 * rank


def _weights(rank: int) -> torch.Tensor:
    """Each rank's loss weighs the gathered batch differently, so the gradient needs every rank."""
    return torch.linspace(-1, 1, W * N * D, dtype=torch.float64).reshape(W * N, D) * (rank + 2)


def _worker(rank, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=W)
    try:
        z = _local(rank).requires_grad_(True)
        g = gather_with_grad(z)
        (g**2 * _weights(rank)).sum().backward()
        torch.save({"world": world(), "gathered": g.detach(), "grad": z.grad}, os.path.join(out, f"{rank}.pt"))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_two_ranks_gather_in_rank_order_and_sum_gradients(tmp_path, free_port):
    mp.spawn(_worker, args=(free_port, str(tmp_path)), nprocs=W, join=True)
    full = torch.cat([_local(r) for r in range(W)])
    total_weight = sum(_weights(r) for r in range(W))  # d/dz of sum_r (g^2 * w_r) = 2 g sum_r w_r
    for rank in range(W):
        got = torch.load(tmp_path / f"{rank}.pt")
        assert got["world"] == (rank, W)
        assert torch.equal(got["gathered"], full)
        rows = slice(rank * N, (rank + 1) * N)
        assert torch.allclose(got["grad"], 2 * full[rows] * total_weight[rows])


def test_one_process_gathers_nothing():
    z = torch.ones(3, 2, requires_grad=True)
    assert gather_with_grad(z) is z and world() == (0, 1)
