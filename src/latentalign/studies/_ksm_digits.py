"""KSM study, digits reconstruction: KSM against PCA, (minibatch) dictionary learning and kernel PCA.

Every method sees the same ``X~``; KernelPCA's gamma and alpha are tuned on a validation split of
the training set, never on the test set.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA, DictionaryLearning, KernelPCA, MiniBatchDictionaryLearning
from sklearn.model_selection import train_test_split

from ..data import digits
from . import _ksm_figures as figures
from ._ksm_common import fit, rel_error
from .base import Table


def split(config) -> dict:
    """Digits / 16, an 80/20 split stratified with seed 0, and the training mean and scale of ``X~``."""
    ds = digits()
    X, y = ds.X.astype(np.float64), ds.y
    if config["digits_limit"]:
        X, _, y, _ = train_test_split(X, y, train_size=config["digits_limit"], stratify=y, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    mean = X_tr.mean(0)
    scale = float(np.sqrt(((X_tr - mean) ** 2).sum(1).mean()))
    return {"X_tr": X_tr, "X_te": X_te, "y_tr": y_tr, "y_te": y_te, "mean": mean, "scale": scale,
            "n_train": len(X_tr), "n_test": len(X_te)}


def run(config, s, result) -> dict:
    """Test reconstruction error of PCA, dictionary learning, kernel PCA and KSM at each latent size."""
    norm = lambda X: (X - s["mean"]) / s["scale"]  # noqa: E731  the same X~ for every method
    Xn_tr, Xn_te = norm(s["X_tr"]), norm(s["X_te"])
    zero = np.zeros(Xn_tr.shape[1])
    errors, nnz, kpca_choice, dictionaries = {}, {}, {}, {}
    for m in config["digits_sizes"]:
        key = str(m)
        pca = PCA(m, random_state=0).fit(Xn_tr)
        errors.setdefault("PCA", {})[key] = rel_error(Xn_te, pca.inverse_transform(pca.transform(Xn_te)), zero)
        for label, cls, extra in (("DictionaryLearning", DictionaryLearning, {}),
                                  ("MiniBatchDictionaryLearning", MiniBatchDictionaryLearning, {"batch_size": 256})):
            dl = cls(m, alpha=0.1, fit_algorithm="cd", max_iter=config["dl_iter"], transform_algorithm="lasso_cd",
                     transform_alpha=0.1, random_state=0, **extra).fit(Xn_tr)
            dictionaries.setdefault(label, {})[key] = dl
            code = dl.transform(Xn_te)
            errors.setdefault(label, {})[key] = rel_error(Xn_te, code @ dl.components_, zero)
            nnz.setdefault(label, {})[key] = float((code != 0).mean())
        gamma, alpha = _tune_kpca(config, Xn_tr, s["y_tr"], m)
        kpca_choice[key] = {"gamma": gamma, "alpha": alpha}
        kp = KernelPCA(m, kernel="rbf", gamma=gamma, alpha=alpha, fit_inverse_transform=True,
                       random_state=0).fit(Xn_tr)
        errors.setdefault("KernelPCA (tuned on validation)", {})[key] = rel_error(
            Xn_te, kp.inverse_transform(kp.transform(Xn_te)), zero)
        for label, params in (("KSM linear a=0", {"kernel": "linear"}),
                              ("KSM linear a=0.1", {"kernel": "linear", "alpha": 0.1}),
                              ("KSM Gaussian (minibatch)", {})):
            est = fit(s["X_tr"], n_components=m, max_iter=config["max_iter"], random_state=0, **params)
            Z = est.transform(s["X_te"])
            errors.setdefault(label, {})[key] = rel_error(s["X_te"], est.inverse_transform(Z), s["mean"])
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
    sparse = "KSM linear a=0.1"
    matched = {k: _at_nnz(dictionaries["DictionaryLearning"][k], Xn_te, nnz[sparse][k]) for k in big}
    result.tables.append(Table(
        "Digits at equal sparsity: sparse linear KSM (alpha = 0.1) against DictionaryLearning's dictionary with "
        "its test codes re-encoded (lasso_cd, transform_alpha found by bisection) to KSM's nnz.",
        ["m", "KSM error", "KSM nnz", "DL error at that nnz", "DL nnz", "DL transform_alpha",
         "DL error at alpha 0.1 (nnz)"],
        [[k, f"{errors[sparse][k]:.3f}", f"{nnz[sparse][k]:.3f}", f"{matched[k]['error']:.3f}",
          f"{matched[k]['nnz']:.3f}", f"{matched[k]['alpha']:.4f}",
          f"{errors['DictionaryLearning'][k]:.3f} ({nnz['DictionaryLearning'][k]:.2f})"] for k in big]))
    if big:
        gap = max(abs(errors[sparse][k] - matched[k]["error"]) for k in big)
        result.claim("digits_sparse", gap, f"largest |gap| {gap:.3f}: " + ", ".join(
            f"m={k}: {errors[sparse][k]:.3f} vs {matched[k]['error']:.3f} at nnz {nnz[sparse][k]:.2f} / "
            f"{matched[k]['nnz']:.2f}" for k in big))
    gap = max(abs(errors["KSM linear a=0"][k] - errors["PCA"][k]) for k in sizes)
    result.claim("digits_linear_pca", gap, f"largest gap {gap:.3f}")
    result.figures.append(figures.digits_error(config["digits_sizes"], errors))
    return {"errors": errors, "nnz": nnz, "kernel_pca_choice": kpca_choice, "matched_nnz": matched}


def _at_nnz(dl, X, target: float, steps: int = 30, tol: float = 0.005) -> dict:
    """Re-encode ``X`` with ``dl``'s dictionary at the nnz ``target``: bisection on ``log transform_alpha``
    (nnz falls as alpha grows) until the nnz is within ``tol``.
    """
    lo, hi = np.log(1e-5), np.log(10.0)
    for _ in range(steps):
        alpha = float(np.exp(0.5 * (lo + hi)))
        code = dl.set_params(transform_alpha=alpha).transform(X)
        share = float((code != 0).mean())
        if abs(share - target) <= tol:
            break
        if share > target:
            lo = np.log(alpha)
        else:
            hi = np.log(alpha)
    return {"alpha": alpha, "nnz": share, "error": rel_error(X, code @ dl.components_, np.zeros(X.shape[1]))}


def _tune_kpca(config, Xn_tr, y_tr, m) -> tuple[float, float]:
    """Pick KernelPCA's (gamma, alpha) by reconstruction error on a validation split of the training set."""
    X_fit, X_val = train_test_split(Xn_tr, test_size=0.2, stratify=y_tr, random_state=0)
    scores = {}
    for gamma in config["kpca_gammas"]:
        for alpha in config["kpca_alphas"]:
            kp = KernelPCA(m, kernel="rbf", gamma=gamma, alpha=alpha, fit_inverse_transform=True,
                           random_state=0).fit(X_fit)
            scores[(gamma, alpha)] = rel_error(X_val, kp.inverse_transform(kp.transform(X_val)), 0.0)
    return min(scores, key=scores.get)
