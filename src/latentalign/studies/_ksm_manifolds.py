"""KSM study, manifolds: latent geometry and generation on the ring, torus and swiss roll.

Each set is fitted with the defaults on every seed; scored by trustworthiness, circular
correlation (ring) or 10-NN regression R^2 of the true coordinates, the objective's decrease,
train reconstruction error, and the mean distance to the true manifold of samples, of the data,
of a Gaussian fitted to ``X`` and of decoded latent sweeps.
"""

from __future__ import annotations

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors

from ..data.synthetic import MANIFOLD_DISTANCE, ring, swiss_roll, torus
from . import _ksm_figures as figures
from ._ksm_common import fit
from .base import Table
from .ksm_geometry import circular_correlation

MANIFOLDS = {"ring": (ring, 300, 10, 2), "torus": (torus, 400, 20, 4), "swiss_roll": (swiss_roll, 400, 20, 3)}


def run(config, result, fits) -> dict:
    """Fit each manifold on every seed; check trustworthiness, generation distance, circular correlation, R^2."""
    out, rows, figs = {}, [], {}
    for name in config["manifolds"]:
        make, n, dim, m = MANIFOLDS[name]
        n = max(40, int(round(n * config["size_scale"])))
        per_seed = []
        for seed in config["seeds"]:
            ds, Q = make(n=n, dim=dim, seed=seed, return_basis=True)
            if name == "ring":  # shared with the other experiments on the ring
                est = fits(seed, n_components=m)
            else:
                est = fit(ds.X, n_components=m, max_iter=config["max_iter"], random_state=seed)
            per_seed.append(_numbers(name, ds, Q, est, config["n_generate"], seed))
            if seed == config["seeds"][0]:
                figs[name] = (ds, Q, est)
        agg = {k: float(np.mean([s[k] for s in per_seed])) for k in per_seed[0]}
        agg.update({f"{k}_min": float(np.min([s[k] for s in per_seed])) for k in ("circular_correlation", "r2")
                    if k in per_seed[0]})
        agg.update({f"{k}_max": float(np.max([s[k] for s in per_seed])) for k in ("gen_distance", "f_ratio")})
        out[name] = {**agg, "per_seed": per_seed, "n": n, "dim": dim, "m": m}
        rows.append([name, n, dim, m, agg.get("circular_correlation", float("nan")), agg["trustworthiness"],
                     agg.get("r2", float("nan")), agg["f_ratio"], agg["train_rel_error"], agg["gen_distance"],
                     agg["data_distance"], agg["gaussian_distance"], agg["sweep_distance"]])
        trust_min = min(s["trustworthiness"] for s in per_seed)
        result.claim(f"trust_{name}", trust_min, f"worst seed {trust_min:.4f}")
        ratio = max(s["gen_distance"] / s["data_distance"] for s in per_seed)
        result.claim(f"gen_ratio_{name}", ratio, f"worst ratio {ratio:.3f}")
        if name == "ring":
            cc = out[name]["circular_correlation_min"]
            result.claim("ring_cc", cc, f"worst seed {cc:.4f}")
            gauss = max(s["gen_distance"] / s["gaussian_distance"] for s in per_seed)
            result.claim("ring_gen_gauss", gauss, f"worst ratio {gauss:.3f}")
        else:
            r2 = out[name]["r2_min"]
            result.claim("r2", r2, f"worst seed {r2:.4f}", manifold=name)
    result.tables.append(Table(
        "Manifolds (mean over seeds): latent geometry and generation. Distances are mean distances to the true "
        "manifold of 1000 samples (gen), of the data itself, of a Gaussian fitted to X, and of decoded sweeps.",
        ["set", "N", "n", "m", "circ. corr.", "trust.", "R^2", "f_final/f_init", "train rel. err", "gen. dist",
         "data dist", "Gaussian dist", "sweep dist"], rows))
    ring_sweep = None
    if "ring" in figs:
        ds, Q, est = figs["ring"]
        ring_sweep = (ds.X @ Q, sweep("ring", est, ds.X, np.random.default_rng(0)) @ Q)
    result.figures += figures.manifolds(figs, out, ring_sweep)
    return out


def _numbers(name, ds, Q, est, n_generate, seed) -> dict:
    X, Z, latent = ds.X.astype(np.float64), est.embedding_, ds.views["latent"]
    dist = MANIFOLD_DISTANCE[name]
    h = est.history_["objective"]
    X_hat = est.inverse_transform(Z)
    rng = np.random.default_rng(seed)
    gauss = rng.multivariate_normal(X.mean(0), np.cov(X, rowvar=False), size=n_generate)
    nums = {
        "trustworthiness": float(trustworthiness(X, Z, n_neighbors=10)),
        "f_ratio": float(h[-1] / h[0]),
        "train_rel_error": float(np.linalg.norm(X - X_hat) / np.linalg.norm(X - X.mean(0))),
        "gen_distance": float(dist(est.sample(n_generate, random_state=seed), Q).mean()),
        "data_distance": float(dist(X, Q).mean()),
        "gaussian_distance": float(dist(gauss, Q).mean()),
        "sweep_distance": float(dist(sweep(name, est, X, rng), Q).mean()),
    }
    if name == "ring":
        nums["circular_correlation"] = circular_correlation(np.arctan2(Z[:, 1], Z[:, 0]), latent[:, 0])
    else:
        targets = (np.column_stack([np.cos(latent), np.sin(latent)]) if name == "torus" else latent)
        cv = KFold(5, shuffle=True, random_state=seed)
        nums["r2"] = float(cross_val_score(KNeighborsRegressor(10), Z, targets, cv=cv, scoring="r2").mean())
    return nums


def sweep(name, est, X, rng) -> np.ndarray:
    """Decoded sweeps: the latent circle of mean radius (ring); midpoints of latent segments
    between each of 200 points and its nearest neighbour in input space (torus, swiss roll).
    """
    Z = est.embedding_
    if name == "ring":
        r = np.sqrt((Z**2).sum(1)).mean()
        a = np.linspace(0, 2 * np.pi, 200, endpoint=False)
        return est.inverse_transform(r * np.column_stack([np.cos(a), np.sin(a)]))
    idx = rng.choice(len(X), size=min(200, len(X)), replace=False)
    nearest = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X[idx], return_distance=False)[:, 1]
    return est.inverse_transform((Z[idx] + Z[nearest]) / 2)
