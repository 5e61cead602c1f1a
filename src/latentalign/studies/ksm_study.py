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

One module per experiment, each ``run``-like function checking its claims of :data:`CLAIMS`:
``_ksm_manifolds``, ``_ksm_tiling``, ``_ksm_online``, ``_ksm_digits``, ``_ksm_generative``,
``_ksm_ablation``; their figures are ``_ksm_figures``, what they share ``_ksm_common``.

Example
-------
>>> from latentalign.studies import ksm_study
>>> result = ksm_study.run(ksm_study.QUICK_CONFIG)  # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from . import _ksm_ablation, _ksm_digits, _ksm_generative, _ksm_manifolds, _ksm_online, _ksm_tiling
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
        manifolds = timed("manifolds", _ksm_manifolds.run, config, result)
        tiling = timed("tiling", _ksm_tiling.run, config, result)
        online = timed("online", _ksm_online.run, config, result)
        split = _ksm_digits.split(config)
        table = timed("digits table", _ksm_digits.run, config, split, result)
        generation = timed("generation", _ksm_generative.generation, config, split, result)
        inpainting = timed("inpainting", _ksm_generative.inpainting, config, split, result)
        anomaly = timed("anomaly", _ksm_generative.anomaly, config, split, result)
        ablation = timed("ablation", _ksm_ablation.run, config, result)
    result.numbers.update(manifolds=manifolds, tiling=tiling, online=online, digits=table, generation=generation,
                          inpainting=inpainting, anomaly=anomaly, ablation=ablation, part_seconds=part_seconds,
                          part_cpu_seconds=part_cpu, seconds=time.perf_counter() - t0,
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
        f"size: {', '.join(f'm={m}: {k}' for m, k in best.items())}. Time: {result.numbers['seconds']:.0f} s wall; "
        f"{result.numbers['cpu_seconds']:.0f} CPU s, so about {result.numbers['cpu_seconds']:.0f} s on 2 idle cores "
        "(an upper bound: most fits run on one thread under the thread policy)."
    )
    return result
