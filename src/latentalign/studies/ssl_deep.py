"""SSL study (2): deep joint embedding vs reconstruction on digits with structured noise (CPU).

Design (the library's own; the paper used ImageNet-C): digits (/16), stratified
1200 / 597 split. Each image, train and test, gets one fixed Gaussian corruption in
the ``m = 32`` lowest-variance principal directions of the clean training images,
scaled to mean per-pixel variance ``σ²`` (``scale = σ·√(64/m)``). Encoder MLP
``64 → 256 → 256 → 16`` (BatchNorm, ReLU), probed at its 16-d output; projector
``16 → 256 → 256 → 256``; decoder ``16 → 256 → 256 → 64``; BYOL adds the predictor
``256 → 1024 → 256`` and an EMA target (momentum 0.99 → 1, cosine). Views of VICReg /
SimCLR / BYOL and the DAE input: ``RandomShift(1) + GaussianNoise(0.1) + StructuredNoise``
injection in the same directions with strength ``α`` (the paper's corruption-aligned
noise in the augmentations); MAE input: the injection, then a 0.5 pixel mask. Adam 1e-3,
weight decay 1e-5, batch 128. Protocol: logistic probe (standardised, C = 1) fit on the
training embeddings, scored on the test embeddings, both corrupted. Drop =
``100·(acc(0) − acc(σ))/acc(0)``.

Arms: the main grid at ``α = 1``, σ ∈ {0, 0.5, 1}; BYOL (it costs two VICReg runs) and
MAE on σ ∈ {0, 1} only (``sigma_by_method``: the time budget); the injection ablation
``α = 0`` for VICReg and DAE at ``σ = 1`` (σ = 0 needs no ablation: the injection's scale
is ``σ``, so both arms share those runs). σ = 2, where every method loses at least 40%,
is left to custom configs.

Each run also records its training embeddings' effective rank and how much of the fixed
corruption a linear map recovers from them (:func:`embedding_diagnostics`), which shows
*how* a method fails: few directions, or directions that carry the noise.

Runs are independent; ``workers`` single-thread processes share them.

Examples
--------
>>> from latentalign.studies import ssl_deep
>>> result = ssl_deep.run(ssl_deep.QUICK_CONFIG)  # doctest: +SKIP
"""

from __future__ import annotations

import time

import numpy as np

from .._extras import require
from .base import Claim, Figure, Result, Table, run_jobs

plt = require("matplotlib.pyplot", "the deep SSL study figures")

TITLE = "SSL (deep): VICReg / SimCLR / BYOL vs denoising / masked autoencoders under structured noise"
CLAIMS = {
    "je_drops_less": Claim("σ = {sigma}: every VICReg / SimCLR drop is smaller than every reconstruction drop"),
    "byol_drops_less": Claim("σ = {sigma}: the BYOL (self-distillation) drop is smaller than every reconstruction "
                             "drop"),
    "dae_loses_more": Claim("σ = 1: DAE loses more accuracy than VICReg (drop ratio > {threshold})", ">", 1.0),
    "dae_vicreg_ratio": Claim("σ = 1: the DAE/VICReg drop ratio (mean over seeds) lies in [{lo}, {hi}], the "
                              "spec's range at 100 epochs", "in", (1.9, 2.2)),
    "injection_cuts_drop": Claim("σ = {sigma}, {method}: noise injection (α = {alpha}) divides the drop without "
                                 "it (α = {ablation_alpha}) by more than {threshold}", ">", 2.0),
}
DEFAULT_CONFIG = {
    "methods": ["vicreg", "simclr", "byol", "dae", "mae"], "sigma": [0, 0.5, 1], "alpha": 1.0,
    "sigma_by_method": {"byol": [0, 1], "mae": [0, 1]}, "ablation_alpha": 0.0, "ablation_methods": ["vicreg", "dae"],
    "ablation_sigma": [1], "seeds": [0, 1, 2], "epochs": 100, "n_directions": 32, "workers": 2,
}
QUICK_CONFIG = {**DEFAULT_CONFIG, "methods": ["vicreg", "byol", "dae"], "sigma": [0, 1], "seeds": [0],
                "epochs": 20, "workers": 1}
JE_METHODS = ("vicreg", "simclr", "byol")
# relative cost of one run (CPU seconds at 100 epochs, 1 thread: BYOL ~26, VICReg / SimCLR ~13, DAE / MAE ~7)
_COST = {"byol": 2.0, "vicreg": 1.0, "simclr": 1.0, "dae": 0.5, "mae": 0.5}
PROTOCOL = ("encoders trained on the 1200 corrupted training images (labels unused); logistic probe "
            "(standardised features, C = 1) fit on their 16-d embeddings, scored on the 597 corrupted test images")


