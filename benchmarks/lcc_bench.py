"""Benchmark of the LCC clustering step against the reference stack, as same-run ratios.

Run from the repository root::

    .venv/bin/python benchmarks/lcc_bench.py            # n = 20k, 50k x d = 64, 512; rewrites its RESULTS.md section
    .venv/bin/python benchmarks/lcc_bench.py --quick    # n = 4000, d = 64 only; writes nothing

Data (``docs/lcc.md#lcc-benchmark``): 10 classes of 2 Gaussian components each,
centre coordinates with std ``s / sqrt 2`` (``s = 1.3``: hard, ``s = 3``: easy),
unit noise, 5% label noise; k = 10.

Pipelines (the clustering step: kNN graph, communities, matching, masks):

- reference, a faithful re-statement of ``altaris/lcc``: faiss ``IndexFlatL2``
  (k + 1 hits, self dropped) -> ``networkx.Graph.add_edges_from`` ->
  ``networkx.community.louvain_communities`` (seeded here, unseeded there) ->
  contingency by one ``np.sum`` per (class, cluster) pair -> one-to-many
  matching by ``networkx.max_flow_min_cost`` -> masks;
- ours, exact mode: ``lcc.cluster_latents()`` (default ``knn_backend="auto"``: on CPU the same faiss flat
  search) -> CSR -> scikit-network Louvain -> contingency argmax -> masks (+ banks);
- ours, fast preset: ``lcc.cluster_latents(preset="fast")`` (PCA to 64 dims when
  D > 64, faiss IVF with ceil(sqrt N) lists, probing max(8, 5%) of them).

Targets: (a) post-search stages (graph + communities + matching + masks, both
from the same neighbour ids) >= 20x at every size; (b) whole step, exact mode,
>= 7x at 20k x 64; (c) whole step, fast preset, >= 10x at every size with
recall@10 >= 0.95, ARI >= 0.9 against the exact partition and |dQ| <= 0.01.

The reference's networkx stages take tens of seconds per call, so each
contender runs ``--repeats`` times (default 1 for the reference, 3 for ours;
ours is reported as the median, the conservative choice); the faiss flat search
(shared by both exact pipelines, and the ceiling's denominator) is timed
``--repeats`` times and reported as the median; our exact-mode whole step
repeats only at 20000 x 64, where its target is set. Thread counts are the
libraries' defaults unless ``--threads`` is given (printed either way): on a
machine shared with other jobs, OpenMP with 2 threads slows down erratically,
and ``--threads 1`` gives steadier ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from itertools import product

import networkx as nx
import numpy as np
import torch
from _results import publish  # benchmarks/_results.py (script folder is on sys.path)
from core_bench import machine as core_machine  # same-folder helpers
from core_bench import verdict
from sklearn.metrics import adjusted_rand_score

from latentalign.lcc import cluster_latents
from latentalign.lcc.communities import detect_communities, modularity
from latentalign.lcc.graph import knn_graph, knn_indices, pca_project
from latentalign.lcc.matching import cluster_masks, contingency, match_clusters

SECTION = "## lcc_bench"
K = 10
N_CLASSES = 10
TARGET_POST, TARGET_EXACT, TARGET_FAST = 20.0, 7.0, 10.0
MIN_RECALL, MIN_ARI, MAX_DQ = 0.95, 0.9, 0.01


# --------------------------------------------------------------------------- data
def make_data(n: int, d: int, s: float, seed: int = 0):
    """10 classes x 2 Gaussian components, centre coordinates ~ N(0, s^2/2), unit noise, 5% label noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=s / np.sqrt(2), size=(2 * N_CLASSES, d))
    comp = rng.integers(0, 2 * N_CLASSES, size=n)
    X = (centres[comp] + rng.normal(size=(n, d))).astype(np.float32)
    y = comp // 2
    flip = rng.random(n) < 0.05
    y[flip] = rng.integers(0, N_CLASSES, size=int(flip.sum()))
    return X, y.astype(np.int64)


# --------------------------------------------------------------------------- reference stack
def ref_search(X: np.ndarray, k: int) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatL2(X.shape[1])
    index.add(X)
    _, found = index.search(X, k + 1)
    return found[:, 1:]  # the reference drops the first hit as "self"


def ref_graph(idx: np.ndarray) -> nx.Graph:
    n, k = idx.shape
    G = nx.Graph()
    G.add_edges_from(np.stack([np.repeat(np.arange(n), k), idx.reshape(-1)], 1))
    G.remove_edges_from(nx.selfloop_edges(G))
    return G


