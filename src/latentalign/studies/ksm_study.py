"""KSM study (``docs/ksm.md#ksm-study``): manifold geometry, digits reconstruction and generation.

(a) Ring, torus and swiss roll in 10-20 dimensions: latent geometry (circular
correlation, trustworthiness, 10-NN R^2 of the true coordinates), decoded sweeps and
samples on the input manifold (generation distance vs the data's own and a fitted
Gaussian), tuning curves under the budget prior (tiling), the budget binding (latent norm,
geometry, tuning width), online network vs ADMM (Gaussian on three seeds).
(b) Digits: test reconstruction error at latent sizes 4/8/16/32 against PCA,
``DictionaryLearning``, ``MiniBatchDictionaryLearning`` and ``KernelPCA`` (its gamma
and alpha tuned on a validation split of the training set, never on the test set);
generated digits (NN-ratio, classifier confidence), interpolation, inpainting
(half the pixels hidden) and anomaly ranking (a held-out class, ROC AUC).
Sparse linear KSM against dictionary learning at matched nnz.
(c) Ablations over the ridge and the bandwidth on the ring.

One module per experiment, each ``run``-like function checking its claims of :data:`CLAIMS`:
``_ksm_manifolds``, ``_ksm_tiling``, ``_ksm_budget``, ``_ksm_online``, ``_ksm_digits``, ``_ksm_generative``,
``_ksm_ablation``; their figures are ``_ksm_figures``, what they share ``_ksm_common`` (the ring
fits, memoised so an experiment reuses another's fit instead of repeating it).

Examples
--------
>>> from latentalign.studies import ksm_study
>>> result = ksm_study.run(ksm_study.QUICK_CONFIG)  # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _ksm_ablation, _ksm_budget, _ksm_digits, _ksm_generative, _ksm_manifolds, _ksm_online, _ksm_tiling
from ._ksm_common import RingFits
from .base import Claim, Result, Table

TITLE = "KSM: kernel similarity matching as an implicit generative model"
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
    "budget_norm": Claim("Gaussian ring, a ball budget of radius {radius} binds: RMS latent norm <= {threshold}x the "
                         "unbudgeted fit's", "<=", 0.6),
    "budget_ring_cc": Claim("Gaussian ring under the binding budget of radius {radius}: circular correlation >= "
                            "{threshold} (latents copy the ring)", ">=", 0.999),
    "budget_tiling_growth": Claim("tiling without the budget: RMS latent norm >= {threshold}x that under the unit "
                                  "ball (unbounded latents grow)", ">=", 1.2),
    "budget_tiling_sharpens": Claim("tiling under a ball of radius {radius}: median circular variance <= {threshold}x "
                                    "that under the unit ball (a tighter budget, narrower tuning)", "<=", 0.8),
    "digits_ksm_best": Claim("digits m={m}: Gaussian KSM has the lowest test error of all baselines"),
    "digits_sparse": Claim("digits, latent sizes of 16 and more, at matched nnz (DictionaryLearning's codes "
                           "re-encoded to sparse linear KSM's nnz), sparse KSM and DictionaryLearning reach the same "
                           "test error (within {threshold}): the gap at alpha = 0.1 is one of sparsity", "<=", 0.02),
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
    "online_seeds": {"linear_tiling": [0], "gaussian": [0, 1, 2]},
    "online_epochs": 20,
    "digits_sizes": [4, 8, 16, 32],
    "digits_limit": None,  # use only this many digits (quick runs)
    "dl_iter": 30,
    "kpca_gammas": [0.05, 0.1, 0.25, 0.5],
    "kpca_alphas": [1e-4, 1e-3],  # 1e-2 was never chosen at any m (validation error lowest at 1e-4 for all)
    "generation_size": 16,
    "sample_bandwidths": [0.1, 0.3],
    "n_pairs": 200,
    "outlier_classes": [0, 4, 7],
    "anomaly_size": 16,
    "budget": {"gaussian_radius": 0.5, "tiling_radius": 0.5},  # binding budgets (Gaussian: in units of sigma = 1)
    "ablation": {"ridge": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], "sigma": [0.5, 1.0, 2.0], "learn_sigma": [True]},
}
QUICK_CONFIG = {  # one seed at full size: every claim is checked at its own threshold (minutes, a slow test)
    **DEFAULT_CONFIG,
    "seeds": [0], "n_generate": 200, "digits_sizes": [4, 16], "digits_limit": 600, "dl_iter": 5,
    "kpca_gammas": [0.1, 0.25], "kpca_alphas": [1e-3], "generation_size": 8, "sample_bandwidths": [0.1],
    "n_pairs": 50, "outlier_classes": [0], "anomaly_size": 8, "online_seeds": {"linear_tiling": [0], "gaussian": [0]},
    "ablation": {"ridge": [1e-3], "sigma": [], "learn_sigma": [True]},
}


def run(config: dict) -> Result:
    """Run the KSM study with ``config`` (``DEFAULT_CONFIG`` or ``QUICK_CONFIG``) and check its ``CLAIMS``."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = Result(summary="", claims=CLAIMS)
    part_seconds, part_cpu = {}, {}

    def timed(name, fn, *args):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn(*args)
        part_seconds[name], part_cpu[name] = time.perf_counter() - start, time.process_time() - cpu
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = RingFits(config)
        manifolds = timed("manifolds", _ksm_manifolds.run, config, result, fits)
        tiling = timed("tiling", _ksm_tiling.run, config, result, fits)
        budget = timed("budget", _ksm_budget.run, config, result, fits)
        online = timed("online", _ksm_online.run, config, result, fits)
        split = _ksm_digits.split(config)
        table = timed("digits table", _ksm_digits.run, config, split, result)
        generation = timed("generation", _ksm_generative.generation, config, split, result)
        inpainting = timed("inpainting", _ksm_generative.inpainting, config, split, result)
        anomaly = timed("anomaly", _ksm_generative.anomaly, config, split, result)
        ablation = timed("ablation", _ksm_ablation.run, config, result, fits)
    result.numbers.update(manifolds=manifolds, tiling=tiling, budget=budget, online=online, digits=table,
                          generation=generation, inpainting=inpainting, anomaly=anomaly, ablation=ablation,
                          part_seconds=part_seconds, part_cpu_seconds=part_cpu, seconds=time.perf_counter() - t0,
                          cpu_seconds=time.process_time() - c0)
    result.tables.append(Table("Time per part of the study: wall (s, on a possibly shared machine) and CPU (s, "
                               "this process's threads).", ["clock"] + list(part_seconds),
                               [["wall"] + [f"{v:.1f}" for v in part_seconds.values()],
                                ["CPU"] + [f"{v:.1f}" for v in part_cpu.values()]]))
    best = {m: min(table["errors"], key=lambda k: table["errors"][k][str(m)]) for m in config["digits_sizes"]}
    result.summary = (
        f"KSM on {', '.join(config['manifolds'])} ({len(config['seeds'])} seed(s)) and digits "
        f"({split['n_train']} train / {split['n_test']} test). Ring circular correlation "
        f"{manifolds['ring']['circular_correlation_min']:.4f} (worst seed); best test reconstruction per latent "
        f"size: {', '.join(f'm={m}: {k}' for m, k in best.items())}. {_budget_sentence(budget)} "
        f"{_online_sentence(online)} {_sparse_sentence(table)} Time: {result.numbers['seconds']:.0f} s wall; "
        f"{result.numbers['cpu_seconds']:.0f} CPU s, so about {result.numbers['cpu_seconds']:.0f} s on 2 idle cores "
        "(an upper bound: most fits run on one thread under the thread policy)."
    )
    return result


