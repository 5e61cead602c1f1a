"""SSL study (2): deep joint embedding vs reconstruction on digits with structured noise (CPU).

Design (the library's own; the paper used ImageNet-C): digits (/16), stratified
1200 / 597 split. Each image, train and test, gets one fixed Gaussian corruption in
the ``m = 32`` lowest-variance principal directions of the clean training images,
scaled to mean per-pixel variance ``σ²`` (``scale = σ·√(64/m)``). Encoder MLP
``64 → 256 → 256 → 16`` (BatchNorm, ReLU), probed at its 16-d output; projector
``16 → 256 → 256 → 256``; decoder ``16 → 256 → 256 → 64``. Views of VICReg / SimCLR and
the DAE input: ``RandomShift(1) + GaussianNoise(0.1) + StructuredNoise`` injection in
the same directions with strength ``α``; MAE input: the injection, then a 0.5 pixel
mask. Adam 1e-3, weight decay 1e-5, batch 128. Protocol: logistic probe
(standardised, C = 1) fit on the training embeddings, scored on the test embeddings,
both corrupted. Drop = ``100·(acc(0) − acc(σ))/acc(0)``.

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

TITLE = "SSL (deep): VICReg / SimCLR vs denoising / masked autoencoders under structured noise"
CLAIMS = {
    "je_drops_less": Claim("σ = {sigma}: every joint-embedding drop is smaller than every reconstruction drop"),
    "dae_loses_more": Claim("σ = 1: DAE loses more accuracy than VICReg (drop ratio > {threshold})", ">", 1.0),
    "dae_vicreg_ratio": Claim("σ = 1: the DAE/VICReg drop ratio (mean over seeds) lies in [{lo}, {hi}], the "
                              "spec's range at 100 epochs", "in", (1.9, 2.2)),
}
DEFAULT_CONFIG = {
    "methods": ["vicreg", "simclr", "dae", "mae"], "sigma": [0, 0.5, 1, 2], "alpha": 1.0, "seeds": [0, 1, 2],
    "epochs": 100, "n_directions": 32, "workers": 2,
}
QUICK_CONFIG = {**DEFAULT_CONFIG, "methods": ["vicreg", "dae"], "sigma": [0, 1], "seeds": [0], "epochs": 20,
                "workers": 1}
JE_METHODS = ("vicreg", "simclr", "byol")
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
    """One run: corrupt, train ``job["method"]`` for ``job["epochs"]``, probe; returns the job with ``accuracy``."""
    from ..ssl.augment import Compose, GaussianNoise, RandomShift, StructuredNoise
    from ..ssl.evaluate import embed
    from ..ssl.module import fit_ssl, split_dataset
    from ..train import linear_probe

    start = time.perf_counter()
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
    module = fit_ssl(job["method"], X_tr, data.y_train, epochs=job["epochs"], seed=job["seed"], augment=augment)
    Z_tr, Z_te = embed(module.encoder, X_tr), embed(module.encoder, X_te)
    acc = linear_probe(Z_tr, data.y_train, Z_te, data.y_test, kind="logistic")
    return {**job, "accuracy": acc, "seconds": time.perf_counter() - start}


def run(config: dict) -> Result:
    """Run the deep SSL study with ``config`` (``DEFAULT_CONFIG`` or ``QUICK_CONFIG``) and check its ``CLAIMS``."""
    start = time.perf_counter()
    jobs = [{"method": m, "sigma": float(s), "seed": seed, "alpha": config["alpha"], "epochs": config["epochs"],
             "n_directions": config["n_directions"]}
            for seed in config["seeds"] for m in config["methods"] for s in config["sigma"]]
    # longest runs (joint embedding) first, so the workers finish together
    runs = run_jobs([(train_and_probe, job) for job in jobs], int(config["workers"]),
                    cost=lambda job: float(job["method"] in JE_METHODS))
    wall = time.perf_counter() - start
    M, S = config["methods"], [float(s) for s in config["sigma"]]
    acc = {(m, s): np.array([r["accuracy"] for r in sorted(runs, key=lambda r: r["seed"])
                             if r["method"] == m and r["sigma"] == s]) for m in M for s in S}
    s0 = min(S)
    drop = {(m, s): 100 * (acc[(m, s0)] - acc[(m, s)]) / acc[(m, s0)] for m in M for s in S}
    rows = [[m] + [f"{acc[(m, s)].mean():.3f} ± {acc[(m, s)].std():.3f}"
                   + ("" if s == s0 else f" ({drop[(m, s)].mean():.1f}% ± {drop[(m, s)].std():.1f})") for s in S]
            for m in M]
    result = Result(
        summary=(f"Deep SSL on digits with structured noise in the {config['n_directions']} lowest-variance "
                 f"directions, injection α = {config['alpha']}, {config['epochs']} epochs, "
                 f"{len(config['seeds'])} seed(s), {len(runs)} runs in {wall:.0f} s. Protocol: {PROTOCOL}."),
        numbers={"protocol": PROTOCOL, "wall_seconds": wall,
                 "accuracy": {f"{m}|sigma={s}": acc[(m, s)].tolist() for m in M for s in S},
                 "drop_percent": {f"{m}|sigma={s}": drop[(m, s)].tolist() for m in M for s in S if s != s0},
                 "run_seconds": {f"{r['method']}|sigma={r['sigma']}|seed={r['seed']}": r["seconds"] for r in runs}},
        claims=CLAIMS,
    )
    result.tables.append(Table(
        f"Logistic-probe test accuracy, mean ± std over seeds (drop vs σ = {s0}), α = {config['alpha']}",
        ["method"] + [f"σ = {s}" for s in S], rows))
    result.figures.append(_figure(acc, M, S))
    _checks(result, drop, M, S)
    return result


def _checks(result: Result, drop: dict, M, S) -> None:
    je = [m for m in M if m in JE_METHODS]
    rc = [m for m in M if m not in JE_METHODS]
    for s in [s for s in S if 0 < s <= 1]:
        worst_je = max(drop[(m, s)].mean() for m in je)
        best_rc = min(drop[(m, s)].mean() for m in rc)
        result.claim("je_drops_less", worst_je < best_rc,
                     f"largest JE drop {worst_je:.1f}% vs smallest RC drop {best_rc:.1f}%", sigma=s)
    dae, vicreg = drop[("dae", 1.0)], drop[("vicreg", 1.0)]
    ratio = dae.mean() / max(vicreg.mean(), 1e-9)
    per_seed = dae / np.maximum(vicreg, 1e-9)
    result.numbers["dae_vicreg_drop_ratio_sigma1"] = ratio
    result.numbers["dae_vicreg_drop_ratio_per_seed"] = per_seed.tolist()
    spread = f"ratio {ratio:.2f}; per seed {', '.join(f'{r:.2f}' for r in per_seed)}"
    result.claim("dae_loses_more", ratio, spread)
    result.claim("dae_vicreg_ratio", ratio, spread)


def _figure(acc: dict, M, S) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for m in M:
        mean = [acc[(m, s)].mean() for s in S]
        std = [acc[(m, s)].std() for s in S]
        ax.errorbar(S, mean, yerr=std, marker="o", capsize=3, ls="-" if m in JE_METHODS else "--", label=m)
    ax.set_xlabel("σ (structured-noise std per pixel)")
    ax.set_ylabel("test accuracy (logistic probe)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    return Figure("accuracy_vs_noise", "Probe accuracy vs noise; solid: joint embedding, dashed: reconstruction.", fig)
