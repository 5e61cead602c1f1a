"""KSM study (``docs/ksm.md#ksm-study``): manifold geometry, digits reconstruction and generation.

(a) Ring, torus and swiss roll in 10-20 dimensions: latent geometry (circular
correlation, trustworthiness, 10-NN R^2 of the true coordinates), decoded sweeps and
samples on the input manifold (generation distance vs the data's own and a fitted
Gaussian), tuning curves under the budget prior (tiling), online network vs ADMM.
(b) Digits: test reconstruction error at latent sizes 4/8/16/32 against PCA,
``DictionaryLearning``, ``MiniBatchDictionaryLearning`` and ``KernelPCA`` (its gamma
and alpha tuned on a validation split of the training set, never on the test set);
generated digits (NN-ratio, classifier confidence), interpolation, inpainting
(half the pixels hidden) and anomaly ranking (a held-out class, ROC AUC).
(c) Ablations over the ridge, the bandwidth and the prior on the ring.

Examples
--------
>>> from latentalign.studies import ksm_study
>>> result = ksm_study.run(ksm_study.QUICK_CONFIG)  # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.decomposition import PCA, DictionaryLearning, KernelPCA, MiniBatchDictionaryLearning
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import KNNImputer
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import trustworthiness
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors

from .._extras import require
from ..data import digits
from ..data.synthetic import MANIFOLD_DISTANCE, ring, swiss_roll, torus
from ..ksm import KernelSimilarityMatching, ksm_objective
from .base import Claim, Figure, Result, Table
from .ksm_geometry import circular_correlation, circular_variance, population_vector_angle, preferred_angles

plt = require("matplotlib.pyplot", "the KSM study figures")

TITLE = "KSM: kernel similarity matching as an implicit generative model"
MANIFOLDS = {"ring": (ring, 300, 10, 2), "torus": (torus, 400, 20, 4), "swiss_roll": (swiss_roll, 400, 20, 3)}
TILING = {"kernel": "linear", "nonneg": True, "n_components": 16, "budget": "ball", "budget_radius": 1.0}
CLAIMS = {
    "trust_ring": Claim("ring: trustworthiness(k=10) >= {threshold}", ">=", 0.99),
    "trust_torus": Claim("torus: trustworthiness(k=10) >= {threshold}", ">=", 0.995),
    "trust_swiss_roll": Claim("swiss_roll: trustworthiness(k=10) >= {threshold}", ">=", 0.99),
    "gen_ratio_ring": Claim("ring: generated points closer to the manifold than {threshold}x the data", "<=", 0.5),
    "gen_ratio_torus": Claim("torus: generated points closer to the manifold than {threshold}x the data", "<=", 0.7),
    "gen_ratio_swiss_roll": Claim("swiss_roll: generated points closer to the manifold than {threshold}x the data",
                                  "<=", 1.0),
    "ring_cc": Claim("ring: circular correlation >= {threshold}", ">=", 0.99),
    "ring_gen_gauss": Claim("ring: generation distance <= {threshold}x a Gaussian fitted to X", "<=", 0.1),
    "r2": Claim("{manifold}: 10-NN regression R^2 of the true coordinates >= {threshold}", ">=", 0.95),
    "tiling_active": Claim("tiling: >= {threshold} active units", ">=", 12),
    "tiling_cv": Claim("tiling: median circular variance <= {threshold} (localised tuning)", "<=", 0.4),
    "tiling_cc": Claim("tiling: population-vector circular correlation >= {threshold}", ">=", 0.99),
    "online_linear": Claim("online network (linear_tiling) reaches the ADMM objective within {threshold}x", "<=", 1.1),
    "online_gaussian": Claim("online network (gaussian) reaches the ADMM objective within {threshold}x", "<=", 1.5),
    "digits_ksm_best": Claim("digits m={m}: Gaussian KSM has the lowest test error of all baselines"),
    "digits_sparse": Claim("digits, latent sizes of 16 and more: sparse linear KSM (alpha=0.1) has lower error than "
                           "DictionaryLearning (at a higher nnz)"),
    "digits_linear_pca": Claim("digits: linear KSM (alpha=0) matches PCA (largest gap <= {threshold})", "<=", 0.02),
    "gen_nn": Claim("generated digits: KSM samples are closer to the data than PCA-Gaussian samples"),
    "gen_confidence": Claim("generated digits: a classifier is more confident on KSM samples than on PCA-Gaussian "
                            "ones"),
    "inpainting": Claim("inpainting: KSM fills hidden pixels better than the training mean"),
    "anomaly": Claim("anomaly: KSM ranks a held-out digit class above chance (worst AUC > {threshold})", ">", 0.7),
}
DEFAULT_CONFIG = {
    "seeds": [0, 1, 2],  # manifold data and model seeds
    "manifolds": ["ring", "torus", "swiss_roll"],
    "size_scale": 1.0,  # multiplies the manifold sample sizes of spec §10
    "max_iter": "auto",  # ADMM iterations (auto: 1500 full batch, 200 minibatch epochs)
    "n_generate": 1000,
    "online_seeds": [0],
    "online_epochs": 20,
    "digits_sizes": [4, 8, 16, 32],
    "digits_limit": None,  # use only this many digits (quick runs)
    "dl_iter": 30,
    "kpca_gammas": [0.05, 0.1, 0.25, 0.5],
    "kpca_alphas": [1e-4, 1e-3, 1e-2],
    "generation_size": 16,
    "sample_bandwidths": [0.1, 0.3],
    "n_pairs": 200,
    "outlier_classes": [0, 4, 7],
    "anomaly_size": 16,
    "ablation": {"ridge": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], "sigma": [0.5, 1.0, 2.0], "learn_sigma": [True],
                 "budget": ["ball", "sphere", "total", None]},
}
QUICK_CONFIG = {  # one seed at full size: every claim is checked at its own threshold (minutes, a slow test)
    **DEFAULT_CONFIG,
    "seeds": [0], "n_generate": 200, "digits_sizes": [4, 16], "digits_limit": 600, "dl_iter": 5,
    "kpca_gammas": [0.1, 0.25], "kpca_alphas": [1e-3], "generation_size": 8, "sample_bandwidths": [0.1],
    "n_pairs": 50, "outlier_classes": [0], "anomaly_size": 8,
    "ablation": {"ridge": [1e-3], "sigma": [], "learn_sigma": [True], "budget": []},
}


def run(config: dict) -> Result:
    """Run the KSM study with ``config`` (``DEFAULT_CONFIG`` or ``QUICK_CONFIG``) and check its ``CLAIMS``."""
    t0 = time.perf_counter()
    result = Result(summary="", claims=CLAIMS)
    part_seconds = {}

    def timed(name, fn, *args):
        start = time.perf_counter()
        out = fn(*args)
        part_seconds[name] = time.perf_counter() - start
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        manifolds = timed("manifolds", _manifolds, config, result)
        tiling = timed("tiling", _tiling, config, result)
        online = timed("online", _online, config, result)
        split = _digits_split(config)
        table = timed("digits table", _digits_table, config, split, result)
        generation = timed("generation", _generation, config, split, result)
        inpainting = timed("inpainting", _inpainting, config, split, result)
        anomaly = timed("anomaly", _anomaly, config, split, result)
        ablation = timed("ablation", _ablation, config, result)
    result.numbers.update(manifolds=manifolds, tiling=tiling, online=online, digits=table, generation=generation,
                          inpainting=inpainting, anomaly=anomaly, ablation=ablation, part_seconds=part_seconds,
                          seconds=time.perf_counter() - t0)
    result.tables.append(Table("Wall time per part of the study (s).", list(part_seconds),
                               [[f"{v:.1f}" for v in part_seconds.values()]]))
    best = {m: min(table["errors"], key=lambda k: table["errors"][k][str(m)]) for m in config["digits_sizes"]}
    result.summary = (
        f"KSM on {', '.join(config['manifolds'])} ({len(config['seeds'])} seed(s)) and digits "
        f"({split['n_train']} train / {split['n_test']} test). Ring circular correlation "
        f"{manifolds['ring']['circular_correlation_min']:.4f} (worst seed); best test reconstruction per latent "
        f"size: {', '.join(f'm={m}: {k}' for m, k in best.items())}. Wall time {result.numbers['seconds']:.0f} s."
    )
    return result


# ---------------------------------------------------------------------- (a) manifolds
def _fit(X, **params):
    return KernelSimilarityMatching(**params).fit(X)


def _manifolds(config, result) -> dict:
    out, rows, figs = {}, [], {}
    for name in config["manifolds"]:
        make, n, dim, m = MANIFOLDS[name]
        n = max(40, int(round(n * config["size_scale"])))
        per_seed = []
        for seed in config["seeds"]:
            ds, Q = make(n=n, dim=dim, seed=seed, return_basis=True)
            est = _fit(ds.X, n_components=m, max_iter=config["max_iter"], random_state=seed)
            per_seed.append(_manifold_numbers(name, ds, Q, est, config["n_generate"], seed))
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
    result.figures += _manifold_figures(figs, out)
    return out


def _manifold_numbers(name, ds, Q, est, n_generate, seed) -> dict:
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
        "sweep_distance": float(dist(_sweep(name, est, X, rng), Q).mean()),
    }
    if name == "ring":
        nums["circular_correlation"] = circular_correlation(np.arctan2(Z[:, 1], Z[:, 0]), latent[:, 0])
    else:
        targets = (np.column_stack([np.cos(latent), np.sin(latent)]) if name == "torus" else latent)
        cv = KFold(5, shuffle=True, random_state=seed)
        nums["r2"] = float(cross_val_score(KNeighborsRegressor(10), Z, targets, cv=cv, scoring="r2").mean())
    return nums


def _sweep(name, est, X, rng) -> np.ndarray:
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


def _manifold_figures(figs, out) -> list[Figure]:
    fig, axes = plt.subplots(1, len(figs), figsize=(4 * len(figs), 3.6), squeeze=False)
    for ax, (name, (ds, _, est)) in zip(axes[0], figs.items()):
        Z = est.embedding_
        colour = ds.views["latent"][:, 0]
        ax.scatter(Z[:, 0], Z[:, 1], c=colour, cmap="twilight" if name != "swiss_roll" else "viridis", s=8)
        ax.set_title(f"{name}: latents 1-2 (colour: true {'angle' if name != 'swiss_roll' else 't'})", fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
    figures = [Figure("manifold_latents", "Learned latents coloured by the true coordinate (first seed).", fig)]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, (_, _, est) in figs.items():
        ax.semilogy(est.history_["objective"], label=name)
    ax.set_xlabel("ADMM iteration")
    ax.set_ylabel("f + mean penalty")
    ax.legend()
    figures.append(Figure("objective", "Objective per ADMM iteration (first seed).", fig))
    if "ring" in figs:
        ds, Q, est = figs["ring"]
        P = ds.X @ Q
        S = _sweep("ring", est, ds.X, np.random.default_rng(0)) @ Q
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.scatter(P[:, 0], P[:, 1], s=6, c="0.7", label="data (projected)")
        ax.plot(S[:, 0], S[:, 1], "r-", lw=1.5, label="decoded latent circle")
        ax.set_aspect("equal")
        ax.legend(fontsize=8)
        figures.append(Figure("ring_sweep", "Ring: the decoded latent circle in the data's plane.", fig))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = list(out)
    x = np.arange(len(names))
    for i, (key, label) in enumerate((("gen_distance", "KSM samples"), ("data_distance", "data"),
                                      ("gaussian_distance", "Gaussian fit"))):
        ax.bar(x + (i - 1) * 0.27, [out[n][key] for n in names], 0.27, label=label)
    ax.set_xticks(x, names)
    ax.set_yscale("log")
    ax.set_ylabel("mean distance to the manifold")
    ax.legend(fontsize=8)
    figures.append(Figure("generation_distance", "Distance to the true manifold: KSM samples, data, Gaussian.", fig))
    return figures


def _ring_data(config, seed):
    n = max(40, int(round(300 * config["size_scale"])))
    return ring(n=n, dim=10, seed=seed)


def _tiling(config, result) -> dict:
    per_seed, keep = [], None
    for seed in config["seeds"]:
        ds = _ring_data(config, seed)
        theta = ds.views["latent"][:, 0]
        Z = _fit(ds.X, max_iter=config["max_iter"], random_state=seed, **TILING).embedding_
        active = Z.max(0) > 1e-6
        cv = circular_variance(Z[:, active], theta)
        phi = population_vector_angle(Z, preferred_angles(Z, theta))
        per_seed.append({"active_units": int(active.sum()), "median_circular_variance": float(np.median(cv)),
                         "population_vector_cc": circular_correlation(phi, theta)})
        keep = keep or (theta, Z)
    worst = {"active_units": min(s["active_units"] for s in per_seed),
             "median_circular_variance": max(s["median_circular_variance"] for s in per_seed),
             "population_vector_cc": min(s["population_vector_cc"] for s in per_seed)}
    result.claim("tiling_active", worst["active_units"], str(worst["active_units"]))
    result.claim("tiling_cv", worst["median_circular_variance"], f"{worst['median_circular_variance']:.3f}")
    result.claim("tiling_cc", worst["population_vector_cc"], f"{worst['population_vector_cc']:.4f}")
    theta, Z = keep
    order = np.argsort(theta)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(theta[order], Z[order], lw=1)
    ax.set_xlabel("true angle")
    ax.set_ylabel("unit activity")
    result.figures.append(Figure("tuning_curves", "Tiling: tuning curves of 16 non-negative linear units under a "
                                 "unit-ball budget (ring, first seed).", fig))
    return {"worst": worst, "per_seed": per_seed}


def _online(config, result) -> dict:
    out = {"linear_tiling": [], "gaussian": []}
    curves = {}
    for seed in config["online_seeds"]:
        ds = _ring_data(config, seed)
        for key, params in (("linear_tiling", TILING), ("gaussian", {})):
            batch = _fit(ds.X, max_iter=config["max_iter"], random_state=seed, **params)
            net = _fit(ds.X, solver="online", max_iter=config["online_epochs"], random_state=seed, **params)
            Xn = (ds.X - net.mean_) / net.scale_
            kernel = params.get("kernel", "rbf")
            f_on, f_b = (ksm_objective(Xn, e, kernel=kernel) for e in (net.embedding_, batch.embedding_))
            entry = {"seed": seed, "f_online": f_on, "f_batch": f_b, "ratio": f_on / f_b}
            if key == "gaussian":
                Z = net.embedding_
                entry["circular_correlation"] = circular_correlation(np.arctan2(Z[:, 1], Z[:, 0]),
                                                                     ds.views["latent"][:, 0])
            out[key].append(entry)
            curves.setdefault(key, (net.history_["objective"], f_b))
    for key, claim in (("linear_tiling", "online_linear"), ("gaussian", "online_gaussian")):
        worst = max(e["ratio"] for e in out[key])
        result.claim(claim, worst, f"worst f_online / f_batch = {worst:.3f}")
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, (key, (hist, f_b)) in zip(axes, curves.items()):
        ax.plot(np.arange(1, len(hist) + 1), hist, "o-", label="online: epoch loss")
        ax.axhline(f_b, color="r", ls="--", label="ADMM f")
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    result.figures.append(Figure("online_vs_batch", "Online Hebbian network: per-epoch loss against the ADMM "
                                 "objective (ring, first seed).", fig))
    return out


# ---------------------------------------------------------------------- (b) digits
def _digits_split(config) -> dict:
    ds = digits()
    X, y = ds.X.astype(np.float64), ds.y
    if config["digits_limit"]:
        X, _, y, _ = train_test_split(X, y, train_size=config["digits_limit"], stratify=y, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    mean = X_tr.mean(0)
    scale = float(np.sqrt(((X_tr - mean) ** 2).sum(1).mean()))
    return {"X_tr": X_tr, "X_te": X_te, "y_tr": y_tr, "y_te": y_te, "mean": mean, "scale": scale,
            "n_train": len(X_tr), "n_test": len(X_te)}


def _rel_error(X, X_hat, mean) -> float:
    return float(np.linalg.norm(X - X_hat) / np.linalg.norm(X - mean))


def _digits_table(config, s, result) -> dict:
    norm = lambda X: (X - s["mean"]) / s["scale"]  # noqa: E731  the same X~ for every method
    Xn_tr, Xn_te = norm(s["X_tr"]), norm(s["X_te"])
    zero = np.zeros(Xn_tr.shape[1])
    errors, nnz, kpca_choice = {}, {}, {}
    for m in config["digits_sizes"]:
        key = str(m)
        pca = PCA(m, random_state=0).fit(Xn_tr)
        errors.setdefault("PCA", {})[key] = _rel_error(Xn_te, pca.inverse_transform(pca.transform(Xn_te)), zero)
        for label, cls, extra in (("DictionaryLearning", DictionaryLearning, {}),
                                  ("MiniBatchDictionaryLearning", MiniBatchDictionaryLearning, {"batch_size": 256})):
            dl = cls(m, alpha=0.1, fit_algorithm="cd", max_iter=config["dl_iter"], transform_algorithm="lasso_cd",
                     transform_alpha=0.1, random_state=0, **extra).fit(Xn_tr)
            code = dl.transform(Xn_te)
            errors.setdefault(label, {})[key] = _rel_error(Xn_te, code @ dl.components_, zero)
            nnz.setdefault(label, {})[key] = float((code != 0).mean())
        gamma, alpha = _tune_kpca(config, Xn_tr, s["y_tr"], m)
        kpca_choice[key] = {"gamma": gamma, "alpha": alpha}
        kp = KernelPCA(m, kernel="rbf", gamma=gamma, alpha=alpha, fit_inverse_transform=True,
                       random_state=0).fit(Xn_tr)
        errors.setdefault("KernelPCA (tuned on validation)", {})[key] = _rel_error(
            Xn_te, kp.inverse_transform(kp.transform(Xn_te)), zero)
        for label, params in (("KSM linear a=0", {"kernel": "linear"}),
                              ("KSM linear a=0.1", {"kernel": "linear", "alpha": 0.1}),
                              ("KSM Gaussian (minibatch)", {})):
            est = _fit(s["X_tr"], n_components=m, max_iter=config["max_iter"], random_state=0, **params)
            Z = est.transform(s["X_te"])
            errors.setdefault(label, {})[key] = _rel_error(s["X_te"], est.inverse_transform(Z), s["mean"])
            nnz.setdefault(label, {})[key] = float((Z != 0).mean())
    sizes = [str(m) for m in config["digits_sizes"]]
    rows = [[label] + [f"{errors[label][k]:.3f}" + (f" (nnz {nnz[label][k]:.2f})" if label in nnz and
                                                   ("a=0.1" in label or "Dictionary" in label) else "")
                       for k in sizes] for label in errors]
    result.tables.append(Table(
        "Digits: test relative reconstruction error ||X - X^|| / ||X - mean|| at equal latent size (nnz: fraction "
        "of non-zero codes). KernelPCA's gamma and alpha were chosen on a validation split of the training set.",
        ["method"] + [f"m={k}" for k in sizes], rows))
    ksm = errors["KSM Gaussian (minibatch)"]
    for m in config["digits_sizes"]:
        if m <= 8:
            rivals = {k: v[str(m)] for k, v in errors.items() if not k.startswith("KSM")}
            best_rival = min(rivals, key=rivals.get)
            result.claim("digits_ksm_best", ksm[str(m)] < rivals[best_rival],
                         f"KSM {ksm[str(m)]:.3f} vs best baseline {best_rival} {rivals[best_rival]:.3f}", m=m)
    big = [k for k in sizes if int(k) >= 16]
    wins = bool(big) and all(errors["KSM linear a=0.1"][k] < errors["DictionaryLearning"][k] for k in big)
    result.claim("digits_sparse", wins, ", ".join(
        f"m={k}: {errors['KSM linear a=0.1'][k]:.3f} (nnz {nnz['KSM linear a=0.1'][k]:.2f}) vs "
        f"{errors['DictionaryLearning'][k]:.3f} (nnz {nnz['DictionaryLearning'][k]:.2f})" for k in big))
    gap = max(abs(errors["KSM linear a=0"][k] - errors["PCA"][k]) for k in sizes)
    result.claim("digits_linear_pca", gap, f"largest gap {gap:.3f}")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label in errors:
        ax.plot(config["digits_sizes"], [errors[label][k] for k in sizes], "o-", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("latent size m")
    ax.set_ylabel("test relative error")
    ax.legend(fontsize=7)
    result.figures.append(Figure("digits_error", "Digits: test reconstruction error vs latent size.", fig))
    return {"errors": errors, "nnz": nnz, "kernel_pca_choice": kpca_choice}


def _tune_kpca(config, Xn_tr, y_tr, m) -> tuple[float, float]:
    """Pick KernelPCA's (gamma, alpha) by reconstruction error on a validation split of the training set."""
    X_fit, X_val = train_test_split(Xn_tr, test_size=0.2, stratify=y_tr, random_state=0)
    scores = {}
    for gamma in config["kpca_gammas"]:
        for alpha in config["kpca_alphas"]:
            kp = KernelPCA(m, kernel="rbf", gamma=gamma, alpha=alpha, fit_inverse_transform=True,
                           random_state=0).fit(X_fit)
            scores[(gamma, alpha)] = _rel_error(X_val, kp.inverse_transform(kp.transform(X_val)), 0.0)
    return min(scores, key=scores.get)


