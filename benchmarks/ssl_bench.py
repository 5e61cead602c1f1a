"""SSL benchmark: our VICReg / NT-Xent against lightly's, and SSL training throughput on digits.

1. Forward + backward of the loss on (256, 128) float32 embeddings, ours vs lightly 1.6
   (target: ours / lightly <= 1.1). lightly's package ``__init__`` chain imports torchvision,
   which does not import beside torch 2.13, so its files are loaded by path: ``vicreg_loss.py``
   alone; ``ntx_ent_loss.py`` with its sub-package ``__init__`` files bypassed (empty package
   modules pointing at the real folders) and ``lightly.models.utils`` (only used for
   multi-process memory banks) replaced by an empty module.
2. One training epoch on digits (1200 train images, batch 128, 9 steps) per method through
   ``fit_ssl`` (Lightning), and the same VICReg steps in a bare torch loop (no Lightning):
   steps per second and the Lightning overhead.

Run: ``.venv/bin/python benchmarks/ssl_bench.py`` (rewrites only ``## ssl_bench`` of RESULTS.md;
``--quick`` prints without writing). One torch thread.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
import types
from pathlib import Path

import torch
from _results import publish  # benchmarks/_results.py (script folder is on sys.path)

from latentalign.ssl.losses import NTXentLoss, VICRegLoss

SECTION = "## ssl_bench"
BATCH, DIM = 256, 128
TARGET = 1.1


def load_lightly() -> dict:
    """lightly's VICRegLoss and NTXentLoss classes, or {} when lightly is not installed."""
    spec = importlib.util.find_spec("lightly")
    if spec is None:
        return {}
    root = Path(list(spec.submodule_search_locations)[0])
    for name, folder in (("lightly.loss", "loss"), ("lightly.models", "models"),
                         ("lightly.models.modules", "models/modules")):
        package = types.ModuleType(name)
        package.__path__ = [str(root / folder)]
        sys.modules.setdefault(name, package)
    sys.modules.setdefault("lightly.models.utils", types.ModuleType("lightly.models.utils"))
    return {
        "vicreg": importlib.import_module("lightly.loss.vicreg_loss").VICRegLoss,
        "ntxent": importlib.import_module("lightly.loss.ntx_ent_loss").NTXentLoss,
    }


def time_loss(loss_fn, z1, z2, iters: int, repeats: int) -> list[float]:
    """Seconds per forward + backward, one value per repeat."""
    times = []
    for _ in range(repeats):
        a, b = z1.clone().requires_grad_(), z2.clone().requires_grad_()
        start = time.perf_counter()
        for _ in range(iters):
            loss_fn(a, b).backward()
        times.append((time.perf_counter() - start) / iters)
    return times


def case_losses(iters: int, repeats: int) -> dict:
    peers = load_lightly()
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(BATCH, DIM, generator=g)
    z2 = z1 + 0.3 * torch.randn(BATCH, DIM, generator=g)
    out = {}
    for key, ours in (("vicreg", VICRegLoss()), ("ntxent", NTXentLoss(0.5))):
        row = {"ours": [], "lightly": [], "value_ours": ours(z1, z2).item()}
        theirs = peers[key]() if key in peers else None
        row["value_lightly"] = theirs(z1, z2).item() if theirs else None
        for _ in range(repeats):  # interleave, one repeat each at a time
            row["ours"] += time_loss(ours, z1, z2, iters, 1)
            if theirs:
                row["lightly"] += time_loss(theirs, z1, z2, iters, 1)
        out[key] = row
    return out