def ref_communities(G: nx.Graph, n: int, seed: int = 0) -> np.ndarray:
    c = np.empty(n, dtype=np.int64)
    for label, members in enumerate(nx.community.louvain_communities(G, seed=seed)):
        c[list(members)] = label
    return c


def ref_matching(y: np.ndarray, c: np.ndarray) -> dict[int, set[int]]:
    """One-to-many class -> clusters matching by min-cost flow (cost -M), as in the reference."""
    match = nx.DiGraph()
    for a, b in product(np.unique(y), np.unique(c)):
        if a >= 0 and b >= 0:
            match.add_edge(f"a_{a}", f"b_{b}", weight=-int(np.sum((y == a) & (c == b))), capacity=1)
    clusters = [f"b_{b}" for b in np.unique(c)]
    match.add_node("src", demand=-len(clusters))
    match.add_node("tgt", demand=len(clusters))
    match.add_edges_from(("src", f"a_{a}") for a in np.unique(y))
    match.add_edges_from((b, "tgt", {"capacity": 1}) for b in clusters)
    flow = nx.max_flow_min_cost(match, "src", "tgt")
    return {int(a[2:]): {int(b[2:]) for b, v in out.items() if v and b != "tgt"}
            for a, out in flow.items() if a.startswith("a_")}


def ref_masks(y: np.ndarray, c: np.ndarray, matching: dict[int, set[int]]) -> np.ndarray:
    owner = np.full(c.max() + 1, -1)
    for a, bs in matching.items():
        owner[list(bs)] = a
    return owner[c] == y


def ref_post(idx: np.ndarray, y: np.ndarray, seed: int = 0):
    G = ref_graph(idx)
    c = ref_communities(G, len(y), seed)
    return c, ref_masks(y, c, ref_matching(y, c))


# --------------------------------------------------------------------------- ours
def our_post(idx, y: np.ndarray, seed: int = 0):
    A = knn_graph(idx)
    c = detect_communities(A, seed=seed)
    m = match_clusters(contingency(y, c, N_CLASSES))
    return c, cluster_masks(y, c, m, N_CLASSES).cc


# --------------------------------------------------------------------------- timing
def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    hits = (found[:, :, None] == exact[:, None, :]).any(2).sum()
    return float(hits / exact.size)


