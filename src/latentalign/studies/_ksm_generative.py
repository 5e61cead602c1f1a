"""KSM study, the generative model on digits: sampling, interpolation, inpainting, anomaly ranking."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.impute import KNNImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from . import _ksm_figures as figures
from ._ksm_common import fit
from .base import Table


def generation(config, s, result) -> dict:
    """Sampled and interpolated digits judged by nearest-neighbour distance and a classifier's confidence."""
    m = config["generation_size"]
    X_tr, X_te = s["X_tr"], s["X_te"]
    est = fit(X_tr, n_components=m, max_iter=config["max_iter"], random_state=0)
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
    result.figures.append(figures.digit_samples(grids, strips))
    return out


def inpainting(config, s, result) -> dict:
    """Half the pixels of each test digit hidden: KSM's completion against KNN, PCA and the mean."""
    m = config["generation_size"]
    X_tr, X_te = s["X_tr"], s["X_te"]
    rng = np.random.default_rng(0)
    mask = np.zeros(X_te.shape, dtype=bool)
    for row in mask:
        row[rng.choice(X_te.shape[1], X_te.shape[1] // 2, replace=False)] = True
    holes = np.where(mask, np.nan, X_te)
    est = fit(X_tr, n_components=m, max_iter=config["max_iter"], random_state=0)
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
    result.figures.append(figures.inpainting(X_te, mask, filled["KSM complete"]))
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


def anomaly(config, s, result) -> dict:
    """Trained without one class: ROC AUC of ranking that class's digits as outliers."""
    m = config["anomaly_size"]
    out = {}
    for c in config["outlier_classes"]:
        keep = s["y_tr"] != c
        est = fit(s["X_tr"][keep], n_components=m, max_iter=config["max_iter"], random_state=0)
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
