"""Run by torchrun (2 processes, gloo) from test_contrastive_distributed.py; not a test module.

Every rank holds the same linear encoders and the same 16 global pairs, keeps its
own 8, computes the loss against gathered features, backpropagates, and averages
gradients over ranks like DDP. Rank 0 compares the rank-mean loss and the averaged
gradients with one process on all 16 rows (``gather=False``) and writes the
largest differences as JSON to argv[1].
"""

import json
import sys

import torch
import torch.distributed as dist

from latentalign.contrastive import ClipLoss, ConditionalLoss, JointLoss, SigLipLoss

N_LOCAL, D_U, D_V, E = 8, 5, 4, 3

LOSSES = {
    "clip": lambda tilt, gather: ClipLoss(tilt=tilt, gather=gather),
    "cond_2_0": lambda tilt, gather: ConditionalLoss(2, 0, tilt=tilt, gather=gather),
    "cond_0_2": lambda tilt, gather: ConditionalLoss(0, 2, tilt=tilt, gather=gather),
    "cond_centered": lambda tilt, gather: ConditionalLoss(0.5, 1.5, tilt=tilt, centered=True, gather=gather),
    "joint_offdiag": lambda tilt, gather: JointLoss("offdiag", tilt=tilt, gather=gather),
    "joint_all": lambda tilt, gather: JointLoss("all", tilt=tilt, gather=gather),
    "joint_shuffle": lambda tilt, gather: JointLoss("shuffle", tilt=tilt, gather=gather),
    "siglip": lambda tilt, gather: SigLipLoss(tilt=tilt, init_bias=-2.0, gather=gather),
}


def run(make, tilt, u, v, gather):
    """Loss and gradients (encoders + the loss's own parameters) for this process's rows."""
    torch.manual_seed(0)
    enc_u = torch.nn.Linear(D_U, E).double()
    enc_v = torch.nn.Linear(D_V, E).double()
    loss_fn = make(tilt, gather).double()
    params = [*enc_u.parameters(), *enc_v.parameters(), *loss_fn.parameters()]
    loss = loss_fn(enc_u(u), enc_v(v))
    grads = torch.autograd.grad(loss, params)
    return loss.detach(), [gr.detach() for gr in grads]


def main(out_path):
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    g = torch.Generator().manual_seed(123)
    u_all = torch.randn(world * N_LOCAL, D_U, generator=g, dtype=torch.float64)
    v_all = torch.randn(world * N_LOCAL, D_V, generator=g, dtype=torch.float64)
    rows = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
    report = {"world_size": world, "cases": {}}
    for name, make in LOSSES.items():
        for tilt in ("cosine", "inner", "l2"):
            loss, grads = run(make, tilt, u_all[rows], v_all[rows], "auto")
            dist.all_reduce(loss)
            loss /= world
            for gr in grads:  # what DDP does: the average over ranks
                dist.all_reduce(gr)
                gr /= world
            ref_loss, ref_grads = run(make, tilt, u_all, v_all, False)
            report["cases"][f"{name}/{tilt}"] = {
                "loss": float(loss),
                "loss_diff": float((loss - ref_loss).abs()),
                "grad_diff": max(float((a - b).abs().max()) for a, b in zip(grads, ref_grads)),
                "grad_scale": max(float(b.abs().max()) for b in ref_grads),
            }
    # unequal local batches must be refused on every rank, naming z_u
    n_bad = N_LOCAL - rank
    try:
        ClipLoss()(u_all[:n_bad, :E].float(), v_all[:n_bad, :E].float())
        message = None
    except ValueError as err:
        message = str(err)
    messages = [None] * world
    dist.all_gather_object(messages, message)
    report["unequal_batches"] = messages
    if rank == 0:
        with open(out_path, "w") as fh:
            json.dump(report, fh)
    dist.barrier()  # no rank tears gloo down while its peer still talks to it
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
