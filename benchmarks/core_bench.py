"""Benchmark of the core: HSIC from Grams and blocked exact kNN, as same-run ratios.

Run from the repository root::

    .venv/bin/python benchmarks/core_bench.py           # full sizes, rewrites benchmarks/RESULTS.md
    .venv/bin/python benchmarks/core_bench.py --quick   # smoke run at small sizes, writes nothing

Every speed figure is a ratio ``baseline time / our time`` with both timed in
this run, interleaved (one repetition of every contender, then the next
repetition), so load from other processes hits both sides alike. Each time is
the best of ``--repeats`` repetitions; the median is printed too.

Cases
-----
1. Unbiased HSIC from two precomputed linear Grams (n = 4000):
   ``kernels.hsic_gram(K, L, unbiased=True)`` (``O(n^2)``) against two textbook
   statements with an explicit ``n x n`` product: Song et al.'s unbiased formula
   evaluated with ``K~ @ L~`` and the biased ``tr(K H L H) / (n-1)^2`` with an
   explicit centring matrix ``H = I - 11^T/n``. Target: at least 20x faster
   than ``tr(K H L H)``. Values must agree to 1e-8 (relative).
2. Exact kNN (n = 20000, d = 64, k = 10, float32): ``neighbors.knn(X, 10)``
   (torch backend, default block) against forming the whole ``n x n`` squared
   distance matrix and ``torch.argsort``-ing every row. Target: at least 3x
   faster with at most a quarter of the peak memory. Peak memory is the rise
   of the resident high-water mark (``VmHWM``; see :func:`_peak_kib` for why
   not ``ru_maxrss``) above its value right after imports and data creation,
   each contender alone in its own fresh subprocess (a high-water mark is not
   reset in-process). faiss flat (``backend="faiss"``) is timed for
   information.
3. Information only: ``kernels.hsic(X, Y, unbiased=True)`` (feature path)
   against forming both Grams and calling ``hsic_gram``.

torch keeps its default thread count (printed and recorded); nothing here
calls ``torch.set_num_threads``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _results import publish  # benchmarks/_results.py (script folder is on sys.path)

from latentalign.kernels import gram, hsic, hsic_gram
from latentalign.neighbors import knn

SECTION = "## core_bench"

HSIC_TARGET = 20.0  # x faster than tr(K H L H) with explicit H
KNN_SPEED_TARGET = 3.0  # x faster than full argsort
KNN_MEMORY_TARGET = 0.25  # at most this fraction of the argsort peak memory
REL_TOL = 1e-8
CASE3_MIN_REPEATS = 7  # case 3 is cheap: more repetitions against the noise of a shared machine

FULL = {"hsic_n": 4000, "knn_n": 20000}
QUICK = {"hsic_n": 1000, "knn_n": 4000}
HSIC_D = (64, 32)
KNN_D, KNN_K = 64, 10


# --------------------------------------------------------------------------- timing
def interleaved(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Time each callable ``repeats`` times, round-robin; return (times, last outputs)."""
    times = {name: [] for name in fns}
    outs = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            outs[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return times, outs


def best(ts):
    return min(ts)


def med(ts):
    return statistics.median(ts)


def fmt_s(t: float) -> str:
    return f"{t * 1e3:.1f} ms" if t < 1.0 else f"{t:.2f} s"


def rel_err(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# --------------------------------------------------------------------------- case 1
def textbook_hsic_biased(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """``tr(K H L H) / (n-1)^2`` as written: explicit H, three n x n products."""
    n = K.shape[0]
    H = torch.eye(n, dtype=K.dtype) - torch.full((n, n), 1.0 / n, dtype=K.dtype)
    return torch.trace(K @ H @ L @ H) / (n - 1) ** 2


def textbook_hsic_unbiased(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Song et al. (2012) unbiased HSIC as written, with the n^3 product ``K~ @ L~``."""
    n = K.shape[0]
    Kt = K.clone()
    Kt.fill_diagonal_(0.0)
    Lt = L.clone()
    Lt.fill_diagonal_(0.0)
    one = torch.ones(n, dtype=K.dtype)
    KL = Kt @ Lt
    return (
        torch.trace(KL) + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * (one @ KL @ one)
    ) / (n * (n - 3))


def hsic_data(n: int):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(n, HSIC_D[0], generator=gen, dtype=torch.float64)
    Y = torch.randn(n, HSIC_D[1], generator=gen, dtype=torch.float64)
    return X, Y


def case_hsic_gram(n: int, repeats: int) -> dict:
    X, Y = hsic_data(n)
    K, L = X @ X.T, Y @ Y.T
    hsic_gram(K, L, unbiased=True)  # warm-up (lazy init), untimed
    fns = {
        "ours_unbiased": lambda: hsic_gram(K, L, unbiased=True),
        "ours_biased": lambda: hsic_gram(K, L, unbiased=False),
        "textbook_unbiased": lambda: textbook_hsic_unbiased(K, L),
        "textbook_biased_KHLH": lambda: textbook_hsic_biased(K, L),
    }
    times, outs = interleaved(fns, repeats)
    vals = {name: float(v) for name, v in outs.items()}
    err_u = rel_err(vals["ours_unbiased"], vals["textbook_unbiased"])
    err_b = rel_err(vals["ours_biased"], vals["textbook_biased_KHLH"])
    ours = best(times["ours_unbiased"])
    ratio_khlh = best(times["textbook_biased_KHLH"]) / ours
    ratio_u = best(times["textbook_unbiased"]) / ours
    agree = err_u <= REL_TOL and err_b <= REL_TOL
    return {
        "n": n,
        "times": times,
        "values": vals,
        "rel_err_unbiased": err_u,
        "rel_err_biased": err_b,
        "ratio_khlh": ratio_khlh,
        "ratio_khlh_median": med(times["textbook_biased_KHLH"]) / med(times["ours_unbiased"]),
        "ratio_unbiased_textbook": ratio_u,
        "ratio_unbiased_textbook_median": med(times["textbook_unbiased"]) / med(times["ours_unbiased"]),
        "values_agree": agree,
        "pass": agree and ratio_khlh >= HSIC_TARGET,
    }


# --------------------------------------------------------------------------- case 2
def knn_data(n: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(n, KNN_D, generator=gen, dtype=torch.float32)


def knn_full_argsort(X: torch.Tensor, k: int) -> torch.Tensor:
    """Baseline: whole n x n float32 squared distances, diagonal inf, argsort every row.

    Same ``||x||^2 - 2 x.y + ||y||^2`` formula as the core, written with
    in-place updates so the baseline holds one n x n float32 matrix (plus what
    argsort itself needs) -- the leanest honest form of this method.
    """
    sq = (X * X).sum(1)
    d2 = X @ X.T
    d2.mul_(-2.0).add_(sq.unsqueeze(1)).add_(sq.unsqueeze(0)).clamp_min_(0.0)
    d2.fill_diagonal_(float("inf"))
    return torch.argsort(d2, dim=1)[:, :k].clone()


KNN_METHODS = {
    "ours": lambda X, k: knn(X, k).indices,
    "argsort": knn_full_argsort,
    "faiss": lambda X, k: knn(X, k, backend="faiss").indices,
}


def _proc_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _peak_kib() -> int:
    """This process's resident high-water mark in KiB.

    ``VmHWM`` (``/proc/self/status``) belongs to the process's own address
    space, which starts fresh at ``exec``. ``ru_maxrss`` does not: Linux
    carries the *parent's* high-water mark over the fork/exec into the child
    (a child spawned after the parent ran the n x n baseline would report the
    parent's gigabytes), so it is only the fallback where /proc is missing.
    """
    hwm = _proc_status_kib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_memory_child(method: str, n: int) -> None:
    """Hidden ``--case knn-<method>``: one call in a fresh process; print JSON on the last line."""
    X = knn_data(n)
    base = _peak_kib()  # after imports and data creation
    base_now = _proc_status_kib("VmRSS")
    base_ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = KNN_METHODS[method](X, KNN_K)
    elapsed = time.perf_counter() - t0
    peak = _peak_kib()
    print(
        json.dumps(
            {
                "method": method,
                "n": n,
                "baseline_peak_kib": base,
                "baseline_rss_now_kib": base_now,
                "baseline_ru_maxrss_kib": base_ru,
                "peak_kib": peak,
                "increment_mib": (peak - base) / 1024,
                "time_s": elapsed,
                "shape": list(out.shape),
            }
        )
    )


def memory_in_subprocess(method: str, n: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", f"knn-{method}", "--knn-n", str(n)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"memory subprocess for {method} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def exact_order_ok(X64: torch.Tensor, i: int, idx_row: torch.Tensor, k: int) -> bool:
    """Whether ``idx_row`` is row i's exact (float64 distance, index) top-k."""
    d = ((X64 - X64[i]) ** 2).sum(1)
    d[i] = float("inf")
    order = np.lexsort((np.arange(d.shape[0]), d.numpy()))[:k]
    return bool((torch.from_numpy(order) == idx_row).all())


def case_knn(n: int, repeats: int) -> dict:
    X = knn_data(n)
    knn(X[:256], KNN_K)  # warm-up, untimed
    knn(X[:256], KNN_K, backend="faiss")
    fns = {name: (lambda f=f: f(X, KNN_K)) for name, f in KNN_METHODS.items()}
    times, outs = interleaved(fns, repeats)
    ours, base, fai = outs.pop("ours"), outs.pop("argsort"), outs.pop("faiss")
    equal_rows = (ours == base).all(1)
    mism = torch.nonzero(~equal_rows).flatten().tolist()
    X64 = X.to(torch.float64)
    ours_exact = sum(exact_order_ok(X64, i, ours[i], KNN_K) for i in mism)
    base_exact = sum(exact_order_ok(X64, i, base[i], KNN_K) for i in mism)
    faiss_equal = float((fai == ours).all(1).float().mean())
    del ours, base, fai, X64
    mem = {m: memory_in_subprocess(m, n) for m in ("ours", "argsort", "faiss")}
    speed = best(times["argsort"]) / best(times["ours"])
    mem_frac = mem["ours"]["increment_mib"] / mem["argsort"]["increment_mib"]
    return {
        "n": n,
        "times": times,
        "speedup": speed,
        "speedup_median": med(times["argsort"]) / med(times["ours"]),
        "faiss_speedup_vs_argsort": best(times["argsort"]) / best(times["faiss"]),
        "memory": mem,
        "memory_fraction": mem_frac,
        "equal_rows_fraction": float(equal_rows.float().mean()),
        "mismatched_rows": len(mism),
        "mismatch_ours_exact": ours_exact,
        "mismatch_argsort_exact": base_exact,
        "faiss_equal_rows_fraction": faiss_equal,
        "speed_pass": speed >= KNN_SPEED_TARGET,
        "memory_pass": mem_frac <= KNN_MEMORY_TARGET,
        "pass": speed >= KNN_SPEED_TARGET and mem_frac <= KNN_MEMORY_TARGET,
    }


# --------------------------------------------------------------------------- case 3
def case_hsic_paths(n: int, repeats: int) -> dict:
    X, Y = hsic_data(n)
    hsic(X, Y, unbiased=True)  # warm-up, untimed
    fns = {
        "feature": lambda: hsic(X, Y, unbiased=True, path="feature"),
        "auto": lambda: hsic(X, Y, unbiased=True),
        "gram_blocked": lambda: hsic(X, Y, unbiased=True, path="gram"),
        "gram+hsic_gram": lambda: hsic_gram(gram(X), gram(Y), unbiased=True),
    }
    times, outs = interleaved(fns, repeats)
    vals = {name: float(v) for name, v in outs.items()}
    ref = vals["gram+hsic_gram"]
    return {
        "n": n,
        "times": times,
        "values": vals,
        "max_rel_err": max(rel_err(v, ref) for v in vals.values()),
        "ratio_gram_over_feature": best(times["gram+hsic_gram"]) / best(times["feature"]),
        "ratio_blocked_over_feature": best(times["gram_blocked"]) / best(times["feature"]),
    }


# --------------------------------------------------------------------------- report
def machine() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import faiss

        faiss_version = faiss.__version__
    except (ImportError, AttributeError):  # pragma: no cover - faiss is a core dependency
        faiss_version = "not importable"
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "faiss": faiss_version,
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": os.getloadavg()[0],
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render(m: dict, c1: dict, c2: dict, c3: dict, repeats: int, wall: float) -> str:
    t1, t2, t3 = c1["times"], c2["times"], c3["times"]
    mem = c2["memory"]
    lines = [
        SECTION,
        "",
        (
            "Produced by `.venv/bin/python benchmarks/core_bench.py`. Ratios are baseline time / our time, "
            f"both measured in this run, interleaved round-robin; each time is the best of {repeats} repetitions "
            f"(cases 1-2; case 3: {max(repeats, CASE3_MIN_REPEATS)}); verdicts use the best-of ratio, the median ratio is in brackets. "
            "Peak memory: rise of the resident high-water mark (`VmHWM`) above its value after imports + data "
            "creation, each method alone in a fresh subprocess (`ru_maxrss` is not used: Linux carries the "
            "parent's high-water mark into a spawned child)."
        ),
        "",
        (
            f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable, shared with other jobs), "
            f"{m['memory_gib']} GiB RAM; Python {m['python']}, torch {m['torch']} "
            f"({m['torch_threads']} threads, torch default, not set), numpy {m['numpy']}, faiss {m['faiss']}. "
            f"Date: {m['date']}. Load average (1 min) at start {m['load_start']:.2f}, at end {m['load_end']:.2f}; "
            f"run took {wall:.0f} s."
        ),
        "",
        (
            f"### 1. Unbiased HSIC from two linear Grams, n = {c1['n']} (X {c1['n']}x{HSIC_D[0]}, "
            f"Y {c1['n']}x{HSIC_D[1]}, float64)"
        ),
        "",
        "| method | best | median | textbook / ours (best) | value |",
        "|---|---|---|---|---|",
    ]
    rows1 = [
        ("`hsic_gram(K, L, unbiased=True)` (ours, O(n^2))", "ours_unbiased", None),
        ("`hsic_gram(K, L)` (ours, biased, info)", "ours_biased", None),
        ("textbook unbiased, Song et al. with `K~ @ L~` (n^3)", "textbook_unbiased", "ratio_unbiased_textbook"),
        ("textbook biased `tr(K H L H)/(n-1)^2`, explicit H (n^3)", "textbook_biased_KHLH", "ratio_khlh"),
    ]
    for label, key, rkey in rows1:
        ratio = f"{c1[rkey]:.1f}x ({c1[rkey + '_median']:.1f}x)" if rkey else "-"
        lines.append(
            f"| {label} | {fmt_s(best(t1[key]))} | {fmt_s(med(t1[key]))} | {ratio} | {c1['values'][key]:.15g} |"
        )
    lines += [
        "",
        (
            f"Values agree: unbiased rel. diff {c1['rel_err_unbiased']:.1e}, biased rel. diff "
            f"{c1['rel_err_biased']:.1e} (tolerance {REL_TOL:g})."
        ),
        "",
        (
            f"Target: unbiased HSIC from Grams at least {HSIC_TARGET:g}x faster than `tr(K H L H)` with explicit H: "
            f"measured {c1['ratio_khlh']:.1f}x -> **{verdict(c1['pass'])}**"
        ),
        "",
        f"### 2. Exact kNN, n = {c2['n']}, d = {KNN_D}, k = {KNN_K}, float32",
        "",
        "| method | best | median | argsort / method (best) | peak RSS rise | method / argsort memory |",
        "|---|---|---|---|---|---|",
    ]
    arg_best = best(t2["argsort"])
    for label, key in (
        ("`knn(X, 10)` (ours, torch, default block)", "ours"),
        ("full n x n distances + `torch.argsort` rows", "argsort"),
        ('`knn(X, 10, backend="faiss")` (info)', "faiss"),
    ):
        mib = mem[key]["increment_mib"]
        lines.append(
            f"| {label} | {fmt_s(best(t2[key]))} | {fmt_s(med(t2[key]))} | {arg_best / best(t2[key]):.1f}x | "
            f"{mib:.0f} MiB | {mib / mem['argsort']['increment_mib']:.3f} |"
        )
    lines += [
        "",
        (
            f"Indices: ours == argsort on {c2['equal_rows_fraction'] * 100:.3f}% of rows "
            f"({c2['mismatched_rows']} rows differ; on those, ours is the exact float64 (distance, index) order in "
            f"{c2['mismatch_ours_exact']}/{c2['mismatched_rows']}, the float32 argsort in "
            f"{c2['mismatch_argsort_exact']}/{c2['mismatched_rows']}). faiss backend == torch backend on "
            f"{c2['faiss_equal_rows_fraction'] * 100:.3f}% of rows."
        ),
        "",
        (
            f"Target: at least {KNN_SPEED_TARGET:g}x faster ({c2['speedup']:.1f}x, median {c2['speedup_median']:.1f}x: "
            f"{verdict(c2['speed_pass'])}) with at most {KNN_MEMORY_TARGET:g} of the peak memory "
            f"({c2['memory_fraction']:.3f}: {verdict(c2['memory_pass'])}) -> **{verdict(c2['pass'])}**"
        ),
        "",
        f"### 3. HSIC paths from features, n = {c3['n']} (information, no target)",
        "",
        "| method | best | median | time / feature path (best) | value |",
        "|---|---|---|---|---|",
    ]
    feat = best(t3["feature"])
    for label, key in (
        ('`hsic(X, Y, unbiased=True, path="feature")`', "feature"),
        ("`hsic(X, Y, unbiased=True)` (auto)", "auto"),
        ('`hsic(..., path="gram")` (blocked Grams)', "gram_blocked"),
        ("`hsic_gram(gram(X), gram(Y), unbiased=True)`", "gram+hsic_gram"),
    ):
        lines.append(
            f"| {label} | {fmt_s(best(t3[key]))} | {fmt_s(med(t3[key]))} | {best(t3[key]) / feat:.1f} | "
            f"{c3['values'][key]:.15g} |"
        )
    lines += ["", f"Largest relative difference between the paths: {c3['max_rel_err']:.1e}.", ""]
    return "\n".join(lines)


def print_table(c1: dict, c2: dict, c3: dict) -> None:
    t1, t2, t3 = c1["times"], c2["times"], c3["times"]
    mem = c2["memory"]
    w = 44
    print(f"\n{'case':<{w}} {'best':>10} {'median':>10} {'ratio':>9}  note")
    print("-" * (w + 60))
    ours = best(t1["ours_unbiased"])
    print(f"[1] n={c1['n']} HSIC from Grams (float64)")
    for label, key in (
        ("  hsic_gram unbiased (ours)", "ours_unbiased"),
        ("  hsic_gram biased (ours, info)", "ours_biased"),
        ("  textbook unbiased K~@L~", "textbook_unbiased"),
        ("  textbook tr(KHLH) explicit H", "textbook_biased_KHLH"),
    ):
        b = best(t1[key])
        print(f"{label:<{w}} {fmt_s(b):>10} {fmt_s(med(t1[key])):>10} {b / ours:>8.1f}x  {c1['values'][key]:.15g}")
    print(
        f"  target >= {HSIC_TARGET:g}x vs tr(KHLH): {c1['ratio_khlh']:.1f}x; values agree "
        f"(rel {c1['rel_err_unbiased']:.1e} / {c1['rel_err_biased']:.1e}): {c1['values_agree']} -> {verdict(c1['pass'])}"
    )
    ours = best(t2["ours"])
    print(f"[2] n={c2['n']} d={KNN_D} k={KNN_K} exact kNN (float32)")
    for label, key in (("  knn torch (ours)", "ours"), ("  full argsort", "argsort"), ("  knn faiss (info)", "faiss")):
        b = best(t2[key])
        print(
            f"{label:<{w}} {fmt_s(b):>10} {fmt_s(med(t2[key])):>10} {b / ours:>8.2f}x  "
            f"peak RSS +{mem[key]['increment_mib']:.0f} MiB"
        )
    print(
        f"  target >= {KNN_SPEED_TARGET:g}x faster: {c2['speedup']:.1f}x ({verdict(c2['speed_pass'])}); "
        f"memory <= {KNN_MEMORY_TARGET:g}: {c2['memory_fraction']:.3f} ({verdict(c2['memory_pass'])}) -> {verdict(c2['pass'])}"
    )
    print(
        f"  equal rows ours/argsort {c2['equal_rows_fraction']:.5f} ({c2['mismatched_rows']} differ; ours exact on "
        f"{c2['mismatch_ours_exact']}, argsort exact on {c2['mismatch_argsort_exact']}); faiss/ours {c2['faiss_equal_rows_fraction']:.5f}"
    )
    feat = best(t3["feature"])
    print(f"[3] n={c3['n']} HSIC from features (info; ratio = time / feature path)")
    for key in ("feature", "auto", "gram_blocked", "gram+hsic_gram"):
        b = best(t3[key])
        print(f"  {key:<{w - 2}} {fmt_s(b):>10} {fmt_s(med(t3[key])):>10} {b / feat:>8.1f}x  {c3['values'][key]:.15g}")
    print(f"  max rel diff between paths {c3['max_rel_err']:.1e}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (n=1000 / n=4000); RESULTS.md is not written")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions per method (best is reported)")
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--knn-n", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.case:
        method = args.case.removeprefix("knn-")
        if method not in KNN_METHODS:
            ap.error(f"--case: expected one of {['knn-' + m for m in KNN_METHODS]}, got {args.case!r}")
        run_memory_child(method, args.knn_n or sizes["knn_n"])
        return 0
    t0 = time.perf_counter()
    m = machine()
    print(
        f"core_bench{' --quick' if args.quick else ''}: {m['cpu']}, {m['cores']} cores, torch {m['torch']} "
        f"({m['torch_threads']} threads, default), faiss {m['faiss']}, {m['date']}, best of {args.repeats}",
        flush=True,
    )
    print(f"[1] HSIC from Grams, n={sizes['hsic_n']} ...", flush=True)
    c1 = case_hsic_gram(sizes["hsic_n"], args.repeats)
    print(f"[2] kNN, n={sizes['knn_n']} ...", flush=True)
    c2 = case_knn(sizes["knn_n"], args.repeats)
    print(f"[3] HSIC paths, n={sizes['hsic_n']} ...", flush=True)
    c3 = case_hsic_paths(sizes["hsic_n"], max(args.repeats, CASE3_MIN_REPEATS))
    m["load_end"] = os.getloadavg()[0]
    wall = time.perf_counter() - t0
    print_table(c1, c2, c3)
    print(f"\nload average {m['load_start']:.2f} -> {m['load_end']:.2f}; {wall:.0f} s")
    return publish("core_bench", render(m, c1, c2, c3, args.repeats, wall), quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
