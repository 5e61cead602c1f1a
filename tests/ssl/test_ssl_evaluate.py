"""Probes and kNN evaluation (spec ssl.md §6, check 14)."""

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from latentalign.ssl.evaluate import KNN_SETTINGS, lstsq_probe_loss, probe_loss_gap
from latentalign.train import knn_probe, linear_probe


def knn_accuracy(Ztr, ytr, Zte, yte, **settings):
    """The SSL evaluation's kNN probe."""
    return knn_probe(Ztr, ytr, Zte, yte, **{**KNN_SETTINGS, **settings})


@pytest.fixture(scope="module")
def split():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    Z = rng.normal(size=(300, 5)) + np.eye(3, 5)[y] * 1.5
    return Z[:200], y[:200], Z[200:], y[200:]


@pytest.mark.parametrize("k", [1, 5, 20])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_uniform_knn_equals_scikit_learn(split, k, metric):
    Ztr, ytr, Zte, yte = split
    ref = KNeighborsClassifier(n_neighbors=k, metric=metric, algorithm="brute").fit(Ztr, ytr).score(Zte, yte)
    assert knn_accuracy(Ztr, ytr, Zte, yte, k=k, metric=metric, weights="uniform") == pytest.approx(ref)


def test_exp_weighted_knn_by_hand():
    Ztr = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    ytr = np.array([0, 0, 1])
    q = np.array([[0.6, 0.8]])
    # cosine sims 0.6, ~0.67, 0.8: uniform 3-NN votes 2:1 for class 0, exp(sim/0.05) favours class 1
    assert knn_accuracy(Ztr, ytr, q, [0], k=3, weights="uniform") == 1.0
    assert knn_accuracy(Ztr, ytr, q, [1], k=3, temperature=0.05) == 1.0
    assert knn_accuracy(Ztr, ytr, q, [0], k=3, temperature=10.0) == 1.0
    with pytest.raises(ValueError, match="^k: must be <= the number of training samples"):
        knn_accuracy(Ztr, ytr, q, [0], k=4)


def test_lstsq_probe_equals_numpy_lstsq(split):
    Ztr, ytr, Zte, yte = split
    A = np.c_[Ztr, np.ones(len(Ztr))]
    Y = np.eye(3)[ytr]
    V = np.linalg.lstsq(A, Y, rcond=None)[0]
    pred = (np.c_[Zte, np.ones(len(Zte))] @ V).argmax(axis=1)
    assert linear_probe(Ztr, ytr, Zte, yte, kind="lstsq", ridge=0.0) == np.mean(pred == yte)
    train_loss = lstsq_probe_loss(Ztr, ytr, ridge=0.0)
    assert train_loss == pytest.approx(np.sum((Y - A @ V) ** 2) / len(Ztr), rel=1e-10)
    assert lstsq_probe_loss(Ztr, ytr) == pytest.approx(train_loss, rel=1e-4)
    assert 0.5 < linear_probe(Ztr, ytr, Zte, yte, kind="logistic") <= 1.0


def test_probe_loss_gap(split):
    Ztr, ytr, _, _ = split
    noisy = np.c_[Ztr[:, :1], np.random.default_rng(1).normal(size=(200, 4))]
    assert probe_loss_gap(Ztr, Ztr, ytr) == 0.0
    assert probe_loss_gap(noisy, Ztr, ytr) == pytest.approx(lstsq_probe_loss(noisy, ytr) - lstsq_probe_loss(Ztr, ytr))
    assert probe_loss_gap(noisy, Ztr, ytr) > 0.05
    with pytest.raises(ValueError, match="^kind"):
        linear_probe(Ztr, ytr, Ztr, ytr, kind="svm")
