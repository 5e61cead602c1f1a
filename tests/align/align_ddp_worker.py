"""Worker for the 2-process gloo test: each rank streams its shard; rank 0 writes what compute() gives.

Run by ``torchrun --standalone --nproc_per_node=2 align_ddp_worker.py OUT.json``.
"""

import json
import sys

import torch
import torch.distributed as dist

from latentalign.align.streaming import LayerCKA, LinearCKA


def data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(600, 6, generator=g, dtype=torch.float64) * 2 + 50
    Y = X[:, :4] @ torch.randn(4, 5, generator=g, dtype=torch.float64) + torch.randn(600, 5, generator=g,
                                                                                         dtype=torch.float64)
    Z = torch.tanh((X[:, :3] - 50) / 2)
    return X, Y, Z


def main(out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    X, Y, Z = data()
    rows = torch.arange(0, 301) if rank == 0 else torch.arange(301, 600)  # uneven shards
    metrics = {"biased": LinearCKA(), "unbiased": LinearCKA(unbiased=True),
               "layers": LayerCKA([6, 3], [5], unbiased=True)}
    for start in range(0, rows.shape[0], 37 + 20 * rank):  # different batch sizes per rank
        r = rows[start:start + 37 + 20 * rank]
        metrics["biased"].update(X[r], Y[r])
        metrics["unbiased"].update(X[r], Y[r])
        metrics["layers"].update([X[r], Z[r]], [Y[r]])
    result = {name: m.compute().tolist() for name, m in metrics.items()}
    result["stitcher_T"] = metrics["biased"].stitcher(1e-3).T.tolist()
    if rank == 0:
        with open(out, "w") as fh:
            json.dump(result, fh)
    dist.barrier()  # tearing gloo down while the peer still talks to it can abort the process
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
