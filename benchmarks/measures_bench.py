"""Benchmark of the standardized measures (``align.measure``) at n = 10000, d = 512, as same-run ratios.

Run from the repository root::

    .venv/bin/python benchmarks/measures_bench.py           # full sizes, rewrites its section of RESULTS.md
    .venv/bin/python benchmarks/measures_bench.py --quick   # smoke run at small sizes, writes nothing

Targets (issue 11). Each reference is restated from its public code (numpy / scipy / scikit-learn,
float64), timed interleaved with ours in this run:

* PWCCA against the Google svcca code (``np.cov`` of the stacked inputs, ``pinv`` + eigen square
  roots, SVD, the ``n x d`` QR of its directions): at least 3x faster.
* Procrustes angle and CCA angle against netrep's ``LinearMetric`` (alpha 1 and 0: eigen-whitening,
  ``orthogonal_procrustes``, the aligned ``n x d`` product): not slower.
* Jaccard kNN similarity against ReSi (scikit-learn ``NearestNeighbors``, cosine, brute force, then
  Python sets): not slower.
* RSM norm difference against ``llm_repsim`` (two ``scipy pdist`` vectors of n(n-1)/2 distances; ReSi's
  variant takes the spectral norm of the n x n difference, another quantity, see docs): not slower.
* eigenspace overlap against ReSi (``np.linalg.svd`` of each input with its n x n left factor, and
  ``matrix_rank``): at least 50x faster (a Gram-based measure never forms an n x n matrix).
* the generalized shape metric (alpha 0.5) within 1.5x of its floor: the GEMMs and d x d
  decompositions it needs (two Grams, two eigh, two whitening products, the cross product, one
  d x d SVD), timed alone.

Then one time per measure family (every form of a family shares its cost) at the same size.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

import numpy as np
import scipy.linalg
import torch
from _results import publish
from align_bench import alternate, timed  # same-folder helpers
from core_bench import best, fmt_s, machine, med, verdict

from latentalign.align.measures import measure

SECTION = "## measures_bench"
PWCCA_SPEED, GRAM_SPEED, SHAPE_FLOOR = 3.0, 50.0, 1.5
FULL = {"n": 10_000, "d": 512}
QUICK = {"n": 1500, "d": 64}
# one name per family (its forms share the cost); the O(n^2)-memory ones say so in their registry note
FAMILY_NAMES = (
    "cka-kernel=linear-hsic=gretton-score", "cka-kernel=linear-hsic=song-score", "cka-kernel=linear-hsic=lange-score",
    "cka-kernel=(rbf-sigma=30.0)-hsic=gretton-score", "cka-kernel=(laplace-sigma=30.0)-hsic=lange-score",
    "cca-score", "svcca-var=0.99-score", "svcca-dim=10-score", "pwcca-score", "procrustes-distance=angular",
    "shape_metric-alpha=0.5-distance=euclidean", "permutation_metric-distance=angular",
    "rsa-rdm=squared_euclidean-compare=bures", "rsa-rdm=correlation-compare=corr_cov",
    "rsa-rdm=euclidean-compare=pearson", "rsa-rdm=correlation-compare=spearman",
    "rsa-rdm=squared_euclidean-compare=kendall", "rsa-rdm=gaussian-compare=euclidean",
    "jaccard_similarity", "rank_similarity", "second_order_cosine_similarity", "rsm_norm_difference",
    "uniformity_difference", "eigenspace_overlap_score", "euclidean", "hard_correlation_match", "gulp",
    "linear_regression", "ridge-lambda=1-r2", "pls", "ensd", "aligned_cossim", "permutation_procrustes",
    "mutual_knn-topk=10", "distance_correlation", "rtd",
)


def pair(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=(d, d)) / d**0.5 + rng.normal(size=(n, d))


# --------------------------------------------------------------------------- restated references
def _psd_power(S: np.ndarray, p: float) -> np.ndarray:
    lam, V = np.linalg.eigh(S)
    return (V * np.clip(lam, 0.0, None) ** p) @ V.T


def google_pwcca(X: np.ndarray, Y: np.ndarray) -> float:
    """The Google svcca ``compute_pwcca`` algorithm (neurons x samples), restated."""
    A, B = X.T, Y.T
    dx = A.shape[0]
    C = np.cov(np.vstack([A, B]))
    Sxx, Sxy, Syy = C[:dx, :dx], C[:dx, dx:], C[dx:, dx:]
    ix, iy = _psd_power(np.linalg.pinv(Sxx), 0.5), _psd_power(np.linalg.pinv(Syy), 0.5)
    u, s, _ = np.linalg.svd(ix @ Sxy @ iy)
    mean = A.mean(1, keepdims=True)
    dirns = u.T @ (A - mean) + mean
    P, _ = np.linalg.qr(dirns.T)
    w = np.abs(P.T @ A.T).sum(1)
    w = w / w.sum()
    return float(np.sum(w[: len(s)] * s))


def netrep_angle(X: np.ndarray, Y: np.ndarray, alpha: float) -> float:
    """netrep ``LinearMetric(alpha, center_columns=True).fit_score`` (angular), restated."""
    def whiten(Z):
        Z = Z - Z.mean(0)
        if alpha == 1.0:
            return Z
        lam, V = np.linalg.eigh(Z.T @ Z)
        d = alpha + (1 - alpha) * np.maximum(lam, 1e-7) ** -0.5
        return Z @ ((V * d) @ V.T)
    A, B = whiten(X), whiten(Y)
    Q, _ = scipy.linalg.orthogonal_procrustes(A, B)
    AQ = A @ Q
    return float(np.arccos(np.sum(AQ * B) / np.linalg.norm(AQ) / np.linalg.norm(B)))


def resi_jaccard(X: np.ndarray, Y: np.ndarray, k: int = 10) -> float:
    from sklearn.neighbors import NearestNeighbors

    def sets(Z):
        nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(Z)
        return [set(row[1:]) for row in nn.kneighbors(Z, return_distance=False)]
    return float(np.mean([len(a & b) / len(a | b) for a, b in zip(sets(X), sets(Y))]))


def llm_repsim_rsm_norm(X: np.ndarray, Y: np.ndarray) -> float:
    from scipy.spatial.distance import pdist

    return float(np.linalg.norm(pdist(X) - pdist(Y)))


def resi_eigenspace(X: np.ndarray, Y: np.ndarray) -> float:
    u = np.linalg.svd(X)[0][:, : np.linalg.matrix_rank(X)]
    v = np.linalg.svd(Y)[0][:, : np.linalg.matrix_rank(Y)]
    return float(np.linalg.norm(u.T @ v) ** 2 / max(X.shape[1], Y.shape[1]))


def shape_floor(Xt: torch.Tensor, Yt: torch.Tensor) -> torch.Tensor:
    """The operations any partial-whitening shape metric needs, alone (no centring, no checks)."""
    lx, Vx = torch.linalg.eigh(Xt.T @ Xt)
    ly, Vy = torch.linalg.eigh(Yt.T @ Yt)
    A, B = Xt @ (Vx * lx.clamp_min(1e-7).rsqrt()), Yt @ (Vy * ly.clamp_min(1e-7).rsqrt())
    return torch.linalg.svdvals(A.T @ B).sum()


# --------------------------------------------------------------------------- cases
def reference_cases(X: np.ndarray, Y: np.ndarray, repeats: int) -> list[dict]:
    m = {name: measure(name).fn for name in ("pwcca-score", "procrustes-distance=angular",
                                              "shape_metric-alpha=0-distance=angular", "jaccard_similarity",
                                              "rsm_norm_difference", "eigenspace_overlap_score")}
    cases = [
        ("PWCCA", "pwcca-score", lambda: google_pwcca(X, Y), "Google svcca `compute_pwcca`", PWCCA_SPEED),
        ("Procrustes angle", "procrustes-distance=angular", lambda: netrep_angle(X, Y, 1.0),
         "netrep `LinearMetric(alpha=1)`", 1.0),
        ("CCA angle (shape metric alpha=0)", "shape_metric-alpha=0-distance=angular", lambda: netrep_angle(X, Y, 0.0),
         "netrep `LinearMetric(alpha=0)`", 1.0),
        ("Jaccard kNN, k=10", "jaccard_similarity", lambda: resi_jaccard(X, Y), "ReSi (sklearn NearestNeighbors)", 1.0),
        ("RSM norm difference", "rsm_norm_difference", lambda: llm_repsim_rsm_norm(X, Y), "llm_repsim (scipy pdist)",
         1.0),
        ("eigenspace overlap", "eigenspace_overlap_score", lambda: resi_eigenspace(X, Y),
         "ReSi (full `np.linalg.svd`, n x n U)", GRAM_SPEED),
    ]
    out = []
    for label, name, baseline, ref, target in cases:
        times, vals = alternate({"ours": lambda f=m[name]: f(X, Y), "baseline": baseline},
                                {"ours": repeats, "baseline": max(1, repeats // 2)})
        out.append({"label": label, "name": name, "ref": ref, "target": target, "times": times,
                    "ours_value": float(vals["ours"]), "ref_value": float(vals["baseline"]),
                    "speedup": best(times["baseline"]) / best(times["ours"])})
        print(label, fmt_s(best(times["ours"])), fmt_s(best(times["baseline"])), flush=True)
    return out


def floor_case(X: np.ndarray, Y: np.ndarray, repeats: int) -> dict:
    fn = measure("shape_metric-alpha=0.5-score").fn
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    times, _ = alternate({"ours": lambda: fn(Xt, Yt), "floor": lambda: shape_floor(Xt, Yt)},
                         {"ours": repeats, "floor": repeats})
    return {"times": times, "over_floor": best(times["ours"]) / best(times["floor"])}


def family_times(X: np.ndarray, Y: np.ndarray) -> list[tuple[str, float, str]]:
    rows = []
    for name in FAMILY_NAMES:
        info = measure(name)
        t, value = timed(functools.partial(info.fn, X, Y))
        rows.append((name, t, f"{value:.6g}"))
        print(name, fmt_s(t), flush=True)
    return rows


def render(m: dict, size: dict, refs: list[dict], floor: dict, fams: list, repeats: int, wall: float) -> str:
    lines = [
        SECTION, "",
        "Produced by `.venv/bin/python benchmarks/measures_bench.py`. Standardized measures (`align.measure`) at "
        f"n={size['n']}, d={size['d']}, float64. Ratios are baseline time / our time, interleaved in this run; ours "
        f"is the best of {repeats} (median in brackets), the restated references run half as often.", "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable, shared with other developers' jobs: "
        f"load average {m['load_start']:.1f} at start, {m['load_end']:.1f} at end), {m['memory_gib']} GiB RAM; "
        f"torch {m['torch']} ({m['torch_threads']} threads). Date: {m['date']}. Run took {wall:.0f} s.", "",
        "| case | ours | reference | reference / ours | target | verdict |", "|---|---|---|---|---|---|",
    ]
    for r in refs:
        t = r["times"]
        lines.append(f"| {r['label']} (`{r['name']}`) vs {r['ref']} | {fmt_s(best(t['ours']))} "
                     f"({fmt_s(med(t['ours']))}) | {fmt_s(best(t['baseline']))} | {r['speedup']:.1f}x | "
                     f">= {r['target']:g}x | {verdict(r['speedup'] >= r['target'])} |")
    ft = floor["times"]
    lines.append(f"| generalized shape metric alpha=0.5 vs its floor (Grams, eigh, whitening, cross GEMM, d x d SVD) "
                 f"| {fmt_s(best(ft['ours']))} | {fmt_s(best(ft['floor']))} | ours = {floor['over_floor']:.2f}x the "
                 f"floor | <= {SHAPE_FLOOR:g}x | {verdict(floor['over_floor'] <= SHAPE_FLOOR)} |")
    lines += ["", "Values (ours / reference): " + "; ".join(
        f"{r['name']} {r['ours_value']:.6g} / {r['ref_value']:.6g}" for r in refs)
        + " (PWCCA: the paper's weights against the Google code's, see docs/standardized_measures.md).", "",
        "One run per family (every form of a family costs the same):", "", "| measure | time | value |", "|---|---|---|"]
    lines += [f"| `{name}` | {fmt_s(t)} | {v} |" for name, t, v in fams]
    lines += ["", "Not timed at this size: the Poisson and Gaussian RDMs' Bures comparisons (a dense n x n "
              "eigendecomposition, O(n^3)); every other comparison of those RDMs is O(n^2).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    m = machine()
    t0 = time.perf_counter()
    X, Y = pair(size["n"], size["d"])
    measure("cka-kernel=linear-hsic=gretton-score").fn(X[:200], Y[:200])  # warm-up
    refs = reference_cases(X, Y, args.repeats)
    floor = floor_case(X, Y, args.repeats)
    fams = family_times(X, Y)
    m["load_end"] = os.getloadavg()[0]
    section = render(m, size, refs, floor, fams, args.repeats, time.perf_counter() - t0)
    print("\n" + section)
    return publish("measures_bench", section, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
