"""The glossary's words in ksm: kernel ``"rbf"`` and the prior's ``latent_l2``; the old words warn and agree."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from latentalign.ksm import KernelSimilarityMatching, decode, ksm_objective, latent_kernel
from latentalign.ksm.io import load_model, save_model

pytestmark = [pytest.mark.filterwarnings("ignore:max_iter"),
              pytest.mark.filterwarnings("ignore:step_size")]

X = np.random.default_rng(0).normal(size=(30, 3))
Z = np.random.default_rng(1).normal(size=(30, 2))


def test_rbf_is_the_default_kernel_and_gaussian_an_alias():
    assert KernelSimilarityMatching().kernel == "rbf"
    with pytest.warns(DeprecationWarning, match="kernel='gaussian' is deprecated, use kernel='rbf'.*0.3"):
        old = latent_kernel(Z, kernel="gaussian", sigma=0.7)
    np.testing.assert_array_equal(old, latent_kernel(Z, kernel="rbf", sigma=0.7))
    with pytest.warns(DeprecationWarning, match="kernel='gaussian' is deprecated"):
        assert ksm_objective(X, Z, kernel="gaussian") == ksm_objective(X, Z, kernel="rbf")
    with pytest.warns(DeprecationWarning, match="kernel='gaussian' is deprecated"):
        np.testing.assert_array_equal(decode(Z[:4], Z, X, kernel="gaussian"), decode(Z[:4], Z, X))


def test_estimator_old_kernel_value_and_prior_keyword_warn_and_agree():
    new = KernelSimilarityMatching(kernel="rbf", latent_l2=0.5, max_iter=20, random_state=0).fit(X)
    with pytest.warns(DeprecationWarning, match="KernelSimilarityMatching: 'l2_penalty' is deprecated, use 'latent_l2"):
        old = KernelSimilarityMatching(kernel="gaussian", l2_penalty=0.5, max_iter=20, random_state=0)
    assert old.latent_l2 == 0.5 and "l2_penalty" not in old.get_params()
    with pytest.warns(DeprecationWarning, match="KernelSimilarityMatching: kernel='gaussian' is deprecated"):
        old.fit(X)
    np.testing.assert_array_equal(old.embedding_, new.embedding_)
    assert clone(new).get_params() == new.get_params()
    with pytest.raises(TypeError, match="^latent_l2: got both 'l2_penalty'"):
        KernelSimilarityMatching(l2_penalty=0.1, latent_l2=0.1)


def test_latent_l2_is_the_priors_weight():
    # a large weight on (beta/2)||z||^2 shrinks the latents
    small = KernelSimilarityMatching(max_iter=50, random_state=0, budget=None).fit(X)
    big = KernelSimilarityMatching(max_iter=50, random_state=0, budget=None, latent_l2=10.0).fit(X)
    assert np.linalg.norm(big.embedding_) < 0.5 * np.linalg.norm(small.embedding_)


def test_files_saved_with_the_old_words_load_silently(tmp_path):
    est = KernelSimilarityMatching(max_iter=20, random_state=0).fit(X)
    save_model(est, tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["params"]["kernel"] = "gaussian"
    payload["params"]["l2_penalty"] = payload["params"].pop("latent_l2")
    torch.save(payload, tmp_path / "old.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_model(tmp_path / "old.pt")
    assert again.get_params() == est.get_params()
    Z3 = est.embedding_[:3]
    np.testing.assert_array_equal(again.inverse_transform(Z3), est.inverse_transform(Z3))