def noise_directions(X_train: np.ndarray, m: int) -> np.ndarray:
    """``(D, m)`` orthonormal: the ``m`` lowest-variance principal directions of ``X_train``."""
    Xc = X_train - X_train.mean(axis=0)
    _, U = np.linalg.eigh(Xc.T @ Xc / len(Xc))
    return U[:, :m]


def corrupt(X: np.ndarray, basis: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``X + scale·ξ basisᵀ`` with one fixed ``ξ ~ N(0, I_m)`` per row, ``scale = σ·√(D/m)``."""
    scale = sigma * np.sqrt(basis.shape[0] / basis.shape[1])
    xi = np.random.default_rng(seed).standard_normal((len(X), basis.shape[1]))
    return (X + scale * xi @ basis.T).astype(np.float32)


def train_and_probe(job: dict) -> dict:
    """One run: corrupt, train ``job["method"]`` for ``job["epochs"]``, probe; returns the job with ``accuracy``.

    The encoder trains without labels (no online probe: the study probes offline),
    so the run's CPU time (``cpu_seconds``) is the SSL training and the probe only.
    """
    from ..ssl.augment import Compose, GaussianNoise, RandomShift, StructuredNoise
    from ..ssl.evaluate import embed
    from ..ssl.module import fit_ssl, split_dataset
    from ..train import linear_probe

    start, cpu = time.perf_counter(), time.process_time()
    data = split_dataset("digits", seed=job["seed"])
    basis = noise_directions(data.X_train, job["n_directions"])
    X_tr = corrupt(data.X_train, basis, job["sigma"], seed=1000 + job["seed"])
    X_te = corrupt(data.X_test, basis, job["sigma"], seed=2000 + job["seed"])
    scale = job["sigma"] * np.sqrt(basis.shape[0] / basis.shape[1])
    inject = StructuredNoise(basis, scale=scale, alpha=job["alpha"])
    if job["method"] == "mae":
        augment = Compose([inject])
    else:
        augment = Compose([RandomShift(1, image_shape=data.image_shape), GaussianNoise(0.1), inject])
    module = fit_ssl(job["method"], X_tr, None, epochs=job["epochs"], seed=job["seed"], augment=augment)
    Z_tr, Z_te = embed(module.encoder, X_tr), embed(module.encoder, X_te)
    acc = linear_probe(Z_tr, data.y_train, Z_te, data.y_test, kind="logistic")
    diag = embedding_diagnostics(Z_tr, (X_tr - data.X_train) @ basis)
    return {**job, "accuracy": acc, **diag, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu}


def embedding_diagnostics(Z: np.ndarray, xi: np.ndarray) -> dict:
    """Measure how spread out the embeddings are and how much of the corruption they carry.

    Parameters
    ----------
    Z : ndarray, shape (n, k)
        Embeddings of the training images.
    xi : ndarray, shape (n, m)
        The fixed corruption of each image in the noise basis.

    Returns
    -------
    dict
        ``effective_rank``: ``exp`` of the entropy of the normalised covariance spectrum of
        ``Z`` (between 1 and ``k``); ``corruption_r2``: the share of the variance of ``xi`` that
        a least-squares map from ``Z`` (with intercept) recovers, NaN when ``xi`` is constant.

    Examples
    --------
    >>> Z = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    >>> d = embedding_diagnostics(Z, Z[:, :1])
    >>> round(d["effective_rank"], 6), round(d["corruption_r2"], 6)
    (2.0, 1.0)
    """
    Z = np.asarray(Z, dtype=np.float64)
    Zc = Z - Z.mean(axis=0)
    ev = np.clip(np.linalg.eigvalsh(Zc.T @ Zc / len(Zc)), 0, None)
    p = ev / ev.sum()
    rank = float(np.exp(-np.sum(p[p > 0] * np.log(p[p > 0]))))
    total = float(np.sum((xi - xi.mean(axis=0)) ** 2))
    if total == 0:
        return {"effective_rank": rank, "corruption_r2": float("nan")}
    A = np.hstack([Zc, np.ones((len(Zc), 1))])
    coef, *_ = np.linalg.lstsq(A, xi, rcond=None)
    return {"effective_rank": rank, "corruption_r2": 1 - float(np.sum((xi - A @ coef) ** 2)) / total}


def _jobs(config: dict) -> list[dict]:
    """The main grid (``methods`` × their σ at ``alpha``) and the ablation (``ablation_methods`` at
    ``ablation_alpha`` on ``ablation_sigma``); σ = 0 is shared, the injection being zero there.
    """
    common = {"epochs": config["epochs"], "n_directions": config["n_directions"]}
    arms = [(m, float(config["alpha"]), s) for m in config["methods"] for s in _sigmas(config, m)]
    arms += [(m, float(config["ablation_alpha"]), float(s)) for m in config["ablation_methods"]
             for s in config["ablation_sigma"] if s > 0]
    return [
        {"method": m, "alpha": a, "sigma": s, "seed": seed, **common} for seed in config["seeds"] for m, a, s in arms
    ]


def _sigmas(config: dict, method: str) -> list[float]:
    return [float(s) for s in config.get("sigma_by_method", {}).get(method, config["sigma"])]


def run(config: dict) -> Result:
    """Run the deep SSL study with ``config`` (``DEFAULT_CONFIG`` or ``QUICK_CONFIG``) and check its ``CLAIMS``."""
    start, cpu = time.perf_counter(), time.process_time()
    jobs = _jobs(config)
    workers = int(config["workers"])
    # longest runs (BYOL, then the other joint-embedding methods) first, so the workers finish together
    runs = run_jobs([(train_and_probe, job) for job in jobs], workers, cost=lambda job: _COST[job["method"]])
    a1, a0 = float(config["alpha"]), float(config["ablation_alpha"])
    acc: dict = {}
    diag: dict = {}
    for r in sorted(runs, key=lambda r: r["seed"]):
        acc.setdefault((r["method"], r["alpha"], r["sigma"]), []).append(r["accuracy"])
        for name in ("effective_rank", "corruption_r2"):
            diag.setdefault((r["method"], r["alpha"], r["sigma"], name), []).append(r[name])
    acc = {key: np.array(v) for key, v in acc.items()}
    S = sorted({s for _, _, s in acc})
    s0 = min(S)
    # σ = 0 has no injection to ablate: both arms share its runs
    for m in config["ablation_methods"]:
        if (m, a1, s0) in acc:
            acc.setdefault((m, a0, s0), acc[(m, a1, s0)])
    drop = {(m, a, s): 100 * (acc[(m, a, s0)] - v) / acc[(m, a, s0)]
            for (m, a, s), v in acc.items() if s != s0 and (m, a, s0) in acc}
    arms = [(m, a1) for m in config["methods"]] + [(m, a0) for m in config["ablation_methods"]]
    jobs_cpu = sum(r["cpu_seconds"] for r in runs)
    main_cpu = time.process_time() - cpu - (jobs_cpu if workers <= 1 else 0.0)
    idle = jobs_cpu / max(1, min(workers, 2)) + main_cpu
    wall = time.perf_counter() - start
    result = Result(
        summary=(f"Deep SSL on digits with structured noise in the {config['n_directions']} lowest-variance "
                 f"directions, injection α = {a1} (ablation: α = {a0} for {', '.join(config['ablation_methods'])}), "
                 f"{config['epochs']} epochs, {len(config['seeds'])} seed(s), {len(runs)} runs in {wall:.0f} s wall; "
                 f"{jobs_cpu + main_cpu:.0f} CPU s, i.e. about {idle:.0f} s on 2 idle cores. Protocol: {PROTOCOL}."),
        numbers={"protocol": PROTOCOL, "wall_seconds": wall, "cpu_seconds": jobs_cpu + main_cpu,
                 "idle_2core_estimate_s": idle,
                 "accuracy": {_key(m, a, s, a1): v.tolist() for (m, a, s), v in acc.items()},
                 "drop_percent": {_key(m, a, s, a1): v.tolist() for (m, a, s), v in drop.items()},
                 "embedding": {f"{_key(m, a, s, a1)}|{name}": float(np.mean(v)) for (m, a, s, name), v in diag.items()},
                 "run_seconds": {f"{_key(r['method'], r['alpha'], r['sigma'], a1)}|seed={r['seed']}": r["seconds"]
                                 for r in runs}},
        claims=CLAIMS,
    )
    result.tables.append(Table(
        f"Logistic-probe test accuracy, mean ± std over seeds (drop vs σ = {s0}); α = {a1} unless marked",
        ["method"] + [f"σ = {s}" for s in S], [_row(acc, drop, m, a, S, a1) for m, a in arms]))
    s_top = max(S)
    result.tables.append(Table(
        f"Training embeddings at σ = {s_top} (mean over seeds): effective rank of the 16-d embedding and the "
        "share (R²) of the fixed corruption a linear map recovers from it",
        ["method", "effective rank", "corruption R²"],
        [[m if a == a1 else f"{m} (α = {a})", f"{np.mean(diag[(m, a, s_top, 'effective_rank')]):.2f}",
          f"{np.mean(diag[(m, a, s_top, 'corruption_r2')]):.3f}"] for m, a in arms if (m, a, s_top) in acc]))
    result.figures.append(_figure(acc, arms, S, a1))
    _checks(result, acc, drop, config, S)
    return result


def _key(method: str, alpha: float, sigma: float, main_alpha: float) -> str:
    return f"{method}|sigma={sigma}" if alpha == main_alpha else f"{method}|alpha={alpha}|sigma={sigma}"


def _row(acc: dict, drop: dict, m: str, a: float, S, main_alpha: float) -> list[str]:
    cells = []
    for s in S:
        if (m, a, s) not in acc:
            cells.append("—")
            continue
        cell = f"{acc[(m, a, s)].mean():.3f} ± {acc[(m, a, s)].std():.3f}"
        if (m, a, s) in drop:
            cell += f" ({drop[(m, a, s)].mean():.1f}% ± {drop[(m, a, s)].std():.1f})"
        cells.append(cell)
    return [m if a == main_alpha else f"{m} (α = {a})"] + cells


def _checks(result: Result, acc: dict, drop: dict, config: dict, S) -> None:
    a1, a0 = float(config["alpha"]), float(config["ablation_alpha"])
    mean = {key: float(v.mean()) for key, v in drop.items()}
    rc = [m for m in config["methods"] if m not in JE_METHODS]
    je = [m for m in config["methods"] if m in ("vicreg", "simclr")]
    for s in [s for s in S if 0 < s <= 1]:
        best_rc = min(mean[(m, a1, s)] for m in rc if (m, a1, s) in mean)
        worst_je = max(mean[(m, a1, s)] for m in je if (m, a1, s) in mean)
        result.claim("je_drops_less", worst_je < best_rc,
                     f"largest VICReg/SimCLR drop {worst_je:.1f}% vs smallest RC drop {best_rc:.1f}%", sigma=s)
        if ("byol", a1, s) in mean:
            byol = mean[("byol", a1, s)]
            result.claim("byol_drops_less", byol < best_rc,
                         f"BYOL drop {byol:.1f}% vs smallest RC drop {best_rc:.1f}%", sigma=s)
    dae, vicreg = drop[("dae", a1, 1.0)], drop[("vicreg", a1, 1.0)]
    ratio = dae.mean() / max(vicreg.mean(), 1e-9)
    per_seed = dae / np.maximum(vicreg, 1e-9)
    result.numbers["dae_vicreg_drop_ratio_sigma1"] = ratio
    result.numbers["dae_vicreg_drop_ratio_per_seed"] = per_seed.tolist()
    spread = f"ratio {ratio:.2f}; per seed {', '.join(f'{r:.2f}' for r in per_seed)}"
    result.claim("dae_loses_more", ratio, spread)
    result.claim("dae_vicreg_ratio", ratio, spread)
    cuts = result.numbers.setdefault("injection_drop_ratio", {})
    for m in config["ablation_methods"]:
        for s in config["ablation_sigma"]:
            with_, without = drop[(m, a1, float(s))], drop[(m, a0, float(s))]
            factor = without.mean() / max(with_.mean(), 1e-9)
            cuts[f"{m}|sigma={float(s)}"] = factor
            result.claim(
                "injection_cuts_drop",
                factor,
                f"drop {without.mean():.1f}% (α = {a0}) -> {with_.mean():.1f}% (α = {a1}), "
                f"factor {factor:.2f}; per seed {', '.join(f'{x:.2f}' for x in without / np.maximum(with_, 1e-9))}",
                sigma=float(s),
                method=m,
                alpha=a1,
                ablation_alpha=a0,
            )


def _figure(acc: dict, arms, S, main_alpha: float) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for m, a in arms:
        xs = [s for s in S if (m, a, s) in acc]
        mean = [acc[(m, a, s)].mean() for s in xs]
        std = [acc[(m, a, s)].std() for s in xs]
        ls = ":" if a != main_alpha else "-" if m in JE_METHODS else "--"
        ax.errorbar(xs, mean, yerr=std, marker="o", capsize=3, ls=ls,
                    label=m if a == main_alpha else f"{m}, α = {a}")
    ax.set_xlabel("σ (structured-noise std per pixel)")
    ax.set_ylabel("test accuracy (logistic probe)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    return Figure("accuracy_vs_noise", "Probe accuracy vs noise; solid: joint embedding, dashed: reconstruction, "
                  "dotted: without noise injection (ablation).", fig)
