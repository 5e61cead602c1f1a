"""Figures of the align study (``align_study``): plain matplotlib, one function per figure."""

from __future__ import annotations

import numpy as np

from .._extras import require
from .base import Figure

plt = require("matplotlib.pyplot", "the align study figures")


def _heat(ax, M, rows, cols, title, cmap="viridis", fmt="{:.2f}"):
    im = ax.imshow(M, cmap=cmap)
    ax.set_xticks(range(len(cols)), cols, rotation=60, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_title(title, fontsize=9)
    if M.shape[0] * M.shape[1] <= 49:
        for (i, j), v in np.ndenumerate(M):
            if np.isfinite(v):
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=6, color="w")
    plt.colorbar(im, ax=ax, fraction=0.046)


def rf_bound(points: list[dict]) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, title in ((axes[0], "12", "1 -> 2"), (axes[1], "21", "2 -> 1")):
        cka = np.array([p["cka"] for p in points])
        e, up, lo = (np.array([p[f"{k}_{key}"] for p in points]) for k in ("e_star", "upper", "lower"))
        ax.vlines(cka, np.maximum(lo, 0), up, color="0.8", lw=0.8, label="bound [lower, upper] (lower clipped at 0)")
        ax.scatter(cka, up, marker="_", color="C1", s=40, label="upper bound 1 - rho CKA")
        ax.scatter(cka, e, s=12, color="C0", label="e* (in-sample)", zorder=3)
        ax.scatter(cka, [p[f"e_test_{key}"] for p in points], s=8, color="C2", marker="^", label="ridge, held out")
        if key == "12":
            ax.scatter([p["white_cka"] for p in points], [p["white_e"] for p in points], marker="x", color="k", s=16,
                       label="PCA-whitened X1 (on its bound)")
        ax.set_xlabel("CKA_b")
        ax.set_title(f"random features, {title}", fontsize=10)
    axes[0].set_ylabel("relative stitching error")
    axes[0].legend(fontsize=7, loc="upper right")
    return Figure("rf_bound", "(a) Random features: direct-matching error e* against CKA_b with each point's bound, "
                  "held-out ridge errors and PCA-whitened points (which sit exactly on their bound).", fig)


def rf_sweep(sweep: dict) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    n = np.array(sweep["n"])
    axes[0].loglog(n, sweep["sd_cka"], "o-", label=f"sd over seeds (slope {sweep['slope']:.2f})")
    axes[0].loglog(n, sweep["sd_cka"][0] * (n / n[0]) ** -0.5, "k--", lw=0.8, label="n^-1/2")
    axes[0].set_xlabel("n")
    axes[0].set_ylabel("sd(CKA_b)")
    axes[0].legend(fontsize=8)
    axes[1].semilogx(n, sweep["gap"], "o-")
    axes[1].set_xlabel("n")
    axes[1].set_ylabel("held-out minus in-sample error")
    return Figure("rf_sweep", "(a) n-sweep: the spread of CKA_b shrinks like n^-1/2 and so does the held-out gap.", fig)


def net_heatmaps(name: str, pair: dict) -> Figure:
    layers = pair["layers"]
    fig, axes = plt.subplots(1, 4, figsize=(19, 4))
    _heat(axes[0], pair["cka"], layers, layers, "CKA_b (test)")
    _heat(axes[1], pair["mutual_knn"], layers, layers, "mutual kNN (k=10)")
    _heat(axes[2], pair["stitching"]["a->b"]["delta_ce"], layers, layers, "dCE, A's layer i -> B's layer j", "magma")
    _heat(axes[3], pair["stitching"]["b->a"]["delta_ce"], layers, layers, "dCE, B's layer j -> A's layer i", "magma")
    for ax in axes:
        ax.set_xlabel(f"seed {pair['seeds'][1]} (B)", fontsize=8)
    axes[0].set_ylabel(f"seed {pair['seeds'][0]} (A)", fontsize=8)
    fig.tight_layout()
    return Figure(f"{name}_heatmaps", f"(b) {name}: layer x layer CKA, mutual kNN and stitching penalty dCE "
                  f"(frozen head of the target network), seeds {pair['seeds'][0]} and {pair['seeds'][1]}.", fig)


