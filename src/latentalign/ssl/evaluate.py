r"""Evaluation protocol of the SSL capability: the shared probes, the probe loss and its gap.

Protocol (recorded by every study): a probe is fit on *training* embeddings and
scored on *held-out test* embeddings; in the noise-model experiments the inputs
are corrupted on both sides (same ``Γ``, independent draws). The paper's exact
probe split is not reproduced.

* :func:`latentalign.train.linear_probe` (``kind="lstsq"``: one-hot least squares with
  intercept, ``ridge`` on the weights, not the intercept; ``kind="logistic"``:
  standardised features and scikit-learn's logistic regression, ``ridge = 1``);
* :func:`lstsq_probe_loss`: the lstsq probe's training loss
  ``min_V (1/n)Σ_i‖y_i − V z_i‖²`` (the paper's metric), and :func:`probe_loss_gap`;
* :func:`latentalign.train.knn_probe` with the SSL evaluation's settings
  (:data:`KNN_SETTINGS`: ``k = 20``, votes weighted by ``exp(sim/t)``, ``t = 0.1``, cosine).

``linear_probe`` and ``knn_accuracy`` of this module are deprecated aliases (removed in 0.3).

The example is :func:`lstsq_probe_loss`'s.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .._deprecate import deprecated
from .._validate import check_nonnegative
from ..train.probes import DEFAULT_RIDGE, check_probe_split, knn_probe, lstsq_fit, with_intercept
from ..train.probes import linear_probe as _linear_probe

__all__ = ["KNN_SETTINGS", "ProbeResult", "lstsq_probe_loss", "probe_loss_gap", "embed"]

KNN_SETTINGS = {"k": 20, "temperature": 0.1, "metric": "cosine", "weights": "exp"}
"""The kNN probe of the SSL evaluation: ``knn_probe(..., **KNN_SETTINGS)``."""


class ProbeResult(NamedTuple):
    """Test ``accuracy`` and the training probe loss (lstsq only; ``None`` for logistic)."""

    accuracy: float
    train_loss: float | None


def lstsq_probe_loss(Z, y, *, ridge: float = DEFAULT_RIDGE["lstsq"]) -> float:
    """Training loss ``min_V (1/n)Σ_i‖onehot(y_i) − V[z_i, 1]‖²`` of the lstsq probe (``ridge`` per sample).

    Parameters
    ----------
    Z : array-like of shape (n, e)
        Embeddings.
    y : array-like of shape (n,)
        Integer labels.
    ridge : float, default 1e-6
        The ridge, per sample.

    Returns
    -------
    float
        The probe's training loss.

    Examples
    --------
    >>> import numpy as np
    >>> from latentalign.train import knn_probe, linear_probe
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 100); Z = rng.normal(size=(200, 2)) + 6 * y[:, None]
    >>> linear_probe(Z[::2], y[::2], Z[1::2], y[1::2], kind="lstsq"), round(lstsq_probe_loss(Z, y), 3)
    (1.0, 0.028)
    >>> knn_probe(Z[::2], y[::2], Z[1::2], y[1::2], **{**KNN_SETTINGS, "k": 5, "metric": "euclidean"})
    1.0
    """
    Zt, yt, _, _ = check_probe_split(Z, y, Z, y)
    z, labels = Zt.cpu().numpy(), yt.cpu().numpy()
    Y = np.eye(int(labels.max()) + 1)[labels]
    resid = Y - with_intercept(z, lstsq_fit(z, Y, check_nonnegative(ridge, "ridge")))
    return float(np.sum(resid**2) / z.shape[0])


def probe_loss_gap(Z_corrupted, Z_clean, y, *, ridge: float = 1e-6) -> float:
    """The gap between the lstsq probe losses of two embeddings of the same samples.

    Parameters
    ----------
    Z_corrupted : array-like of shape (n, e)
        Embeddings by an encoder fit on corrupted data.
    Z_clean : array-like of shape (n, e2)
        Embeddings by an encoder fit on clean data (``Σ = Θ``).
    y : array-like of shape (n,)
        Their labels.
    ridge : float, default 1e-6
        The probes' ridge, per sample.

    Returns
    -------
    float
        ``|probe loss of Z_corrupted − probe loss of Z_clean|``.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.random.default_rng(0).normal(size=(40, 3)); y = np.arange(40) % 2
    >>> probe_loss_gap(Z, Z, y)
    0.0
    """
    return abs(lstsq_probe_loss(Z_corrupted, y, ridge=ridge) - lstsq_probe_loss(Z_clean, y, ridge=ridge))


def linear_probe(Z_train, y_train, Z_test, y_test, *, kind: str = "lstsq", ridge: float | None = None) -> ProbeResult:
    """Deprecated (removed in 0.3): :func:`latentalign.train.linear_probe` (which returns the
    accuracy; here ``kind`` defaults to ``"lstsq"``) and, for lstsq, :func:`lstsq_probe_loss`.
    """
    deprecated("latentalign.ssl", "'linear_probe'", "'latentalign.train.linear_probe' (and 'lstsq_probe_loss')")
    if kind != "lstsq":  # the old logistic probe ignored ridge (C = 1)
        return ProbeResult(_linear_probe(Z_train, y_train, Z_test, y_test, kind=kind), None)
    ridge = DEFAULT_RIDGE["lstsq"] if ridge is None else ridge
    accuracy = _linear_probe(Z_train, y_train, Z_test, y_test, kind="lstsq", ridge=ridge)
    return ProbeResult(accuracy, lstsq_probe_loss(Z_train, y_train, ridge=ridge))


def knn_accuracy(Z_train, y_train, Z_test, y_test, **settings) -> float:
    """Deprecated (removed in 0.3): ``latentalign.train.knn_probe(..., **KNN_SETTINGS)``."""
    deprecated("latentalign.ssl", "'knn_accuracy'", "'latentalign.train.knn_probe' (with ssl.KNN_SETTINGS)")
    return knn_probe(Z_train, y_train, Z_test, y_test, **{**KNN_SETTINGS, **settings})


def embed(encoder: torch.nn.Module, X, *, batch_size: int = 512) -> np.ndarray:
    """``encoder(X)`` in eval mode without gradients, as a float32 numpy array (rows in input order)."""
    from ..train import make_loader, predict_logits

    return predict_logits(encoder, make_loader(X, batch_size=batch_size)).numpy()