def _budget_sentence(budget: dict) -> str:
    mean = lambda group, arm, k: np.mean([e[group][arm][k] for e in budget["per_seed"]])  # noqa: E731
    g_ref, g_bound = list(budget["per_seed"][0]["gaussian"])
    t_ref, t_none, t_tight = list(budget["per_seed"][0]["tiling"])
    return (f"Budget prior (mean over seeds): the default Gaussian ball of 2 sigma never binds (largest latent norm "
            f"{mean('gaussian', g_ref, 'max_norm'):.2f}), a ball of {budget['gaussian_radius']} sigma does "
            f"({100 * mean('gaussian', g_bound, 'on_boundary'):.0f}% of latents on it): RMS norm "
            f"{mean('gaussian', g_ref, 'rms_norm'):.3f} -> {mean('gaussian', g_bound, 'rms_norm'):.3f}, circular "
            f"correlation {mean('gaussian', g_ref, 'circular_correlation'):.4f} -> "
            f"{mean('gaussian', g_bound, 'circular_correlation'):.4f}, train error "
            f"{mean('gaussian', g_ref, 'train_rel_error'):.4f} -> {mean('gaussian', g_bound, 'train_rel_error'):.4f}; "
            f"in the tiling setting no budget lets the latents grow (RMS norm {mean('tiling', t_none, 'rms_norm'):.2f} "
            f"against {mean('tiling', t_ref, 'rms_norm'):.2f} under the unit ball) and a ball of "
            f"{budget['tiling_radius']} narrows the tuning (median circular variance "
            f"{mean('tiling', t_ref, 'median_circular_variance'):.3f} -> "
            f"{mean('tiling', t_tight, 'median_circular_variance'):.3f}; no budget "
            f"{mean('tiling', t_none, 'median_circular_variance'):.3f}).")


def _online_sentence(online: dict) -> str:
    g = online["gaussian_summary"]
    return (f"Gaussian online network on {len(online['gaussian'])} seed(s): f_online / f_ADMM "
            f"{g['ratio_range'][0]:.3f}-{g['ratio_range'][1]:.3f}, circular correlation "
            f"{g['circular_correlation_range'][0]:.3f}-{g['circular_correlation_range'][1]:.3f} (a low value: the "
            "network folded the ring).")


def _sparse_sentence(table: dict) -> str:
    matched = table["matched_nnz"]
    if not matched:
        return ""
    errors, nnz = table["errors"], table["nnz"]
    return "At matched nnz, sparse linear KSM vs DictionaryLearning: " + ", ".join(
        f"m={k}: {errors['KSM linear a=0.1'][k]:.3f} vs {v['error']:.3f} (nnz {nnz['KSM linear a=0.1'][k]:.2f})"
        for k, v in matched.items()) + "."
