"""complete(X, mask) fills missing entries; score_samples(X) ranks anomalies."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from latentalign.data.synthetic import ring
from latentalign.ksm import KernelSimilarityMatching


@pytest.fixture(scope="module")
def fitted():
    train, Q = ring(n=200, dim=10, seed=0, return_basis=True)
    theta = np.random.default_rng(1).uniform(0, 2 * np.pi, size=60)
    test_X = np.column_stack([np.cos(theta), np.sin(theta)]) @ Q.T  # noise-free points of the ring
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models["rbf"] = KernelSimilarityMatching(max_iter=600, random_state=0).fit(train.X)
        models["linear"] = KernelSimilarityMatching(kernel="linear", n_components=2, max_iter=600,
                                                    random_state=0).fit(train.X)
    return train.X.astype(np.float64), test_X, Q, models


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_completion_beats_mean_imputation_and_keeps_observed_entries(fitted, kernel):
    train, X, _, models = fitted
    rng = np.random.default_rng(0)
    mask = np.zeros(X.shape, dtype=bool)
    for row in mask:
        row[rng.choice(10, 5, replace=False)] = True  # half the coordinates hidden
    holes = np.where(mask, np.nan, X)
    filled = models[kernel].complete(holes, mask)
    np.testing.assert_array_equal(filled[~mask], X[~mask])
    err = np.sqrt(((filled - X)[mask] ** 2).mean())
    mean_err = np.sqrt(((train.mean(0) - X)[mask] ** 2).mean())
    assert err < 0.25 * mean_err
    # torch in, torch out, same values
    filled_t = models[kernel].complete(torch.tensor(holes), torch.tensor(mask))
    np.testing.assert_allclose(filled_t.numpy(), filled, atol=1e-10)


def test_complete_with_nothing_missing_is_the_identity_and_masking_all_but_one_is_allowed(fitted):
    _, X, _, models = fitted
    est = models["rbf"]
    np.testing.assert_array_equal(est.complete(X, np.zeros(X.shape, dtype=bool)), X)
    mask = np.ones(X.shape, dtype=bool)
    mask[:, 0] = False
    out = est.complete(X, mask)
    assert np.isfinite(out).all() and np.array_equal(out[:, 0], X[:, 0])


def test_score_samples_is_negative_reconstruction_error_and_ranks_outliers(fitted):
    _, X, Q, models = fitted
    est = models["rbf"]
    s = est.score_samples(X)
    np.testing.assert_allclose(s, -((X - est.reconstruct(X)) ** 2).mean(1), atol=1e-15)
    assert est.score(X) == pytest.approx(s.mean(), rel=1e-12)
    rng = np.random.default_rng(1)
    radii = rng.uniform(0.0, 0.6, size=60)  # inside the ring, in its plane: off the manifold
    angles = rng.uniform(0, 2 * np.pi, size=60)
    outliers = (radii[:, None] * np.column_stack([np.cos(angles), np.sin(angles)])) @ Q.T
    anomaly = -np.concatenate([s, est.score_samples(outliers)])
    assert roc_auc_score(np.r_[np.zeros(60), np.ones(60)], anomaly) > 0.95


def test_complete_bad_input(fitted):
    _, X, _, models = fitted
    est = models["rbf"]
    mask = np.zeros(X.shape, dtype=bool)
    with pytest.raises(TypeError, match="^mask: expected a boolean array"):
        est.complete(X, mask.astype(int))
    with pytest.raises(ValueError, match="^mask: expected the shape of X"):
        est.complete(X, mask[:, :3])
    with pytest.raises(ValueError, match="^X: .*NaN"):
        est.complete(np.where(mask, 0, np.nan), mask)  # NaN where observed
    full = mask.copy()
    full[4] = True
    with pytest.raises(ValueError, match="^mask: row 4 has no observed entry"):
        est.complete(X, full)