def case(n: int, d: int, s: float, repeats_ours: int, repeats_ref: int) -> dict:
    X, y = make_data(n, d, s)
    Xt = torch.from_numpy(X)
    out = {"n": n, "d": d, "s": s}
    # exact search, timed once per side; both pipelines then start from the same ids
    t, idx_ref = timed(lambda: ref_search(X, K), repeats_ours)
    out["ref_search_s"] = statistics.median(t)
    idx = knn_indices(Xt, K, backend="faiss").numpy()
    out["self_dropped_rows_differ"] = int((idx_ref != idx).any(1).sum())
    print(f"  search {out['ref_search_s']:.2f} s", flush=True)
    # (a) post-search stages
    t_ref, (c_ref, cc_ref) = timed(lambda: ref_post(idx, y), repeats_ref)
    t_ours, (c_ours, cc_ours) = timed(lambda: our_post(idx, y), repeats_ours)
    A = knn_graph(idx)
    out.update(ref_post_s=t_ref, ours_post_s=t_ours,
               post_ratio=min(t_ref) / statistics.median(t_ours),
               ari_ours_vs_networkx=float(adjusted_rand_score(c_ref, c_ours)),
               q_ours=modularity(A, c_ours), q_networkx=modularity(A, c_ref),
               cc_share_ours=float(cc_ours.mean()), cc_share_networkx=float(cc_ref.mean()),
               k_ours=int(c_ours.max() + 1), k_networkx=int(c_ref.max() + 1))
    print(f"  post-search: networkx {min(t_ref):.2f} s, ours {statistics.median(t_ours):.3f} s "
          f"-> {out['post_ratio']:.1f}x (ARI {out['ari_ours_vs_networkx']:.3f})", flush=True)
    ref_whole = out["ref_search_s"] + min(t_ref)
    out["ref_whole_s"] = ref_whole
    # (b) whole step, exact mode with the same faiss flat search
    # target (b) is set at 20000 x 64 only; elsewhere one run (the exact search dominates and is long)
    t_exact, st_exact = timed(lambda: cluster_latents(Xt, y, N_CLASSES, k=K, metrics=False),
                              repeats_ours if (n, d) == (20000, 64) else 1)
    out.update(ours_exact_s=t_exact, exact_ratio=ref_whole / statistics.median(t_exact),
               exact_stage_s=st_exact.timings)
    # (c) whole step, fast preset
    t_fast, st_fast = timed(lambda: cluster_latents(Xt, y, N_CLASSES, k=K, preset="fast", metrics=False),
                            repeats_ours)
    c_exact, c_fast = st_exact.communities.numpy(), st_fast.communities.numpy()
    G = pca_project(Xt, 64) if d > 64 else Xt
    idx_space = knn_indices(G, K, backend="faiss").numpy() if d > 64 else idx
    idx_fast = knn_indices(G, K, backend="ivf").numpy()
    out.update(ours_fast_s=t_fast, fast_ratio=ref_whole / statistics.median(t_fast), fast_stage_s=st_fast.timings,
               recall_ivf=recall_at_k(idx_fast, idx_space), recall_vs_full_space=recall_at_k(idx_fast, idx),
               ari_fast_vs_exact=float(adjusted_rand_score(c_exact, c_fast)),
               ari_fast_vs_networkx=float(adjusted_rand_score(c_ref, c_fast)),
               dq_fast=abs(modularity(A, c_fast) - modularity(A, c_exact)))
    out["pass_post"] = out["post_ratio"] >= TARGET_POST
    out["pass_fast"] = (out["fast_ratio"] >= TARGET_FAST and out["recall_ivf"] >= MIN_RECALL
                        and out["ari_fast_vs_exact"] >= MIN_ARI and out["dq_fast"] <= MAX_DQ)
    print(f"  whole step: reference {ref_whole:.2f} s, exact {statistics.median(t_exact):.2f} s "
          f"({out['exact_ratio']:.1f}x of at most {ref_whole / out['ref_search_s']:.1f}x), "
          f"fast {statistics.median(t_fast):.2f} s ({out['fast_ratio']:.1f}x, "
          f"recall {out['recall_ivf']:.3f}, ARI vs exact {out['ari_fast_vs_exact']:.3f}, dQ {out['dq_fast']:.4f})",
          flush=True)
    return out


# --------------------------------------------------------------------------- report
def machine() -> dict:
    """core_bench's machine facts plus the libraries of this comparison."""
    import faiss
    import sknetwork

    return {**core_machine(), "faiss_threads": faiss.omp_get_max_threads(), "networkx": nx.__version__,
            "sknetwork": sknetwork.__version__}


