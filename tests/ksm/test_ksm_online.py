"""The online Hebbian / predictive-coding network (``docs/ksm.md#eq-ksm-online``; online vs batch objective)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from latentalign.data.synthetic import ring
from latentalign.ksm import KernelSimilarityMatching, ksm_objective
from latentalign.ksm.online import RandomFeatures

TILING = dict(kernel="linear", nonneg=True, n_components=16, budget="ball", budget_radius=1.0)


def _batch_and_online(n, seed, params, **online):
    X = ring(n=n, dim=10, seed=seed).X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = KernelSimilarityMatching(random_state=seed, **params).fit(X)
    net = KernelSimilarityMatching(solver="online", random_state=seed, **params, **online).fit(X)
    Xn = (X - net.mean_) / net.scale_
    kernel = params.get("kernel", "rbf")
    return ksm_objective(Xn, net.embedding_, kernel=kernel) / ksm_objective(Xn, batch.embedding_, kernel=kernel), net


def test_online_tiling_reaches_the_batch_objective():
    """Linear tiling on a small ring: online f within 1.10x of ADMM's (the spec's tolerance)."""
    ratio, net = _batch_and_online(100, 0, TILING, online_lr=0.1)
    assert ratio <= 1.10
    assert net.embedding_.min() >= 0 and np.sqrt((net.embedding_**2).sum(1)).max() <= 1 + 1e-12
    assert net.n_iter_ == 20 and net.history_["objective"][-1] < net.history_["objective"][0]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_online_tiling_spec_setup(seed):
    assert _batch_and_online(300, seed, TILING)[0] <= 1.10


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_online_gaussian_spec_setup(seed):
    assert _batch_and_online(300, seed, {})[0] <= 1.5


def test_partial_fit_passes_equal_fit_epochs():
    X = ring(n=40, dim=6, seed=2).X
    params = dict(solver="online", kernel="rbf", online_steps=20, random_state=5)
    full = KernelSimilarityMatching(max_iter=2, **params).fit(X)
    part = KernelSimilarityMatching(**params).partial_fit(X).partial_fit(X)
    np.testing.assert_array_equal(part.dictionary_, full.dictionary_)
    np.testing.assert_array_equal(part.embedding_, full.embedding_)
    assert part.n_iter_ == 2 and len(part.history_["objective"]) == 2
    np.testing.assert_array_equal(part.mean_, KernelSimilarityMatching(**params).partial_fit(X).mean_)
    part.partial_fit(X[:3] + 100.0)  # later batches do not move the normalisation
    np.testing.assert_array_equal(part.mean_, full.mean_)
    with pytest.raises(ValueError, match="^X: X has 5 features"):
        part.partial_fit(X[:, :5])


def test_online_decoder_is_features_times_dictionary():
    X = ring(n=40, dim=6, seed=3).X
    net = KernelSimilarityMatching(solver="online", max_iter=2, online_steps=20, random_state=0).fit(X)
    Z = np.random.default_rng(0).standard_normal((5, 2))
    phi = RandomFeatures(net.random_weights_, net.random_offsets_)(Z)
    assert net.random_weights_.shape == (2, 256) and net.dictionary_.shape == (256, 6)
    np.testing.assert_allclose(net.inverse_transform(Z), phi @ net.dictionary_ + net.mean_, atol=1e-12)
    # encoding never does worse than the training latents it starts from
    before = ((net.inverse_transform(net.embedding_) - X) ** 2).sum(1)
    after = ((net.reconstruct(X) - X) ** 2).sum(1)
    assert np.all(after <= before + 1e-9)
    lin = KernelSimilarityMatching(solver="online", max_iter=1, online_steps=20, **TILING, random_state=0).fit(X)
    Zl = np.abs(Z[:, :1]) @ np.ones((1, 16))
    np.testing.assert_allclose(lin.inverse_transform(Zl), Zl @ lin.dictionary_ + lin.mean_, atol=1e-12)
    assert isinstance(lin.transform(torch.tensor(X)), torch.Tensor)


def test_random_features_approximate_the_gaussian_kernel():
    rng = np.random.default_rng(0)
    features = RandomFeatures.draw(2, 20_000, 0.7, rng)
    Z = rng.standard_normal((6, 2))
    K = np.exp(-((Z[:, None] - Z[None]) ** 2).sum(-1) / (2 * 0.7**2))
    assert np.abs(features(Z) @ features(Z).T - K).max() < 0.03
    # the Jacobian-vector product is the derivative of phi
    V, h = rng.standard_normal((6, 20_000)), 1e-6
    num = np.stack([((features(Z + h * e) - features(Z - h * e)) * V).sum(1) / (2 * h) for e in np.eye(2)], 1)
    np.testing.assert_allclose(features.vjp(Z, V), num, rtol=1e-6, atol=1e-8)
