"""Benchmark of the contrastive losses against open_clip's, as same-run ratios.

Run from the repository root::

    .venv/bin/python benchmarks/contrastive_bench.py           # batch 1024, dim 256; rewrites its RESULTS.md section
    .venv/bin/python benchmarks/contrastive_bench.py --quick   # batch 256, writes nothing

Cases: forward + backward of ``latentalign.contrastive.ClipLoss`` and ``SigLipLoss``
against ``open_clip``'s ``ClipLoss`` and ``SigLipLoss`` (``open_clip/loss.py`` loaded by
path: the package imports torchvision, which cannot be imported beside this torch),
float32, one process. Both sides start from the same raw features: ours normalises
inside the loss (cosine tilt), open_clip is given ``F.normalize`` of them, as its
models do before the loss; the scale is ``exp(t)`` of a learnable ``t`` on both sides.
Target: our time / open_clip's time at most 1.1 (best of ``--repeats``, interleaved
round-robin; median in brackets), values and gradients equal to 1e-5 (relative).
Peak memory: rise of ``VmHWM`` above its value after imports and data creation, each
contender alone in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _results import publish  # benchmarks/ is on sys.path when run as a script
from core_bench import _peak_kib, best, fmt_s, interleaved, machine, med

from latentalign.contrastive import ClipLoss, SigLipLoss

TARGET = 1.1
REL_TOL = 1e-5
FULL, QUICK = {"n": 1024, "d": 256}, {"n": 256, "d": 64}
CONTENDERS = ("ours_clip", "open_clip_clip", "ours_siglip", "open_clip_siglip")


def open_clip_losses():
    """``open_clip/loss.py`` alone, by path; ``None`` if open-clip-torch is not installed."""
    try:
        path = Path(importlib.metadata.distribution("open_clip_torch").locate_file("open_clip/loss.py"))
    except importlib.metadata.PackageNotFoundError:
        return None
    spec = importlib.util.spec_from_file_location("_open_clip_loss", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_case(name: str, n: int, d: int, oc):
    """A zero-argument callable doing one forward + backward, and the leaves whose grads it fills."""
    g = torch.Generator().manual_seed(0)
    u = torch.randn(n, d, generator=g).requires_grad_()
    v = torch.randn(n, d, generator=g).requires_grad_()
    if name.startswith("ours"):
        loss = ClipLoss() if name == "ours_clip" else SigLipLoss()
        params = [u, v, loss.temperature.log_scale] + ([loss.bias] if name == "ours_siglip" else [])

        def step():
            for p in params:
                p.grad = None
            out = loss(u, v)
            out.backward()
            return out.detach()
        return step, params
    t = torch.tensor(math.log(1 / 0.07) if name == "open_clip_clip" else math.log(10.0), requires_grad=True)
    b = torch.tensor(-10.0, requires_grad=True)
    clip, siglip = oc.ClipLoss(), oc.SigLipLoss()
    params = [u, v, t] if name == "open_clip_clip" else [u, v, t, b]

    def step():
        for p in params:
            p.grad = None
        fu, fv = F.normalize(u, dim=-1), F.normalize(v, dim=-1)
        out = clip(fu, fv, t.exp()) if name == "open_clip_clip" else siglip(fu, fv, t.exp(), b)
        out.backward()
        return out.detach()
    return step, params


def agreement(ours: str, theirs: str, n: int, d: int, oc) -> float:
    """Largest relative difference of loss and gradients between the two contenders."""
    worst = 0.0
    results = []
    for name in (ours, theirs):
        step, params = make_case(name, n, d, oc)
        results.append((step(), [p.grad.clone() for p in params]))
    (la, ga), (lb, gb) = results
    for a, b in zip([la, *ga], [lb, *gb]):
        worst = max(worst, float((a - b).abs().max() / b.abs().max().clamp_min(1e-30)))
    return worst


def memory_child(name: str, n: int, d: int) -> None:
    """Hidden ``--case NAME``: one forward + backward in a fresh process; JSON on the last line."""
    oc = open_clip_losses()
    step, _ = make_case(name, n, d, oc)
    base = _peak_kib()
    step()
    print(json.dumps({"name": name, "increment_mib": (_peak_kib() - base) / 1024}))


def memory_in_subprocess(name: str, n: int, d: int) -> float:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", name, "--n", str(n), "--d", str(d)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"memory subprocess for {name} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])["increment_mib"]


def render(m: dict, size: dict, times: dict, ratios: dict, errs: dict, mem: dict, repeats: int, wall: float) -> str:
    lines = [
        "## contrastive_bench",
        "",
        ("Produced by `.venv/bin/python benchmarks/contrastive_bench.py`. Forward + backward of one loss on "
         f"batch {size['n']}, dim {size['d']}, float32; ours (normalisation inside the loss) vs open_clip 3.x "
         "(`open_clip/loss.py` loaded by path, given `F.normalize`d features). Ratio = our time / open_clip's, "
         f"best of {repeats} interleaved repetitions (median in brackets); target <= {TARGET}. Peak memory: rise of "
         "`VmHWM` after imports + data creation, each contender alone in a fresh subprocess."),
        "",
        (f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable, shared with other jobs); torch "
         f"{m['torch']} ({m['torch_threads']} threads, default). Date: {m['date']}. Load average (1 min) at start "
         f"{m['load_start']:.2f}, at end {m['load_end']:.2f}; run took {wall:.0f} s."),
        "",
        "| loss | ours | open_clip | ours / open_clip (best) | target | peak memory ours / open_clip | max rel. diff |",
        "|---|---|---|---|---|---|---|",
    ]
    for loss in ("clip", "siglip"):
        o, t = f"ours_{loss}", f"open_clip_{loss}"
        verdict = "PASS" if ratios[loss][0] <= TARGET and errs[loss] <= REL_TOL else "FAIL"
        lines.append(
            f"| {'CLIP' if loss == 'clip' else 'SigLIP'} | {fmt_s(best(times[o]))} | {fmt_s(best(times[t]))} | "
            f"{ratios[loss][0]:.2f} ({ratios[loss][1]:.2f}) | <= {TARGET}: **{verdict}** | "
            f"{mem[o]:.0f} / {mem[t]:.0f} MiB | {errs[loss]:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="batch 256, dim 64; RESULTS.md is not written")
    ap.add_argument("--repeats", type=int, default=20, help="timed repetitions per contender (best is reported)")
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--d", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    size = dict(QUICK if args.quick else FULL)
    if args.case:
        memory_child(args.case, args.n or size["n"], args.d or size["d"])
        return 0
    oc = open_clip_losses()
    if oc is None:
        print("open-clip-torch is not installed (pip install open-clip-torch --no-deps); nothing to compare")
        return 1
    t0 = time.perf_counter()
    m = machine()
    steps = {name: make_case(name, size["n"], size["d"], oc)[0] for name in CONTENDERS}
    for step in steps.values():  # warm-up, untimed
        step()
    times, _ = interleaved(steps, args.repeats)
    ratios = {loss: (best(times[f"ours_{loss}"]) / best(times[f"open_clip_{loss}"]),
                     med(times[f"ours_{loss}"]) / med(times[f"open_clip_{loss}"])) for loss in ("clip", "siglip")}
    errs = {loss: agreement(f"ours_{loss}", f"open_clip_{loss}", size["n"], size["d"], oc) for loss in ("clip", "siglip")}
    mem = {name: memory_in_subprocess(name, size["n"], size["d"]) for name in CONTENDERS}
    m["load_end"] = os.getloadavg()[0]
    wall = time.perf_counter() - t0
    section = render(m, size, times, ratios, errs, mem, args.repeats, wall)
    print(section)
    return publish("contrastive_bench", section, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
