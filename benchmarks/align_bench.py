"""Benchmark of latentalign.align against the common reference implementations, as same-run ratios.

Run from the repository root::

    .venv/bin/python benchmarks/align_bench.py           # full sizes, rewrites its section of RESULTS.md
    .venv/bin/python benchmarks/align_bench.py --quick   # smoke run at small sizes, writes nothing

Targets: issue 3 (results in ``docs/align.md#align-performance``); the baselines restate the reference choices of
minyoungg/platonic-rep and the CKA notebooks (yuanli2333/CKA):

1. Linear CKA, n = 10000, d = 512 (float64): ``align.cka`` (feature path) against the
   n x n Grams centred with an explicit ``H = I - 11^T/n`` (``H K H``, ``H L H``, then
   ``sum(HKH * HLH)``); at least 100x faster, and within 1.5x of the time of the three
   GEMMs ``X^T Y``, ``X^T X``, ``Y^T Y`` that any exact method needs (the floor).
2. Unbiased linear CKA, n = 4000, d = 512 (the spec gives no d; case 1's is used, where the
   flop ratio is only ~67x): against platonic-rep's ``hsic_unbiased`` (zeroed diagonals,
   ``K~ @ L~`` products) for the cross and both self terms; >= 50x. Repeated with both sides
   on one thread (information): on a shared machine every small parallel op of ours waits a
   scheduler tick for the second thread, which the baseline's few huge products do not feel.
3. Mutual kNN, n = 20000, d = 256, k = 10 (float32 features): ``align.mutual_knn``
   (blocked top-k) against platonic-rep's ``mutual_knn`` (full similarity matrix,
   ``argsort`` of every row, two n x n masks); >= 10x faster with <= 1/4 of the peak
   memory (rise of ``VmHWM``, each method alone in a fresh subprocess).
4. Streaming linear CKA over n = 1,000,000 rows, d = 256, chunks of 10,000
   (``align.streaming.LinearCKA``; the data is generated chunk by chunk, never held):
   peak memory under 1 GiB. Exactness is checked at n = 100,000 against ``align.cka``.

Every time is the best of the repeats (median printed too); ours and the baseline
are interleaved so load from other processes hits both. torch keeps its default
thread count (printed and recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from _results import publish  # benchmarks/_results.py (script folder is on sys.path)
from core_bench import (  # same-folder helpers
    _peak_kib,
    best,
    fmt_s,
    machine,
    med,
    verdict,
)

from latentalign import align
from latentalign.align.streaming import LinearCKA

SECTION = "## align_bench"

CKA_SPEED, CKA_FLOOR, UNBIASED_SPEED, KNN_SPEED, KNN_MEMORY, STREAM_GIB = 100.0, 1.5, 50.0, 10.0, 0.25, 1.0
FULL = {"cka_n": 10_000, "cka_d": 512, "u_n": 4000, "u_d": 512, "knn_n": 20_000, "knn_d": 256, "stream_n": 1_000_000,
        "stream_d": 256, "check_n": 100_000}
QUICK = {"cka_n": 1500, "cka_d": 128, "u_n": 800, "u_d": 128, "knn_n": 3000, "knn_d": 64, "stream_n": 50_000,
         "stream_d": 64, "check_n": 20_000}
KNN_K, CHUNK = 10, 10_000


def pair(n: int, d: int, seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=dtype)
    Y = X @ torch.randn(d, d, generator=g, dtype=dtype) / d**0.5 + torch.randn(n, d, generator=g, dtype=dtype)
    return X, Y


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def alternate(fns: dict, repeats: dict) -> tuple[dict, dict]:
    """Round-robin timing; ``repeats[name]`` runs each (a slow baseline may run fewer times)."""
    times, outs = {k: [] for k in fns}, {}
    for r in range(max(repeats.values())):
        for name, fn in fns.items():
            if r < repeats[name]:
                t, outs[name] = timed(fn)
                times[name].append(t)
    return times, outs


# --------------------------------------------------------------------------- case 1 and 2
def gram_cka_explicit_h(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Reference linear CKA: n x n Grams, ``H K H`` with an explicit centring matrix, Frobenius sums."""
    n = X.shape[0]
    H = torch.eye(n, dtype=X.dtype) - torch.full((n, n), 1.0 / n, dtype=X.dtype)
    Kc = H @ (X @ X.T) @ H
    Lc = H @ (Y @ Y.T) @ H
    return (Kc * Lc).sum() / torch.sqrt((Kc * Kc).sum() * (Lc * Lc).sum())


