"""Benchmark of KSM (``docs/ksm.md``, issue 4), as same-run ratios.

Run from the repository root::

    .venv/bin/python benchmarks/ksm_bench.py           # full sizes, rewrites the ksm_bench section of RESULTS.md
    .venv/bin/python benchmarks/ksm_bench.py --quick   # smoke run at small sizes, writes nothing

Cases
-----
1. Ring demo (spec §10: N = 300 points in 10-d, defaults: Gaussian, full-batch ADMM,
   1500 iterations): fit time. Target: under 5 s.
2. Minibatch scaling: ring data, ``batch_size=256``, 200 epochs, at N = 2,000 and
   N = 20,000 (exact decoder at 2,000, Nystroem with 1,000 landmarks at 20,000), each
   fit alone in a fresh subprocess. Targets: time ratio at most 12x (near linear) and
   peak memory of the N = 20,000 process under 2 GiB. Memory is the resident
   high-water mark (``VmHWM``, as in ``core_bench``): the whole process, and its rise
   above the value after imports and data creation.
3. Linear kernel, feature path against the N x N path: one objective + gradient
   evaluation on digits (N = 1437 training digits, m = 16). Target: at least 50x.
4. Minibatch against full batch on digits (m = 16, Gaussian): 200 minibatch epochs
   (B = 256) against 300 full-batch iterations; the full-data objective of the
   minibatch fit must be within 1.25x of the full-batch one (spec §9). Spec: ~10x.
5. Linear KSM (alpha = 0.1, 500 iterations) against scikit-learn
   ``DictionaryLearning`` (16 atoms, alpha = 0.1, cd, 30 iterations) on digits:
   fit-time ratio (information; spec: ~0.3 s against ~1.7 s) with both test errors.

torch runs on one thread (``torch.set_num_threads(1)``, recorded): KSM's matrices are
small (at most 1437 x 1437 here), and on a 2-core machine shared with other jobs a
second thread only adds synchronisation stalls. Every subprocess does the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _results import publish  # benchmarks/_results.py (script folder is on sys.path)
from core_bench import _peak_kib, best, fmt_s, interleaved, machine, med, verdict
from sklearn.decomposition import DictionaryLearning
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from latentalign.data import digits
from latentalign.data.synthetic import ring
from latentalign.ksm import KernelSimilarityMatching, ksm_objective
from latentalign.ksm.objective import value_and_grad

torch.set_num_threads(1)
HEADING = "## ksm_bench"
TARGETS = {"ring_s": 5.0, "scaling": 12.0, "memory_gib": 2.0, "feature_path": 50.0, "minibatch_f": 1.25}
FULL = {"ring_n": 300, "small_n": 2000, "large_n": 20000, "epochs": 200, "full_iter": 300, "digits": None}
QUICK = {"ring_n": 150, "small_n": 500, "large_n": 2000, "epochs": 10, "full_iter": 20, "digits": 600}


def _quiet_fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KernelSimilarityMatching(random_state=0, **params).fit(X)


# --------------------------------------------------------------------------- cases
def case_ring(n: int, repeats: int) -> dict:
    ds = ring(n=n, dim=10, seed=0)
    times, outs = interleaved({"fit": lambda: _quiet_fit(ds.X)}, repeats)
    Z, theta = outs["fit"].embedding_, ds.views["latent"][:, 0]
    phi = np.arctan2(Z[:, 1], Z[:, 0])
    cc = max(abs(np.mean(np.exp(1j * (phi - theta)))), abs(np.mean(np.exp(1j * (phi + theta)))))
    return {"n": n, "times": times, "circular_correlation": float(cc), "n_iter": outs["fit"].n_iter_,
            "pass": best(times["fit"]) < TARGETS["ring_s"]}


def run_scaling_child(n: int, epochs: int) -> None:
    """Hidden ``--case scaling``: one minibatch fit in a fresh process; JSON on the last line."""
    X = ring(n=n, dim=10, seed=0).X
    base = _peak_kib()
    t0 = time.perf_counter()
    est = _quiet_fit(X, batch_size=256, max_iter=epochs)
    elapsed = time.perf_counter() - t0
    peak = _peak_kib()
    print(json.dumps({"n": n, "time_s": elapsed, "peak_mib": peak / 1024, "rise_mib": (peak - base) / 1024,
                      "objective": est.objective_, "decoder_rows": len(est.decoder_latents_)}))


def _scaling_subprocess(n: int, epochs: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", "scaling", "--n", str(n), "--epochs", str(epochs)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"scaling child failed (n={n}):\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def case_scaling(small: int, large: int, epochs: int, repeats: int) -> dict:
    runs = {small: [], large: []}
    for _ in range(repeats):  # interleaved, each fit in its own process
        for n in (small, large):
            runs[n].append(_scaling_subprocess(n, epochs))
    t_small, t_large = (min(r["time_s"] for r in runs[n]) for n in (small, large))
    peak = max(r["peak_mib"] for r in runs[large]) / 1024
    ratio = t_large / t_small
    return {"runs": {str(k): v for k, v in runs.items()}, "ratio": ratio, "peak_gib": peak,
            "rise_mib": max(r["rise_mib"] for r in runs[large]), "small": small, "large": large, "epochs": epochs,
            "pass": ratio <= TARGETS["scaling"] and peak < TARGETS["memory_gib"]}


def _digits(limit):
    ds = digits()
    X, y = ds.X.astype(np.float64), ds.y
    if limit:
        X, _, y, _ = train_test_split(X, y, train_size=limit, stratify=y, random_state=0)
    X_tr, X_te = train_test_split(X, test_size=0.2, stratify=y, random_state=0)
    mean = X_tr.mean(0)
    scale = float(np.sqrt(((X_tr - mean) ** 2).sum(1).mean()))
    return X_tr, X_te, torch.as_tensor((X_tr - mean) / scale)


def case_feature_path(Xn: torch.Tensor, repeats: int) -> dict:
    Z = 0.5 * torch.randn(Xn.shape[0], 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    gamma = 1e-3 * Xn.shape[0]
    times, outs = interleaved({"feature": lambda: value_and_grad(Xn, Z, gamma, "linear", 1.0, "feature"),
                               "gram": lambda: value_and_grad(Xn, Z, gamma, "linear", 1.0, "gram")}, repeats)
    rel = abs(float(outs["feature"][0]) - float(outs["gram"][0])) / abs(float(outs["gram"][0]))
    ratio = best(times["gram"]) / best(times["feature"])
    return {"n": Xn.shape[0], "times": times, "ratio": ratio, "value_rel_diff": rel,
            "grad_max_diff": float((outs["feature"][1] - outs["gram"][1]).abs().max()),
            "pass": ratio >= TARGETS["feature_path"]}


def case_minibatch(X_tr, epochs: int, full_iter: int) -> dict:
    t0 = time.perf_counter()
    mb = _quiet_fit(X_tr, n_components=16, batch_size=256, max_iter=epochs)
    t_mb = time.perf_counter() - t0
    t0 = time.perf_counter()
    fb = _quiet_fit(X_tr, n_components=16, batch_size=None, max_iter=full_iter)
    t_fb = time.perf_counter() - t0
    Xn = (X_tr - mb.mean_) / mb.scale_
    f_mb, f_fb = ksm_objective(Xn, mb.embedding_), ksm_objective(Xn, fb.embedding_)
    return {"n": len(X_tr), "time_minibatch": t_mb, "time_full": t_fb, "ratio": t_fb / t_mb, "f_minibatch": f_mb,
            "f_full": f_fb, "f_ratio": f_mb / f_fb, "epochs": epochs, "full_iter": full_iter,
            "pass": f_mb / f_fb <= TARGETS["minibatch_f"]}


def case_dictionary(X_tr, X_te, repeats: int) -> dict:
    mean = X_tr.mean(0)
    scale = float(np.sqrt(((X_tr - mean) ** 2).sum(1).mean()))
    Xn_tr, Xn_te = (X_tr - mean) / scale, (X_te - mean) / scale
    fns = {"ksm": lambda: _quiet_fit(X_tr, kernel="linear", n_components=16, alpha=0.1, max_iter=500),
           "dl": lambda: DictionaryLearning(16, alpha=0.1, fit_algorithm="cd", max_iter=30,
                                            transform_algorithm="lasso_cd", transform_alpha=0.1,
                                            random_state=0).fit(Xn_tr)}
    times, outs = interleaved(fns, repeats)
    ksm, dl = outs["ksm"], outs["dl"]
    err_ksm = np.linalg.norm(X_te - ksm.reconstruct(X_te)) / np.linalg.norm(X_te - mean)
    err_dl = np.linalg.norm(Xn_te - dl.transform(Xn_te) @ dl.components_) / np.linalg.norm(Xn_te)
    return {"times": times, "ratio": best(times["dl"]) / best(times["ksm"]), "error_ksm": float(err_ksm),
            "error_dl": float(err_dl)}


# --------------------------------------------------------------------------- report
def render(m: dict, c: dict, repeats: int, wall: float) -> str:
    r, s, f, mb, dl = c["ring"], c["scaling"], c["feature"], c["minibatch"], c["dictionary"]
    small, large = s["runs"][str(s["small"])], s["runs"][str(s["large"])]
    lines = [
        HEADING, "",
        "Produced by `.venv/bin/python benchmarks/ksm_bench.py`. Ratios are baseline time / our time, both measured "
        f"in this run; times are the best of {repeats} (median in brackets) unless a case says otherwise.", "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable, shared with other jobs), "
        f"{m['memory_gib']} GiB RAM; Python {m['python']}, torch {m['torch']} ({m['torch_threads']} thread, "
        f"set). Date: {m['date']}. Load average (1 min) at start {m['load_start']:.2f}, at end "
        f"{m['load_end']:.2f}; run took {wall:.0f} s.", "",
        f"### 1. Ring demo fit (N = {r['n']}, 10-d, defaults: Gaussian, full-batch ADMM, {r['n_iter']} iterations)",
        "",
        f"Fit time {fmt_s(best(r['times']['fit']))} ({fmt_s(med(r['times']['fit']))}); circular correlation "
        f"{r['circular_correlation']:.4f}. Target under {TARGETS['ring_s']:g} s -> **{verdict(r['pass'])}**", "",
        f"### 2. Minibatch scaling (ring, B = 256, {s['epochs']} epochs, each fit in a fresh process, best of "
        f"{len(small)})", "",
        "| N | fit time (runs) | peak RSS (process) | RSS rise during fit | decoder rows |", "|---|---|---|---|---|",
    ]
    for runs in (small, large):
        lines.append(f"| {runs[0]['n']} | {', '.join(fmt_s(x['time_s']) for x in runs)} | "
                     f"{max(x['peak_mib'] for x in runs):.0f} MiB | {max(x['rise_mib'] for x in runs):.0f} MiB | "
                     f"{runs[0]['decoder_rows']} |")
    lines += [
        "",
        f"Time ratio N = {s['large']} / N = {s['small']}: {s['ratio']:.2f}x (target at most {TARGETS['scaling']:g}x); "
        f"peak memory at N = {s['large']}: {s['peak_gib']:.2f} GiB for the whole process (target under "
        f"{TARGETS['memory_gib']:g} GiB) -> **{verdict(s['pass'])}**", "",
        f"### 3. Linear kernel: feature path vs N x N path (digits, N = {f['n']}, m = 16, one value + gradient)", "",
        "| path | best | median |", "|---|---|---|",
        f"| feature, O(N m n + m^3) | {fmt_s(best(f['times']['feature']))} | {fmt_s(med(f['times']['feature']))} |",
        f"| Gram, Cholesky of N x N | {fmt_s(best(f['times']['gram']))} | {fmt_s(med(f['times']['gram']))} |", "",
        f"Ratio {f['ratio']:.0f}x (target at least {TARGETS['feature_path']:g}x); value rel. diff "
        f"{f['value_rel_diff']:.1e}, gradient max diff {f['grad_max_diff']:.1e} -> **{verdict(f['pass'])}**", "",
        f"### 4. Minibatch vs full batch (digits, N = {mb['n']}, m = 16, Gaussian; one run each)", "",
        f"Minibatch {mb['epochs']} epochs: {fmt_s(mb['time_minibatch'])}, full-data f = {mb['f_minibatch']:.4f}; "
        f"full batch {mb['full_iter']} iterations: {fmt_s(mb['time_full'])}, f = {mb['f_full']:.4f}. Speed-up "
        f"{mb['ratio']:.1f}x (spec: about 10x); f ratio {mb['f_ratio']:.3f} (target at most "
        f"{TARGETS['minibatch_f']:g}) -> **{verdict(mb['pass'])}**", "",
        "### 5. Linear KSM (alpha 0.1, 500 iterations) vs scikit-learn DictionaryLearning (16 atoms, alpha 0.1, "
        "cd, 30 iterations) on digits (information)", "",
        f"KSM {fmt_s(best(dl['times']['ksm']))} ({fmt_s(med(dl['times']['ksm']))}), DictionaryLearning "
        f"{fmt_s(best(dl['times']['dl']))} ({fmt_s(med(dl['times']['dl']))}): ratio {dl['ratio']:.1f}x. Test "
        f"relative error KSM {dl['error_ksm']:.3f}, DictionaryLearning {dl['error_dl']:.3f}.", "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; RESULTS.md is not written")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions for the short cases")
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case == "scaling":
        run_scaling_child(args.n, args.epochs)
        return 0
    sizes = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    m = machine()
    print(f"ksm_bench{' --quick' if args.quick else ''}: {m['cpu']}, torch {m['torch']} ({m['torch_threads']} "
          f"threads), {m['date']}", flush=True)
    X_tr, X_te, Xn = _digits(sizes["digits"])
    cases = {}
    print("[1] ring demo ...", flush=True)
    cases["ring"] = case_ring(sizes["ring_n"], args.repeats)
    print("[2] minibatch scaling ...", flush=True)
    cases["scaling"] = case_scaling(sizes["small_n"], sizes["large_n"], sizes["epochs"], 2)
    print("[3] feature path ...", flush=True)
    cases["feature"] = case_feature_path(Xn, max(args.repeats, 5))
    print("[4] minibatch vs full batch ...", flush=True)
    cases["minibatch"] = case_minibatch(X_tr, sizes["epochs"], sizes["full_iter"])
    print("[5] linear KSM vs DictionaryLearning ...", flush=True)
    cases["dictionary"] = case_dictionary(X_tr, X_te, args.repeats)
    m["load_end"] = os.getloadavg()[0]
    wall = time.perf_counter() - t0
    section = render(m, cases, args.repeats, wall)
    print("\n" + section)
    return publish("ksm_bench", section, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