def net_scatter(name: str, pairs: list, summary: dict) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for k, p in enumerate(pairs):
        axes[0].scatter(p["cka2"], p["dce"], s=10, label=f"seeds {p['seeds'][0]},{p['seeds'][1]}", color=f"C{k}")
    lo, hi = summary["spearman_ci"]
    axes[0].set_title(f"Spearman(CKA, -dCE) = {summary['spearman_pooled']:.2f} [{lo:.2f}, {hi:.2f}]", fontsize=9)
    axes[0].set_xlabel("CKA_b")
    axes[0].set_ylabel("dCE (stitched - native)")
    axes[0].legend(fontsize=7)
    axes[1].scatter(summary["bound"], summary["e_rel"], s=8)
    axes[1].plot([0, 1], [0, 1], "k--", lw=0.8)
    axes[1].set_xlabel("upper bound 1 - rho CKA (train)")
    axes[1].set_ylabel("held-out e_rel")
    axes[1].set_title(f"Spearman(bound, e_rel) = {summary['bound_spearman']:.2f}", fontsize=9)
    return Figure(f"{name}_scatter", f"(b) {name}: stitching penalty against alignment (every layer pair, both "
                  "directions, all seed pairs), and the held-out error against its bound.", fig)


def mfeat_matrices(names, cka, acc, etest) -> Figure:
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    _heat(axes[0], cka, names, names, "CKA_b of the raw views")
    _heat(axes[1], etest, names, names, "held-out e_rel, row view -> column view", "magma")
    _heat(axes[2], acc, names, names, "accuracy: row encoder + column head", "cividis")
    fig.tight_layout()
    return Figure("mfeat", "(c) UCI Multiple Features: view alignment, held-out stitching error, and accuracy of "
                  "an encoder of one view stitched into the classifier head of another.", fig)


def ce_bound(summaries: dict) -> Figure:
    fig, axes = plt.subplots(1, len(summaries), figsize=(5 * len(summaries), 4), squeeze=False)
    for ax, (name, summary) in zip(axes[0], summaries.items()):
        for k, (p, t) in enumerate(zip(summary["pairs"], summary["task_bound"])):
            ax.scatter(t["bound"], np.maximum(np.abs(t["dce"]), 1e-6), s=10, color=f"C{k}",
                       label=f"seeds {p['seeds'][0]},{p['seeds'][1]}")
        lo = min(float(np.min(t["bound"])) for t in summary["task_bound"])
        hi = max(float(np.max(t["bound"])) for t in summary["task_bound"])
        ax.loglog([lo, hi], [lo, hi], "k--", lw=0.8, label="|dCE| = bound")
        ax.set_xlabel("sqrt(2) L_h sqrt(e_abs)")
        ax.set_ylabel("|dCE| (floored at 1e-6)")
        ax.set_title(f"{name}: dCE against its bound", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure(
        "ce_bound",
        "(b) Task level: each stitched layer pair's cross-entropy penalty |dCE| against its bound "
        "sqrt(2) L_h sqrt(e_abs) (L_h: product of the frozen head's spectral norms); every point lies below "
        "the diagonal.",
        fig,
    )


def cross_modal(rows: list[dict], pixels: dict, trend: float, trend_p: float) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    widths = sorted({r["width"] for r in rows})
    for k, w in enumerate(widths):
        pts = [r for r in rows if r["width"] == w]
        ax.plot([r["accuracy"] for r in pts], [r["mutual_knn"] for r in pts], "o-", color=f"C{k}", ms=4,
                label=f"width {w}")
    ax.axhline(pixels["mutual_knn"], color="k", ls="--", lw=0.8, label="raw pixels")
    ax.set_xlabel("test accuracy (competence)")
    ax.set_ylabel("mutual kNN with MiniLM captions")
    ax.set_title(f"Spearman {trend:.2f}, permutation p {trend_p:.4f}", fontsize=9)
    ax.legend(fontsize=7)
    return Figure("cross_modal", "(d) Cross-modal alignment against competence: digit encoders of growing width "
                  "(lines) and training time (points along a line: more epochs) against the MiniLM embeddings of "
                  "templated captions of the same digits.", fig)
