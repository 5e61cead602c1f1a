import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latentalign.train import knn_probe, linear_probe

torch.set_num_threads(1)


def _blobs(n=200, d=5, c=4, sep=8.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    centres = rng.normal(size=(c, d)) * sep
    return centres[y] + rng.normal(size=(n, d)), y


def test_linear_probe_separable_and_random():
    Z, y = _blobs()
    assert linear_probe(Z[:100], y[:100], Z[100:], y[100:]) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    Zr, yr = rng.normal(size=(400, 5)), rng.integers(0, 4, size=400)
    acc = linear_probe(Zr[:200], yr[:200], Zr[200:], yr[200:])
    assert 0.1 < acc < 0.4  # chance is 0.25
    assert isinstance(acc, float)


def test_linear_probe_accepts_torch_and_constant_features():
    Z, y = _blobs(c=2)
    Z = np.hstack([Z, np.ones((len(Z), 1))])
    acc = linear_probe(torch.tensor(Z, dtype=torch.float32), torch.tensor(y), Z, y, ridge=2.0, max_iter=200)
    assert acc == pytest.approx(1.0)


@pytest.mark.parametrize("ridge", [0.01, 1.0, 100.0])
def test_logistic_ridge_is_one_over_sklearns_C(ridge):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(2)
    Z, y = rng.normal(size=(300, 6)), rng.integers(0, 3, size=300)
    Z[:, 0] += y  # weakly informative: the ridge changes the predictions
    scaler = StandardScaler().fit(Z[:200])
    clf = LogisticRegression(C=1.0 / ridge, max_iter=1000).fit(scaler.transform(Z[:200]), y[:200])
    expected = float(np.mean(clf.predict(scaler.transform(Z[200:])) == y[200:]))
    assert linear_probe(Z[:200], y[:200], Z[200:], y[200:], ridge=ridge) == expected


def test_lstsq_probe_is_the_argmax_of_one_hot_ridge_regression():
    rng = np.random.default_rng(3)
    Z, y = rng.normal(size=(120, 4)), rng.integers(0, 3, size=120)
    Z[:, 1] += 2 * y
    ridge = 0.1
    A = np.c_[Z[:80], np.ones(80)]
    penalty = np.diag([ridge * 80] * 4 + [0.0])  # per-sample ridge on the weights, none on the intercept
    V = np.linalg.solve(A.T @ A + penalty, A.T @ np.eye(3)[y[:80]])
    expected = np.mean((np.c_[Z[80:], np.ones(40)] @ V).argmax(1) == y[80:])
    assert linear_probe(Z[:80], y[:80], Z[80:], y[80:], kind="lstsq", ridge=ridge) == expected
    assert linear_probe(Z[:80], y[:80], Z[80:], y[80:], kind="lstsq") != pytest.approx(0.0)


def test_deprecated_probe_keywords_warn_and_agree():
    Z, y = _blobs(n=120, c=3, sep=1.5)
    with pytest.warns(DeprecationWarning, match="'C' is deprecated, use 'ridge'.*0.3"):
        old = linear_probe(Z[:80], y[:80], Z[80:], y[80:], C=0.25)
    assert old == linear_probe(Z[:80], y[:80], Z[80:], y[80:], ridge=4.0)
    with pytest.raises(TypeError, match="^ridge: got both 'C'"):
        linear_probe(Z[:80], y[:80], Z[80:], y[80:], C=1.0, ridge=1.0)
    with pytest.warns(DeprecationWarning, match="'backend' is deprecated, use 'knn_backend'"):
        old = knn_probe(Z[:80], y[:80], Z[80:], y[80:], k=5, backend="faiss")
    assert old == knn_probe(Z[:80], y[:80], Z[80:], y[80:], k=5, knn_backend="faiss")


def _knn_brute(Ztr, ytr, Zte, yte, k, metric):
    if metric == "cosine":
        a = Zte / np.linalg.norm(Zte, axis=1, keepdims=True)
        b = Ztr / np.linalg.norm(Ztr, axis=1, keepdims=True)
        D = 1.0 - a @ b.T
    else:
        D = ((Zte[:, None, :] - Ztr[None, :, :]) ** 2).sum(-1)
    nn_idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    pred = []
    for row in ytr[nn_idx]:
        counts = np.bincount(row, minlength=ytr.max() + 1)
        pred.append(int(np.flatnonzero(counts == counts.max())[0]))  # ties: smallest label
    return float(np.mean(np.array(pred) == yte))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("k", [1, 4, 10])
def test_knn_probe_matches_brute_force(metric, k):
    rng = np.random.default_rng(k)
    Ztr, ytr = rng.normal(size=(60, 4)), rng.integers(0, 3, size=60)
    Zte, yte = rng.normal(size=(40, 4)), rng.integers(0, 3, size=40)
    assert knn_probe(Ztr, ytr, Zte, yte, k=k, metric=metric) == _knn_brute(Ztr, ytr, Zte, yte, k, metric)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 12), c=st.integers(2, 5))
