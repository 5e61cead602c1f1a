"""Probes of a representation, fit on training latents and scored on test latents.

- :func:`linear_probe`: test accuracy of a linear classifier, ``kind="logistic"``
  (L2 logistic regression) or ``"lstsq"`` (one-hot least squares);
- :func:`knn_probe`: test accuracy of a (weighted) vote among the ``k`` nearest training latents.

(A leave-one-out kNN vote within one set is a different measure:
:func:`latentalign.lcc.loo_knn_accuracy`.)

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = np.repeat([0, 1], 50); Z = rng.normal(size=(100, 3)) + 5 * y[:, None]
>>> linear_probe(Z[::2], y[::2], Z[1::2], y[1::2]), knn_probe(Z[::2], y[::2], Z[1::2], y[1::2], k=5, metric="euclidean")
(1.0, 1.0)
>>> linear_probe(Z[::2], y[::2], Z[1::2], y[1::2], kind="lstsq")
1.0
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch

from .._deprecate import renamed_kwargs
from .._validate import (
    as_labels,
    as_matrix,
    check_choice,
    check_k,
    check_nonnegative,
    check_positive,
    check_scale,
    rescale_extreme,
)
from ..neighbors import knn

__all__ = ["linear_probe", "knn_probe"]

VOTE_WEIGHTS = ("uniform", "exp")
PROBE_KINDS = ("logistic", "lstsq")
DEFAULT_RIDGE = {"logistic": 1.0, "lstsq": 1e-6}


def check_probe_split(Z_train, y_train, Z_test, y_test):
    """Validate a probe's train/test latents and labels; return them as tensors."""
    Ztr = as_matrix(Z_train, "Z_train").detach()
    ytr = as_labels(y_train, "y_train", n_samples=Ztr.shape[0])
    Zte = as_matrix(Z_test, "Z_test").detach()
    if Zte.shape[1] != Ztr.shape[1]:
        raise ValueError(f"Z_test: expected {Ztr.shape[1]} features like Z_train, got {Zte.shape[1]}")
    yte = as_labels(y_test, "y_test", n_samples=Zte.shape[0])
    return Ztr, ytr, Zte, yte


def _inverse(C):
    return 1.0 / check_positive(C, "C")


@renamed_kwargs(convert={"C": _inverse}, C="ridge")
def linear_probe(Z_train, y_train, Z_test, y_test, *, kind: str = "logistic", ridge: float | None = None,
                 max_iter: int = 1000) -> float:
    """Test accuracy of a linear classifier fit on ``(Z_train, y_train)``.

    ``kind="logistic"``: features standardised with the training mean and std (constant
    features left as they are), then scikit-learn's L2 ``LogisticRegression`` (lbfgs,
    deterministic, ``max_iter``) with ``C = 1 / ridge``: ``ridge`` is *absolute*, the
    weight of ``||w||² / 2`` against the *summed* log-loss (default 1). Convergence
    warnings are silenced: raise ``max_iter`` if in doubt.

    ``kind="lstsq"``: one-hot least squares with an intercept, ``V`` minimising
    ``||[Z, 1] V - Y||² + ridge n ||V_weights||²`` (``ridge`` *per sample*, relative to
    ``n``; the intercept is not penalised; default 1e-6), argmax prediction. Its training
    loss is :func:`latentalign.ssl.lstsq_probe_loss`.
    """
    check_choice(kind, "kind", PROBE_KINDS)
    ridge = DEFAULT_RIDGE[kind] if ridge is None else ridge
    Ztr, ytr, Zte, yte = check_probe_split(Z_train, y_train, Z_test, y_test)
    if kind == "lstsq":
        ridge = check_nonnegative(ridge, "ridge")  # absolute: the fit is not scale invariant
        Ztr, Zte = check_scale(Ztr, "Z_train"), check_scale(Zte, "Z_test")
        ytr_np, yte_np = ytr.cpu().numpy(), yte.cpu().numpy()
        Y = np.eye(int(max(ytr_np.max(), yte_np.max())) + 1)[ytr_np]
        V = lstsq_fit(Ztr.cpu().numpy(), Y, ridge)
        pred = with_intercept(Zte.cpu().numpy(), V).argmax(axis=1)
        return float(np.mean(pred == yte_np))
    Ztr, Zte = rescale_extreme(torch.cat([Ztr, Zte])).split([Ztr.shape[0], Zte.shape[0]])  # standardised: invariant
    ridge = check_positive(ridge, "ridge")
    return _logistic_accuracy(Ztr, ytr, Zte, yte, ridge, max_iter)