def _generation(config, s, result) -> dict:
    m = config["generation_size"]
    X_tr, X_te = s["X_tr"], s["X_te"]
    est = _fit(X_tr, n_components=m, max_iter=config["max_iter"], random_state=0)
    norm = lambda X: (X - s["mean"]) / s["scale"]  # noqa: E731  the classifier sees X~, like every method
    clf = LogisticRegression(max_iter=2000).fit(norm(X_tr), s["y_tr"])
    nn = NearestNeighbors(n_neighbors=1).fit(X_tr)
    base = float(nn.kneighbors(X_te)[0].mean())
    judge = lambda X: {"nn_ratio": float(nn.kneighbors(X)[0].mean()) / base,  # noqa: E731
                       "confidence": float(clf.predict_proba(norm(X)).max(1).mean())}
    n = config["n_generate"]
    out = {"test_images": judge(X_te)}
    grids = {}
    for bw in config["sample_bandwidths"]:
        est.set_params(sample_bandwidth=bw)
        samples = est.sample(n, random_state=0)
        out[f"KSM sample_bandwidth={bw}"] = judge(samples)
        grids.setdefault("KSM", samples[:64])
    pca = PCA(m, random_state=0).fit(X_tr)
    rng = np.random.default_rng(0)
    codes = pca.transform(X_tr)
    gauss = pca.inverse_transform(rng.multivariate_normal(codes.mean(0), np.cov(codes, rowvar=False), size=n))
    out["PCA-Gaussian"] = judge(gauss)
    grids["PCA-Gaussian"] = gauss[:64]
    a, b = rng.integers(0, len(X_te), size=(2, config["n_pairs"]))
    Z = est.transform(X_te)
    mid = est.inverse_transform((Z[a] + Z[b]) / 2)
    out["KSM interpolation midpoints"] = judge(mid)
    out["pixel blend midpoints"] = judge((X_te[a] + X_te[b]) / 2)
    result.tables.append(Table(
        f"Digits generation (m={m}): NN-ratio = mean distance to the nearest training image / the same for test "
        "images (low = close to the data, not novelty); confidence = mean max-probability of a logistic "
        "regression trained on the training digits (X~).",
        ["images", "NN-ratio", "confidence"],
        [[k, f"{v['nn_ratio']:.3f}", f"{v['confidence']:.3f}"] for k, v in out.items()]))
    ksm = out[f"KSM sample_bandwidth={config['sample_bandwidths'][0]}"]
    result.claim("gen_nn", ksm["nn_ratio"] < out["PCA-Gaussian"]["nn_ratio"],
                 f"NN-ratio {ksm['nn_ratio']:.3f} vs {out['PCA-Gaussian']['nn_ratio']:.3f}")
    result.claim("gen_confidence", ksm["confidence"] > out["PCA-Gaussian"]["confidence"],
                 f"{ksm['confidence']:.3f} vs {out['PCA-Gaussian']['confidence']:.3f}")
    strips = [est.interpolate(Z[i], Z[j], n_steps=8) for i, j in zip(a[:4], b[:4])]
    result.figures.append(_digit_grids(grids, strips))
    return out