def platonic_hsic_unbiased(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """minyoungg/platonic-rep ``hsic_unbiased``, restated (n^3 product ``K~ @ L~``)."""
    m = K.shape[0]
    Kt, Lt = K.clone().fill_diagonal_(0), L.clone().fill_diagonal_(0)
    return ((Kt * Lt.T).sum() + Kt.sum() * Lt.sum() / ((m - 1) * (m - 2)) - 2 * (Kt @ Lt).sum() / (m - 2)) / (
        m * (m - 3))


def platonic_cka_unbiased(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    K, L = X @ X.T, Y @ Y.T
    return platonic_hsic_unbiased(K, L) / torch.sqrt(platonic_hsic_unbiased(K, K) * platonic_hsic_unbiased(L, L))


def case_cka(n: int, d: int, repeats: int) -> dict:
    X, Y = pair(n, d, 0)
    align.cka(X[:256], Y[:256])  # warm-up
    gemms = lambda: (X.T @ Y, X.T @ X, Y.T @ Y)
    times, outs = alternate({"ours": lambda: align.cka(X, Y), "gemms": gemms, "baseline": lambda: gram_cka_explicit_h(X, Y)},
                            {"ours": repeats, "gemms": repeats, "baseline": 1})
    ours = best(times["ours"])
    return {"n": n, "d": d, "times": times, "ours": float(outs["ours"]), "baseline_value": float(outs["baseline"]),
            "rel_err": abs(float(outs["ours"]) / float(outs["baseline"]) - 1),
            "speedup": best(times["baseline"]) / ours, "over_floor": ours / best(times["gemms"]),
            "over_floor_median": med(times["ours"]) / med(times["gemms"])}


def case_unbiased(n: int, d: int, repeats: int, threads: int | None = None) -> dict:
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _case_unbiased(n, d, repeats) | {"threads": torch.get_num_threads()}
    finally:
        torch.set_num_threads(saved)


def _case_unbiased(n: int, d: int, repeats: int) -> dict:
    X, Y = pair(n, d, 1)
    times, outs = alternate({"ours": lambda: align.cka(X, Y, unbiased=True), "baseline": lambda: platonic_cka_unbiased(X, Y)},
                            {"ours": repeats, "baseline": max(1, repeats // 2)})
    return {"n": n, "d": d, "times": times, "ours": float(outs["ours"]), "baseline_value": float(outs["baseline"]),
            "rel_err": abs(float(outs["ours"]) / float(outs["baseline"]) - 1),
            "speedup": best(times["baseline"]) / best(times["ours"])}


# --------------------------------------------------------------------------- case 3
def platonic_mutual_knn(X: torch.Tensor, Y: torch.Tensor, k: int) -> float:
    """platonic-rep ``mutual_knn`` on row-normalised features: full argsort, two n x n masks."""
    def neighbours(Z):
        Z = Z / Z.norm(dim=1, keepdim=True)
        return (Z @ Z.T).fill_diagonal_(-1e8).argsort(dim=1, descending=True)[:, :k]

    kx = neighbours(X)
    ky = neighbours(Y)
    n = X.shape[0]
    rows = torch.arange(n).unsqueeze(1)
    mx, my = torch.zeros(n, n), torch.zeros(n, n)
    mx[rows, kx] = 1.0
    my[rows, ky] = 1.0
    return float(((mx * my).sum(1) / k).mean())


KNN_METHODS = {"ours": lambda X, Y: float(align.mutual_knn(X, Y, k=KNN_K)), "baseline": lambda X, Y: platonic_mutual_knn(X, Y, KNN_K)}


def knn_data(n: int, d: int):
    return pair(n, d, 2, torch.float32)


def stream_cka(n: int, d: int) -> float:
    """Streaming CKA of ``n`` generated rows in chunks; no chunk outlives its update."""
    m = LinearCKA()
    g = torch.Generator().manual_seed(3)
    W = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    for start in range(0, n, CHUNK):
        X = torch.randn(min(CHUNK, n - start), d, generator=g, dtype=torch.float64) + 5.0
        m.update(X, X @ W + torch.randn(X.shape[0], d, generator=g, dtype=torch.float64))
    return float(m.compute())


def child(case: str, n: int, d: int) -> None:
    """Hidden ``--child``: one method in a fresh process; prints JSON (time, peak memory rise)."""
    if case == "stream":
        base = _peak_kib()
        t, value = timed(lambda: stream_cka(n, d))
    else:
        X, Y = knn_data(n, d)
        base = _peak_kib()
        t, value = timed(lambda: KNN_METHODS[case](X, Y))
    print(json.dumps({"case": case, "time_s": t, "value": value, "increment_mib": (_peak_kib() - base) / 1024}))


def in_subprocess(case: str, n: int, d: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", case, "--n", str(n), "--d", str(d)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{case} subprocess failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def case_knn(n: int, d: int, repeats: int) -> dict:
    X, Y = knn_data(n, d)
    align.mutual_knn(X[:300], Y[:300], k=KNN_K)  # warm-up
    times, outs = alternate({name: (lambda f=f: f(X, Y)) for name, f in KNN_METHODS.items()},
                            {"ours": repeats, "baseline": max(1, repeats // 2)})
    mem = {name: in_subprocess(name, n, d) for name in KNN_METHODS}
    return {"n": n, "d": d, "times": times, "values": outs, "memory": mem,
            "speedup": best(times["baseline"]) / best(times["ours"]),
            "memory_fraction": mem["ours"]["increment_mib"] / mem["baseline"]["increment_mib"]}


def case_stream(n: int, d: int, check_n: int) -> dict:
    run = in_subprocess("stream", n, d)
    g = torch.Generator().manual_seed(4)
    X = torch.randn(check_n, d, generator=g, dtype=torch.float64) + 5.0
    Y = X @ torch.randn(d, d, generator=g, dtype=torch.float64) + torch.randn(check_n, d, generator=g, dtype=torch.float64)
    m = LinearCKA()
    for start in range(0, check_n, CHUNK):
        m.update(X[start:start + CHUNK], Y[start:start + CHUNK])
    return {"n": n, "d": d, "run": run, "check_n": check_n, "check_diff": abs(float(m.compute()) - float(align.cka(X, Y)))}


# --------------------------------------------------------------------------- report
def render(m: dict, c1: dict, c2: dict, c2b: dict, c3: dict, c4: dict, repeats: int, wall: float) -> str:
    t1, t2, t3 = c1["times"], c2["times"], c3["times"]
    mem = c3["memory"]
    ok1 = c1["speedup"] >= CKA_SPEED and c1["over_floor"] <= CKA_FLOOR and c1["rel_err"] < 1e-8
    ok2 = c2["speedup"] >= UNBIASED_SPEED and c2["rel_err"] < 1e-8
    ok3 = c3["speedup"] >= KNN_SPEED and c3["memory_fraction"] <= KNN_MEMORY
    peak_gib = c4["run"]["increment_mib"] / 1024
    lines = [
        SECTION, "",
        "Produced by `.venv/bin/python benchmarks/align_bench.py`. Ratios are baseline time / our time, both measured "
        f"in this run, interleaved; ours is the best of {repeats} (the slow baselines run fewer times; median in "
        "brackets). Peak memory: rise of `VmHWM` above its value after imports + data creation, each method alone in "
        "a fresh subprocess (as in core_bench).", "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable, shared with other jobs), "
        f"{m['memory_gib']} GiB RAM; Python {m['python']}, torch {m['torch']} ({m['torch_threads']} threads, default). "
        f"Date: {m['date']}. Load average (1 min) {m['load_start']:.2f} at start, {m['load_end']:.2f} at end; "
        f"run took {wall:.0f} s.", "",
        "| case | ours | baseline | baseline / ours | target | verdict |", "|---|---|---|---|---|---|",
        f"| 1. linear CKA, n={c1['n']}, d={c1['d']}, float64: `align.cka` vs `H K H` Grams with explicit H | "
        f"{fmt_s(best(t1['ours']))} ({fmt_s(med(t1['ours']))}) | {fmt_s(best(t1['baseline']))} | "
        f"{c1['speedup']:.0f}x | >= {CKA_SPEED:g}x | {verdict(c1['speedup'] >= CKA_SPEED)} |",
        f"| 1b. same, against the three GEMMs X^T Y, X^T X, Y^T Y (the floor) | {fmt_s(best(t1['ours']))} | "
        f"{fmt_s(best(t1['gemms']))} ({fmt_s(med(t1['gemms']))}) | ours = {c1['over_floor']:.2f}x the floor "
        f"(median {c1['over_floor_median']:.2f}x) | <= {CKA_FLOOR:g}x | {verdict(c1['over_floor'] <= CKA_FLOOR)} |",
        f"| 2. unbiased linear CKA, n={c2['n']}, d={c2['d']}: vs platonic-rep `hsic_unbiased` (K~ @ L~) x 3 | "
        f"{fmt_s(best(t2['ours']))} ({fmt_s(med(t2['ours']))}) | {fmt_s(best(t2['baseline']))} | {c2['speedup']:.0f}x | "
        f">= {UNBIASED_SPEED:g}x | {verdict(ok2)} |",
        f"| 2b. same, both sides on {c2b['threads']} thread (information) | "
        f"{fmt_s(best(c2b['times']['ours']))} | {fmt_s(best(c2b['times']['baseline']))} | {c2b['speedup']:.0f}x | - | - |",
        f"| 3. mutual kNN, n={c3['n']}, d={c3['d']}, k={KNN_K}, float32: vs platonic-rep (full argsort, n x n masks) | "
        f"{fmt_s(best(t3['ours']))} ({fmt_s(med(t3['ours']))}) | {fmt_s(best(t3['baseline']))} | {c3['speedup']:.1f}x | "
        f">= {KNN_SPEED:g}x | {verdict(c3['speedup'] >= KNN_SPEED)} |",
        f"| 3b. same, peak memory rise | {mem['ours']['increment_mib']:.0f} MiB | {mem['baseline']['increment_mib']:.0f} MiB "
        f"| ours = {c3['memory_fraction']:.3f} of the baseline | <= {KNN_MEMORY:g} | {verdict(c3['memory_fraction'] <= KNN_MEMORY)} |",
        f"| 4. streaming linear CKA, n={c4['n']:,}, d={c4['d']}, chunks of {CHUNK:,} | {fmt_s(c4['run']['time_s'])}, "
        f"peak +{c4['run']['increment_mib']:.0f} MiB | impossible in memory (n x n Grams: {c4['n'] ** 2 * 8 / 1e12:.0f} TB) "
        f"| - | peak < {STREAM_GIB:g} GiB | {verdict(peak_gib < STREAM_GIB)} |", "",
        f"Values: case 1 ours {c1['ours']:.15g} vs baseline {c1['baseline_value']:.15g} (rel. diff {c1['rel_err']:.1e}); "
        f"case 2 {c2['ours']:.15g} vs {c2['baseline_value']:.15g} (rel. diff {c2['rel_err']:.1e}); case 3 ours "
        f"{c3['values']['ours']:.6f} vs baseline {c3['values']['baseline']:.6f}; case 4 streamed CKA "
        f"{c4['run']['value']:.12f}, and at n = {c4['check_n']:,} streaming differs from `align.cka` by "
        f"{c4['check_diff']:.1e}.", "",
        f"All targets: **{verdict(ok1 and ok2 and ok3 and peak_gib < STREAM_GIB)}**", "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; RESULTS.md is not written")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions of our methods (best is reported)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--d", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.n, args.d)
        return 0
    sizes = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    m = machine()
    print(f"align_bench{' --quick' if args.quick else ''}: {m['cpu']}, torch {m['torch']} ({m['torch_threads']} threads)",
          flush=True)
    print(f"[1] linear CKA n={sizes['cka_n']} ...", flush=True)
    c1 = case_cka(sizes["cka_n"], sizes["cka_d"], args.repeats)
    print(f"    {c1['speedup']:.0f}x vs explicit H; {c1['over_floor']:.2f}x the three GEMMs", flush=True)
    print(f"[2] unbiased CKA n={sizes['u_n']} ...", flush=True)
    c2 = case_unbiased(sizes["u_n"], sizes["u_d"], args.repeats)
    c2b = case_unbiased(sizes["u_n"], sizes["u_d"], args.repeats, threads=1)
    print(f"    {c2['speedup']:.0f}x vs platonic-rep, {c2b['speedup']:.0f}x with both on one thread", flush=True)
    print(f"[3] mutual kNN n={sizes['knn_n']} ...", flush=True)
    c3 = case_knn(sizes["knn_n"], sizes["knn_d"], args.repeats)
    print(f"    {c3['speedup']:.1f}x, memory {c3['memory_fraction']:.3f}", flush=True)
    print(f"[4] streaming n={sizes['stream_n']} ...", flush=True)
    c4 = case_stream(sizes["stream_n"], sizes["stream_d"], sizes["check_n"])
    print(f"    {c4['run']['time_s']:.1f} s, peak +{c4['run']['increment_mib']:.0f} MiB", flush=True)
    m["load_end"] = os.getloadavg()[0]
    section = render(m, c1, c2, c2b, c3, c4, args.repeats, time.perf_counter() - t0)
    print("\n" + section)
    return publish("align_bench", section, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