def _logistic_accuracy(Ztr, ytr, Zte, yte, ridge: float, max_iter) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter: expected a positive integer, got {max_iter!r}")
    ytr_np = ytr.cpu().numpy()
    if np.unique(ytr_np).size < 2:
        raise ValueError("y_train: needs at least 2 classes to fit a linear probe")
    scaler = StandardScaler().fit(Ztr.cpu().numpy())
    clf = LogisticRegression(C=1.0 / ridge, max_iter=int(max_iter))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(scaler.transform(Ztr.cpu().numpy()), ytr_np)
    pred = clf.predict(scaler.transform(Zte.cpu().numpy()))
    return float(np.mean(pred == yte.cpu().numpy()))


def lstsq_fit(Z: np.ndarray, Y: np.ndarray, ridge: float) -> np.ndarray:
    """``V`` (d + 1, c) minimising ``||[Z, 1] V - Y||² + ridge n ||V_weights||²``."""
    A = np.hstack([Z, np.ones((Z.shape[0], 1))])
    penalty = np.full(A.shape[1], ridge * Z.shape[0])
    penalty[-1] = 0.0
    return np.linalg.solve(A.T @ A + np.diag(penalty), A.T @ Y)


def with_intercept(Z: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``[Z, 1] V``."""
    return Z @ V[:-1] + V[-1]


@renamed_kwargs(backend="knn_backend")
def knn_probe(
    Z_train,
    y_train,
    Z_test,
    y_test,
    *,
    k: int = 10,
    metric: str = "cosine",
    knn_backend: str = "torch",
    weights: str = "uniform",
    temperature: float = 0.1,
) -> float:
    """Test accuracy of a vote among the ``k`` nearest training points.

    Neighbours come from :func:`latentalign.neighbors.knn` (exact; ``metric``
    ``"cosine"`` or ``"euclidean"``; its ``backend`` is ``knn_backend``) with the test points as queries. Each votes
    for its label with weight 1 (``weights="uniform"``: a majority vote) or
    ``exp(sim / temperature)`` (``"exp"``; ``sim`` = cosine similarity, or minus the
    Euclidean distance). A tied vote goes to the smallest label. ``1 <= k <= n_train``.
    """
    check_choice(weights, "weights", VOTE_WEIGHTS)
    t = check_positive(temperature, "temperature")
    Ztr, ytr, Zte, yte = check_probe_split(Z_train, y_train, Z_test, y_test)
    n_train = Ztr.shape[0]
    if isinstance(k, numbers.Integral) and not isinstance(k, bool) and k > n_train:
        raise ValueError(f"k: must be <= the number of training samples ({n_train}), got {int(k)}")
    k = check_k(k, n_train + 1, "k")
    nb = knn(Ztr, k, queries=Zte, metric=metric, backend=knn_backend)
    votes = ytr.to(nb.indices.device)[nb.indices]  # (n_test, k)
    if weights == "exp":
        sim = 1.0 - nb.distances if metric == "cosine" else -nb.distances
        w = torch.exp((sim - sim.amax(dim=1, keepdim=True)) / t).to(torch.float64)
    else:
        w = torch.ones(votes.shape, dtype=torch.float64, device=votes.device)
    scores = torch.zeros(votes.shape[0], int(ytr.max()) + 1, dtype=torch.float64, device=votes.device)
    scores.scatter_add_(1, votes, w)
    pred = scores.argmax(dim=1)  # first maximum: ties go to the smallest label
    return float((pred.cpu() == yte).double().mean())