def _digit_grids(grids: dict, strips: list) -> Figure:
    fig, axes = plt.subplots(1, len(grids) + 1, figsize=(4 * (len(grids) + 1), 4))
    for ax, (label, X) in zip(axes, grids.items()):
        ax.imshow(_tile(X, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    axes[-1].imshow(np.vstack([_tile(S, len(S)) for S in strips]), cmap="gray_r", vmin=0, vmax=1)
    axes[-1].set_title("KSM interpolation strips", fontsize=9)
    axes[-1].axis("off")
    return Figure("digit_samples", "Generated digits: KSM samples, PCA-Gaussian samples, and decoded latent "
                  "interpolations between pairs of test digits.", fig)


def _tile(X, cols: int) -> np.ndarray:
    rows = int(np.ceil(len(X) / cols))
    canvas = np.zeros((rows * 9, cols * 9))
    for i, x in enumerate(X):
        r, c = divmod(i, cols)
        canvas[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = x.reshape(8, 8)
    return canvas


def _inpainting(config, s, result) -> dict:
    m = config["generation_size"]
    X_tr, X_te = s["X_tr"], s["X_te"]
    rng = np.random.default_rng(0)
    mask = np.zeros(X_te.shape, dtype=bool)
    for row in mask:
        row[rng.choice(X_te.shape[1], X_te.shape[1] // 2, replace=False)] = True
    holes = np.where(mask, np.nan, X_te)
    est = _fit(X_tr, n_components=m, max_iter=config["max_iter"], random_state=0)
    filled = {"KSM complete": est.complete(holes, mask),
              "KNNImputer (k=5)": KNNImputer(n_neighbors=5).fit(X_tr).transform(holes),
              f"PCA (m={m}, PPCA posterior from observed pixels)": _pca_complete(PCA(m, random_state=0).fit(X_tr),
                                                                                 holes, mask),
              "training mean": np.where(mask, s["mean"], X_te)}
    denom = np.linalg.norm((X_te - s["mean"])[mask])
    out = {k: float(np.linalg.norm((v - X_te)[mask]) / denom) for k, v in filled.items()}
    result.tables.append(Table(
        "Digit inpainting: half the pixels of every test digit hidden; relative error on the hidden pixels "
        "||x_h - x^_h|| / ||x_h - mean_h||.", ["method", "hidden-pixel rel. error"],
        [[k, f"{v:.3f}"] for k, v in out.items()]))
    result.claim("inpainting", out["KSM complete"] < out["training mean"],
                 f"{out['KSM complete']:.3f} vs {out['training mean']:.3f}")
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    for ax, (label, X) in zip(axes, (("test digits", X_te[:8]), ("observed half", np.where(mask, 0.5, X_te)[:8]),
                                     ("KSM completion", filled["KSM complete"][:8]))):
        ax.imshow(_tile(X, 4), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    result.figures.append(Figure("inpainting", "Inpainting: test digits, their observed half (grey = hidden), "
                                 "and KSM's completion.", fig))
    return out


def _pca_complete(pca: PCA, holes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Probabilistic-PCA completion: the posterior mean code given each row's observed pixels,
    ``c = (W_o W_o^T / s2 + diag(1/v))^{-1} W_o (x_o - mu_o) / s2`` with prior variances
    ``v = explained_variance_ - s2`` and noise ``s2 = noise_variance_``, decoded at the hidden pixels.
    """
    out = np.where(mask, 0.0, holes)
    W, mu, s2 = pca.components_, pca.mean_, max(float(pca.noise_variance_), 1e-12)
    prior = np.diag(1.0 / np.maximum(pca.explained_variance_ - s2, 1e-12))
    for i in range(len(holes)):
        o = ~mask[i]
        Wo = W[:, o]
        code = np.linalg.solve(Wo @ Wo.T / s2 + prior, Wo @ (holes[i, o] - mu[o]) / s2)
        out[i, mask[i]] = (mu + code @ W)[mask[i]]
    return out


def _anomaly(config, s, result) -> dict:
    m = config["anomaly_size"]
    out = {}
    for c in config["outlier_classes"]:
        keep = s["y_tr"] != c
        est = _fit(s["X_tr"][keep], n_components=m, max_iter=config["max_iter"], random_state=0)
        pca = PCA(m, random_state=0).fit(s["X_tr"][keep])
        X = np.vstack([s["X_te"], s["X_tr"][~keep]])
        is_out = np.r_[s["y_te"] == c, np.ones((~keep).sum(), dtype=bool)]
        pca_err = ((X - pca.inverse_transform(pca.transform(X))) ** 2).mean(1)
        out[str(c)] = {"KSM": float(roc_auc_score(is_out, -est.score_samples(X))),
                       "PCA": float(roc_auc_score(is_out, pca_err))}
    result.tables.append(Table(
        f"Anomaly ranking (m={m}): trained without one digit class; ROC AUC of -score_samples (KSM) and of "
        "PCA's reconstruction error, that class's digits as outliers among the test digits.",
        ["held-out class", "KSM AUC", "PCA AUC"], [[k, f"{v['KSM']:.3f}", f"{v['PCA']:.3f}"] for k, v in out.items()]))
    worst = min(v["KSM"] for v in out.values())
    result.claim("anomaly", worst,
                 f"worst AUC {worst:.3f}")
    return out


# ---------------------------------------------------------------------- (c) ablations
def _ablation(config, result) -> dict:
    ds, Q = ring(n=max(40, int(round(300 * config["size_scale"]))), dim=10, seed=0, return_basis=True)
    theta, X = ds.views["latent"][:, 0], ds.X.astype(np.float64)
    rows, out = [], {}
    grid = [(name, v) for name in ("ridge", "sigma", "learn_sigma", "budget") for v in config["ablation"][name]]
    for name, value in grid:
        est = _fit(X, max_iter=config["max_iter"], random_state=0, **{name: value})
        Z = est.embedding_
        nums = {"circular_correlation": circular_correlation(np.arctan2(Z[:, 1], Z[:, 0]), theta),
                "train_rel_error": _rel_error(X, est.inverse_transform(Z), X.mean(0)),
                "gen_distance": float(MANIFOLD_DISTANCE["ring"](est.sample(500, random_state=0), Q).mean()),
                "latent_rms_norm": float(np.sqrt((Z**2).sum(1).mean())), "sigma_used": est.sigma_}
        out[f"{name}={value}"] = nums
        rows.append([name, str(value)] + [f"{nums[k]:.4f}" for k in nums])
    result.tables.append(Table("Ablations on the ring (seed 0, defaults otherwise): ridge, Gaussian bandwidth "
                               "sigma (fixed, or learned from sigma = 1 with the budget radius kept at 2), "
                               "budget prior.",
                               ["parameter", "value", "circ. corr.", "train rel. err", "gen. dist", "RMS ||z||",
                                "sigma used"],
                               rows))
    return out
