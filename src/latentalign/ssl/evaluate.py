r"""Evaluation protocol of the SSL capability: linear probes, kNN accuracy, probe-loss gap.

Protocol (recorded by every study): a probe is fit on *training* embeddings and
scored on *held-out test* embeddings; in the noise-model experiments the inputs
are corrupted on both sides (same ``Γ``, independent draws). The paper's exact
probe split is not reproduced.

* ``linear_probe(kind="lstsq")``: one-hot least squares with intercept
  (``ridge`` on the weights, not the intercept), argmax prediction; also returns
  the training probe loss ``min_V (1/n)Σ_i‖y_i − V z_i‖²`` (the paper's metric).
* ``linear_probe(kind="logistic")``: standardised features and scikit-learn's
  multinomial logistic regression, ``C = 1`` (:func:`latentalign.train.linear_probe`).
* :func:`knn_accuracy`: votes of the ``k`` nearest training embeddings weighted by
  ``exp(sim/t)`` (``sim`` = cosine similarity, or minus the Euclidean distance), or
  uniform; ties go to the smallest label; neighbours from :func:`latentalign.neighbors.knn`.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = np.repeat([0, 1], 100); Z = rng.normal(size=(200, 2)) + 6 * y[:, None]
>>> linear_probe(Z[::2], y[::2], Z[1::2], y[1::2]).accuracy
1.0
>>> knn_accuracy(Z[::2], y[::2], Z[1::2], y[1::2], k=5, metric="euclidean")
1.0
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .._validate import check_choice, check_nonnegative
from ..train.probes import check_probe_split, knn_probe
from ..train.probes import linear_probe as logistic_probe

__all__ = ["ProbeResult", "linear_probe", "lstsq_probe_loss", "knn_accuracy", "probe_loss_gap", "embed"]

PROBES = ("lstsq", "logistic")


class ProbeResult(NamedTuple):
    """Test ``accuracy`` and the training probe loss (lstsq only; ``None`` for logistic)."""

    accuracy: float
    train_loss: float | None


def _lstsq_fit(Z: np.ndarray, Y: np.ndarray, ridge: float) -> np.ndarray:
    """``V`` (d + 1, c) minimising ``‖[Z, 1] V − Y‖² + ridge·n·‖V_weights‖²``."""
    A = np.hstack([Z, np.ones((Z.shape[0], 1))])
    penalty = np.full(A.shape[1], ridge * Z.shape[0])
    penalty[-1] = 0.0
    return np.linalg.solve(A.T @ A + np.diag(penalty), A.T @ Y)


def _with_intercept(Z: np.ndarray, V: np.ndarray) -> np.ndarray:
    return Z @ V[:-1] + V[-1]


def linear_probe(Z_train, y_train, Z_test, y_test, *, kind: str = "lstsq", ridge: float = 1e-6) -> ProbeResult:
    """Accuracy on ``(Z_test, y_test)`` of a linear probe fit on ``(Z_train, y_train)``."""
    check_choice(kind, "kind", PROBES)
    Ztr, ytr, Zte, yte = check_probe_split(Z_train, y_train, Z_test, y_test)
    if kind == "logistic":
        return ProbeResult(logistic_probe(Ztr, ytr, Zte, yte), None)
    ridge = check_nonnegative(ridge, "ridge")
    ztr, zte = Ztr.cpu().numpy(), Zte.cpu().numpy()
    labels_tr, labels_te = ytr.cpu().numpy(), yte.cpu().numpy()
    Y = np.eye(int(max(labels_tr.max(), labels_te.max())) + 1)[labels_tr]
    V = _lstsq_fit(ztr, Y, ridge)
    resid = Y - _with_intercept(ztr, V)
    pred = _with_intercept(zte, V).argmax(axis=1)
    return ProbeResult(float(np.mean(pred == labels_te)), float(np.sum(resid**2) / ztr.shape[0]))


def lstsq_probe_loss(Z, y, *, ridge: float = 1e-6) -> float:
    """Training loss ``min_V (1/n)Σ_i‖onehot(y_i) − V[z_i, 1]‖²`` of the lstsq probe."""
    return linear_probe(Z, y, Z, y, ridge=ridge).train_loss


def probe_loss_gap(Z_corrupted, Z_clean, y, *, ridge: float = 1e-6) -> float:
    """``|probe loss of Z_corrupted − probe loss of Z_clean|``: embeddings by an encoder fit on
    corrupted data versus one fit on clean data (``Σ = Θ``), same labels ``y``."""
    return abs(lstsq_probe_loss(Z_corrupted, y, ridge=ridge) - lstsq_probe_loss(Z_clean, y, ridge=ridge))


def knn_accuracy(
    Z_train,
    y_train,
    Z_test,
    y_test,
    *,
    k: int = 20,
    temperature: float = 0.1,
    metric: str = "cosine",
    weights: str = "exp",
) -> float:
    """Weighted kNN accuracy: class score ``Σ_{j ∈ kNN, y_j = c} w_j``, ``w_j = exp(sim_j / t)``
    (``weights="exp"``) or 1 (``"uniform"``): :func:`latentalign.train.knn_probe` with the
    SSL evaluation's defaults (k = 20, exp weights, t = 0.1)."""
    return knn_probe(Z_train, y_train, Z_test, y_test, k=k, metric=metric, weights=weights, temperature=temperature)


def embed(encoder: torch.nn.Module, X, *, batch_size: int = 512) -> np.ndarray:
    """``encoder(X)`` in eval mode without gradients, as a float32 numpy array (rows in input order)."""
    from ..train import make_loader, predict_logits

    return predict_logits(encoder, make_loader(X, batch_size=batch_size)).numpy()