def test_knn_probe_property(seed, k, c):
    rng = np.random.default_rng(seed)
    Ztr, ytr = rng.normal(size=(30, 3)), rng.integers(0, c, size=30)
    Zte, yte = rng.normal(size=(15, 3)), rng.integers(0, c, size=15)
    assert knn_probe(Ztr, ytr, Zte, yte, k=k) == _knn_brute(Ztr, ytr, Zte, yte, k, "cosine")


def test_knn_probe_tie_goes_to_smallest_label():
    Ztr = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.0, 1.1]])
    ytr = np.array([2, 2, 1, 1])
    # k=4: every label gets 2 votes -> label 1
    assert knn_probe(Ztr, ytr, np.array([[1.0, 0.05]]), np.array([1]), k=4, metric="euclidean") == 1.0
    assert knn_probe(Ztr, ytr, np.array([[1.0, 0.05]]), np.array([2]), k=2, metric="euclidean") == 1.0


def test_knn_probe_separable():
    Z, y = _blobs()
    assert knn_probe(Z[:100], y[:100], Z[100:], y[100:], k=5, metric="euclidean") == pytest.approx(1.0)


@pytest.mark.parametrize("probe", [linear_probe, knn_probe])
def test_bad_inputs_name_the_argument(probe):
    Z, y = _blobs(n=40)
    with pytest.raises(ValueError, match="^y_train"):
        probe(Z[:20], y[:19], Z[20:], y[20:])
    with pytest.raises(ValueError, match="^y_test"):
        probe(Z[:20], y[:20], Z[20:], y[21:])
    with pytest.raises(ValueError, match="^Z_test"):
        probe(Z[:20], y[:20], Z[20:, :3], y[20:])
    with pytest.raises(ValueError, match="^Z_train"):
        probe(Z[:20, 0], y[:20], Z[20:], y[20:])
    bad = Z[:20].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="^Z_train"):
        probe(bad, y[:20], Z[20:], y[20:])
    with pytest.raises(ValueError, match="^y_train"):
        probe(Z[:20], np.full(20, 0.5), Z[20:], y[20:])


def test_probe_specific_errors():
    Z, y = _blobs(n=40)
    with pytest.raises(ValueError, match="^k"):
        knn_probe(Z[:20], y[:20], Z[20:], y[20:], k=21)
    with pytest.raises(ValueError, match="^k"):
        knn_probe(Z[:20], y[:20], Z[20:], y[20:], k=0)
    with pytest.raises(TypeError, match="^k"):
        knn_probe(Z[:20], y[:20], Z[20:], y[20:], k=2.0)
    with pytest.raises(ValueError, match="^metric"):
        knn_probe(Z[:20], y[:20], Z[20:], y[20:], metric="manhattan")
    assert knn_probe(Z[:20], y[:20], Z[20:], y[20:], k=20) >= 0.0  # k = n_train is allowed
    with pytest.raises(ValueError, match="^ridge"):
        linear_probe(Z[:20], y[:20], Z[20:], y[20:], ridge=0)
    with pytest.raises(ValueError, match="^kind"):
        linear_probe(Z[:20], y[:20], Z[20:], y[20:], kind="svm")
    with pytest.raises(ValueError, match="^max_iter"):
        linear_probe(Z[:20], y[:20], Z[20:], y[20:], max_iter=0)
    with pytest.raises(ValueError, match="^y_train"):
        linear_probe(Z[:20], np.zeros(20, dtype=int), Z[20:], y[20:])