def render(m: dict, cases: list[dict], args, wall: float) -> str:
    med = statistics.median
    lines = [
        SECTION, "",
        f"Produced by `.venv/bin/python benchmarks/lcc_bench.py"
        f"{'' if m['threads_flag'] is None else ' --threads ' + str(m['threads_flag'])}`: "
        "the LCC clustering step (kNN graph, communities, matching, masks) against a re-statement of the `altaris/lcc` stack (faiss flat -> networkx graph -> "
        "networkx Louvain -> contingency by per-pair sums -> networkx `max_flow_min_cost`), both timed in this run. "
        f"Reference: networkx stages {args.repeats_ref} run (its time), faiss search median of {args.repeats} runs; "
        f"ours: median of {args.repeats} runs. Data: 10 classes x 2 "
        "Gaussian components, centre std s/sqrt2 (s = 3 easy, 1.3 hard), unit noise, 5% label noise, k = 10.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores shared with other jobs; Python {m['python']}, torch {m['torch']} "
        f"({m['torch_threads']} threads), faiss {m['faiss']} ({m['faiss_threads']} threads), networkx "
        f"{m['networkx']}, scikit-network {m['sknetwork']}. Date: {m['date']}. Load average (1 min) at start "
        f"{m['load_start']:.2f}, at end {m['load_end']:.2f}; run took {wall:.0f} s.",
        "",
        "### (a) Post-search stages from the same neighbour ids (target >= 20x at every size)",
        "",
        "| N x D | s | networkx graph+Louvain+flow | ours CSR+sknetwork+argmax | ratio | ARI ours vs networkx | "
        "Q ours / networkx | K ours / networkx | CC share ours / networkx | |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        lines.append(
            f"| {c['n']} x {c['d']} | {c['s']:g} | {min(c['ref_post_s']):.2f} s | {med(c['ours_post_s']):.3f} s | "
            f"{c['post_ratio']:.1f}x | {c['ari_ours_vs_networkx']:.3f} | {c['q_ours']:.4f} / {c['q_networkx']:.4f} | "
            f"{c['k_ours']} / {c['k_networkx']} | {c['cc_share_ours']:.4f} / {c['cc_share_networkx']:.4f} | "
            f"{verdict(c['pass_post'])} |")
    lines += [
        "",
        "### (b) Whole step, exact mode: the same faiss flat search on both sides (target >= 7x at 20000 x 64)",
        "",
        "Any pipeline that runs the reference's search is bounded by the ceiling `reference whole step / faiss "
        "search` (Amdahl, with free post-search stages); the spec's 7-12x assumed networkx Louvain at 6.1-12.8 s.",
        "",
        "| N x D | s | faiss flat search | reference whole step | ceiling | ours exact (default) whole step | ratio | "
        "ours: search / graph / Louvain / matching+masks / banks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        st = c["exact_stage_s"]
        lines.append(
            f"| {c['n']} x {c['d']} | {c['s']:g} | {c['ref_search_s']:.2f} s | {c['ref_whole_s']:.2f} s | "
            f"{c['ref_whole_s'] / c['ref_search_s']:.1f}x | {med(c['ours_exact_s']):.2f} s | {c['exact_ratio']:.1f}x"
            f"{' (' + verdict(c['exact_ratio'] >= TARGET_EXACT) + ')' if (c['n'], c['d']) == (20000, 64) else ''} | "
            f"{st['knn']:.2f} / {st['graph']:.3f} / {st['communities']:.2f} / {st['matching']:.3f} / "
            f"{st['banks']:.3f} s |")
    lines += [
        "",
        "### (c) Whole step, fast preset: PCA 64 (when D > 64) + faiss IVF (target >= 10x, recall@10 >= 0.95, "
        "ARI vs exact >= 0.9, |dQ| <= 0.01, at every size)",
        "",
        "| N x D | s | reference whole step | ours fast | ratio | PCA / IVF search / Louvain s | recall@10 IVF "
        "(in the searched space) | recall@10 vs full-space exact | ARI vs exact / vs networkx | |dQ| | |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        st = c["fast_stage_s"]
        lines.append(
            f"| {c['n']} x {c['d']} | {c['s']:g} | {c['ref_whole_s']:.2f} s | {med(c['ours_fast_s']):.2f} s | "
            f"{c['fast_ratio']:.1f}x | {st['pca']:.2f} / {st['knn']:.2f} / {st['communities']:.2f} | "
            f"{c['recall_ivf']:.3f} | {c['recall_vs_full_space']:.3f} | {c['ari_fast_vs_exact']:.3f} / "
            f"{c['ari_fast_vs_networkx']:.3f} | {c['dq_fast']:.4f} | {verdict(c['pass_fast'])} |")
    lines += ["", "The LCC overhead as a share of a training epoch is measured by the LCC study "
              "(`latentalign report --only lcc`, table \"Time per stage\").", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="n = 4000, d = 64 only; RESULTS.md is not written")
    ap.add_argument("--sizes", default="20000x64,20000x512,50000x64,50000x512", help="comma-separated NxD")
    ap.add_argument("--separations", default="1.3,3", help="comma-separated s (1.3 hard, 3 easy)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of our pipelines (median reported)")
    ap.add_argument("--repeats-ref", type=int, default=1, help="runs of the reference's post-search stages")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch and faiss threads (default: the libraries' own); 1 is steadier on a loaded machine")
    args = ap.parse_args(argv)
    if args.threads is not None:
        import faiss

        torch.set_num_threads(args.threads)
        faiss.omp_set_num_threads(args.threads)
    sizes = [(4000, 64)] if args.quick else [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    seps = [float(s) for s in args.separations.split(",")]
    t0 = time.perf_counter()
    m = machine()
    m["threads_flag"] = args.threads
    print(f"lcc_bench: {m['cpu']}, {m['cores']} cores, torch {m['torch_threads']} threads, faiss "
          f"{m['faiss_threads']} threads, {m['date']}", flush=True)
    cases = []
    for (n, d), s in product(sizes, seps):
        print(f"[{n} x {d}, s={s:g}]", flush=True)
        cases.append(case(n, d, s, args.repeats, args.repeats_ref))
    m["load_end"] = os.getloadavg()[0]
    wall = time.perf_counter() - t0
    section = render(m, cases, args, wall)
    print("\n" + section)
    return publish("lcc_bench", section, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