def _bare_vicreg_epoch(X: torch.Tensor, epochs: int) -> float:
    """The VICReg steps of ``fit_ssl`` in a plain torch loop; seconds per epoch."""
    from latentalign.ssl.module import build_networks, default_augment

    nets = build_networks("vicreg", 64)
    enc, head = nets["encoder"], nets["head"]
    aug, loss = default_augment((8, 8)), VICRegLoss()
    opt = torch.optim.Adam(list(enc.parameters()) + list(head.parameters()), lr=1e-3, weight_decay=1e-5)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=gen)
        for i in range(len(X) // 128):
            x = X[perm[i * 128:(i + 1) * 128]]
            value = loss(head(enc(aug(x, gen))), head(enc(aug(x, gen))))
            opt.zero_grad()
            value.backward()
            opt.step()
    return (time.perf_counter() - start) / epochs


def case_training(epochs: int) -> dict:
    from latentalign.ssl.module import METHODS, fit_ssl, split_dataset

    data = split_dataset("digits", seed=0)
    steps = len(data.X_train) // 128
    out = {"steps_per_epoch": steps, "epochs": epochs, "methods": {}}
    fit_ssl("dae", data.X_train[:256], epochs=1, image_shape=(8, 8))  # warm-up: imports, Lightning setup
    for method in METHODS:
        start = time.perf_counter()
        fit_ssl(method, data.X_train, data.y_train, epochs=epochs, seed=0, image_shape=(8, 8))
        per_epoch = (time.perf_counter() - start) / epochs
        out["methods"][method] = {"epoch_seconds": per_epoch, "steps_per_second": steps / per_epoch}
    bare = _bare_vicreg_epoch(torch.as_tensor(data.X_train), epochs)
    out["bare_vicreg"] = {"epoch_seconds": bare, "steps_per_second": steps / bare}
    return out


def render(losses: dict, training: dict, wall: float, iters: int) -> str:
    lines = [SECTION, "",
             "Produced by `.venv/bin/python benchmarks/ssl_bench.py` (1 torch thread, shared 2-core machine). "
             f"Loss times: forward + backward, mean of {iters} calls, best of the interleaved repeats. "
             f"Run took {wall:.0f} s; torch {torch.__version__}.", "",
             f"### 1. Losses on ({BATCH}, {DIM}) float32 embeddings", "",
             "| loss | ours | lightly 1.6 | ours / lightly | value ours | value lightly | target |",
             "|---|---|---|---|---|---|---|"]
    for key, label in (("vicreg", "VICReg (25/25/1)"), ("ntxent", "NT-Xent (t = 0.5)")):
        r = losses[key]
        ours = min(r["ours"])
        if r["lightly"]:
            theirs = min(r["lightly"])
            ratio = ours / theirs
            verdict = "PASS" if ratio <= TARGET else "FAIL"
            lines.append(f"| {label} | {ours * 1e3:.3f} ms | {theirs * 1e3:.3f} ms | {ratio:.2f} | "
                         f"{r['value_ours']:.7f} | {r['value_lightly']:.7f} | <= {TARGET} **{verdict}** |")
        else:
            lines.append(f"| {label} | {ours * 1e3:.3f} ms | not installed | - | {r['value_ours']:.7f} | - | - |")
    lines += ["", f"### 2. Training on digits (1200 images, batch 128, {training['steps_per_epoch']} steps/epoch, "
              f"mean over {training['epochs']} epochs, Lightning `fit_ssl`)", "",
              "| method | s / epoch | steps / s |", "|---|---|---|"]
    for method, r in training["methods"].items():
        lines.append(f"| {method} | {r['epoch_seconds']:.3f} | {r['steps_per_second']:.1f} |")
    bare = training["bare_vicreg"]
    overhead = training["methods"]["vicreg"]["epoch_seconds"] / bare["epoch_seconds"]
    lines += [f"| vicreg, bare torch loop (no Lightning, no probe) | {bare['epoch_seconds']:.3f} | "
              f"{bare['steps_per_second']:.1f} |", "",
              f"Lightning `fit_ssl` / bare loop time for VICReg: {overhead:.2f} (includes the online probe).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs; RESULTS.md not written")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    iters, repeats, epochs = (10, 3, 1) if args.quick else (50, 7, 3)
    start = time.perf_counter()
    losses = case_losses(iters, repeats)
    training = case_training(epochs)
    section = render(losses, training, time.perf_counter() - start, iters)
    print(section)
    return publish("ssl_bench", section, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
