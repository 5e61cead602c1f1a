"""The KSM objective's forms against closed forms and each other (``docs/ksm.md#ksm-objective``)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import ortho_group

from latentalign.ksm import decode, ksm_objective, latent_kernel
from latentalign.ksm.objective import (
    dictionary_objective,
    ksm_gradient,
    ksm_sigma_gradient,
    minmax_value,
    optimal_dictionary,
    prediction_error,
)
from latentalign.ksm.online import RandomFeatures


# ------------------------------------------------------------------ check 1: linear, by hand
def test_linear_hand_computed_values():
    X, Z = np.eye(2), np.array([[1.0], [0.0]])  # ridge 0.5, N = 2: gamma_N = 1
    assert ksm_objective(X, Z, ridge=0.5, kernel="linear") == pytest.approx(0.375, abs=1e-15)
    assert ksm_objective(X, Z, ridge=0.5, kernel="linear", path="gram") == pytest.approx(0.375, abs=1e-15)
    D = optimal_dictionary(X, Z, ridge=0.5)
    np.testing.assert_allclose(D, [[0.5, 0.0]], atol=1e-15)
    np.testing.assert_allclose(X - Z @ D, [[0.5, 0.0], [0.0, 1.0]], atol=1e-15)
    # primal at D*: 1/2 (0.25 + 1) + 1/2 * 0.25 = 0.75 = F; per sample 0.375
    assert dictionary_objective(X, Z, D, ridge=0.5) == pytest.approx(0.375, abs=1e-15)


# ------------------------------------------------------------------ check 2: Gaussian pair, closed form
def _pair_F(d, gamma=1.0):
    return gamma / (1.0 + gamma - math.exp(-d * d / 2.0))


@pytest.mark.parametrize("d", [0.0, 0.3, 1.0, 2.5])
def test_gaussian_pair_closed_form(d):
    X, Z = np.array([[1.0], [-1.0]]), np.array([[0.0], [d]])
    F = 2 * ksm_objective(X, Z, ridge=0.5, kernel="rbf", sigma=1.0)
    assert F == pytest.approx(_pair_F(d), abs=1e-12)


def test_gaussian_pair_value_gradient_and_limits():
    X = np.array([[1.0], [-1.0]])
    F1 = 2 * ksm_objective(X, np.array([[0.0], [1.0]]), ridge=0.5)
    assert F1 == pytest.approx(0.7176332992, abs=1e-10)
    g = ksm_gradient(X, np.array([[0.0], [1.0]]), ridge=0.5)  # per sample: half the total
    # total gradient dF/dz_2 = -gamma d k / (1 + gamma - k)^2 at d = 1, k = e^{-1/2}
    k = math.exp(-0.5)
    total = -k / (2.0 - k) ** 2
    np.testing.assert_allclose(g, [[-total / 2], [total / 2]], atol=1e-12)
    np.testing.assert_allclose(2 * g, [[0.3123618], [-0.3123618]], atol=1e-7)
    assert 2 * ksm_objective(X, np.array([[0.0], [1e-6]]), ridge=0.5) == pytest.approx(1.0, abs=1e-10)
    assert 2 * ksm_objective(X, np.array([[0.0], [40.0]]), ridge=0.5) == pytest.approx(0.5, abs=1e-12)


# ------------------------------------------------------------------ check 3: the forms agree
@pytest.fixture(scope="module")
def rff_setup():
    rng = np.random.default_rng(3)
    X, Z = rng.standard_normal((30, 5)), rng.standard_normal((30, 3))
    features = RandomFeatures.draw(3, 200, 1.0, rng)
    kern = lambda A, B: features(A) @ features(B).T  # noqa: E731  K_Z = Phi Phi^T exactly
    return X, Z, features, kern, rng


def test_dictionary_elimination_identity(rff_setup):
    X, Z, features, kern, _ = rff_setup
    ridge, Phi = 0.01, features(Z)
    D = optimal_dictionary(X, Phi, ridge=ridge)
    f = ksm_objective(X, Z, ridge=ridge, kernel=kern)
    assert dictionary_objective(X, Phi, D, ridge=ridge) == pytest.approx(f, abs=1e-10)
    A = prediction_error(X, Z, ridge=ridge, kernel=kern)
    gamma = ridge * 30
    np.testing.assert_allclose(X - Phi @ D, gamma * A, atol=1e-10)  # residual = gamma_N M^-1 X
    np.testing.assert_allclose(D, Phi.T @ A, atol=1e-10)  # D* = Phi^T A*: Hebbian product
    Zq = np.random.default_rng(4).standard_normal((7, 3))
    np.testing.assert_allclose(features(Zq) @ D, decode(Zq, Z, A, kernel=kern), atol=1e-10)
    # D* is the minimiser: any perturbation raises the primal
    for scale in (1e-3, 1e-1):
        bumped = D + scale * np.random.default_rng(5).standard_normal(D.shape)
        assert dictionary_objective(X, Phi, bumped, ridge=ridge) > f


def test_minmax_form_is_maximised_at_prediction_error(rff_setup):
    X, Z, _, kern, rng = rff_setup
    for kernel in (kern, "rbf", "linear"):
        A = prediction_error(X, Z, ridge=0.01, kernel=kernel)
        f = ksm_objective(X, Z, ridge=0.01, kernel=kernel, path="gram")
        assert minmax_value(X, Z, A, ridge=0.01, kernel=kernel) == pytest.approx(f, abs=1e-10)
        for _ in range(5):
            B = A + 1e-2 * rng.standard_normal(A.shape)
            assert minmax_value(X, Z, B, ridge=0.01, kernel=kernel) < f


def test_linear_gram_and_feature_paths_agree(rff_setup):
    X, Z, *_ = rff_setup
    for ridge in (1e-3, 0.01, 1.0):
        fg = ksm_objective(X, Z, ridge=ridge, kernel="linear", path="gram")
        ff = ksm_objective(X, Z, ridge=ridge, kernel="linear", path="feature")
        assert ff == pytest.approx(fg, abs=1e-10)
        gg = ksm_gradient(X, Z, ridge=ridge, kernel="linear", path="gram")
        gf = ksm_gradient(X, Z, ridge=ridge, kernel="linear", path="feature")
        np.testing.assert_allclose(gf, gg, atol=1e-10)


def test_similarity_reading_for_large_ridge(rff_setup):
    """F = 1/2 Tr K_X - <K_X, K_Z>/(2 gamma_N) + O(gamma_N^-2): the error falls 4x when gamma doubles."""
    X, Z, *_ = rff_setup
    KX, KZ = X @ X.T, latent_kernel(Z)
    errors = []
    for ridge in (10.0, 20.0, 40.0):
        gamma = ridge * 30
        approx = 0.5 * np.trace(KX) - (KX * KZ).sum() / (2 * gamma)
        errors.append(abs(30 * ksm_objective(X, Z, ridge=ridge) - approx))
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.05)
    assert errors[1] / errors[2] == pytest.approx(4.0, rel=0.05)


# ------------------------------------------------------------------ check 4: central differences
@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_gradient_matches_central_differences(kernel):
    rng = np.random.default_rng(0)
    X, Z = rng.standard_normal((12, 4)), 0.7 * rng.standard_normal((12, 3))
    g = ksm_gradient(X, Z, ridge=0.02, kernel=kernel, sigma=0.8)
    h, num = 1e-6, np.zeros_like(Z)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Zp, Zm = Z.copy(), Z.copy()
            Zp[i, j] += h
            Zm[i, j] -= h
            num[i, j] = (ksm_objective(X, Zp, ridge=0.02, kernel=kernel, sigma=0.8)
                         - ksm_objective(X, Zm, ridge=0.02, kernel=kernel, sigma=0.8)) / (2 * h)
    assert np.linalg.norm(g - num) <= 1e-6 * np.linalg.norm(num)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bandwidth_gradient_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    X, Z, sigma = rng.standard_normal((12, 4)), rng.standard_normal((12, 2)), rng.uniform(0.3, 3.0)
    g = ksm_sigma_gradient(X, Z, ridge=0.02, sigma=sigma)
    h = 1e-5  # in log sigma
    f = lambda s: ksm_objective(X, Z, ridge=0.02, sigma=s)  # noqa: E731
    num = (f(sigma * math.exp(h)) - f(sigma * math.exp(-h))) / (2 * h)
    assert g == pytest.approx(num, rel=1e-6, abs=1e-12) and abs(num) > 1e-6


# ------------------------------------------------------------------ properties
matrices = st.integers(0, 10_000)


def _data(seed, n=9, d=4, m=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, m)), rng


@given(matrices)
def test_invariances(seed):
    X, Z, rng = _data(seed)
    Q, R = ortho_group.rvs(3, random_state=seed), ortho_group.rvs(4, random_state=seed + 1)
    for kernel in ("rbf", "linear"):
        f = ksm_objective(X, Z, ridge=0.05, kernel=kernel)
        assert ksm_objective(X, Z @ Q, ridge=0.05, kernel=kernel) == pytest.approx(f, rel=1e-10)
        assert ksm_objective(X @ R, Z, ridge=0.05, kernel=kernel) == pytest.approx(f, rel=1e-10)
    shift = rng.standard_normal(3) * 5
    assert ksm_objective(X, Z + shift, ridge=0.05) == pytest.approx(ksm_objective(X, Z, ridge=0.05), rel=1e-10)


@given(matrices)
def test_bounds_and_monotone_in_ridge(seed):
    X, Z, _ = _data(seed)
    top = np.trace(X @ X.T) / (2 * X.shape[0])
    for kernel in ("rbf", "linear"):
        values = [ksm_objective(X, Z, ridge=r, kernel=kernel) for r in (1e-4, 1e-2, 1.0, 100.0)]
        assert all(0 <= v <= top + 1e-12 for v in values)
        assert all(a <= b + 1e-15 for a, b in zip(values, values[1:]))
    # all Gaussian latents coincide: f reaches its top value when X is centred
    Xc = X - X.mean(0)
    f_top = ksm_objective(Xc, np.zeros_like(Z), ridge=1e-3)
    assert f_top == pytest.approx(np.trace(Xc @ Xc.T) / (2 * X.shape[0]), rel=1e-12)


# ------------------------------------------------------------------ types, jitter and bad input
def test_numpy_and_torch_inputs_agree_and_keep_their_type():
    X, Z, _ = _data(1)
    f_np = ksm_objective(X, Z)
    f_t = ksm_objective(torch.tensor(X), torch.tensor(Z))
    assert isinstance(f_np, float) and isinstance(f_t, torch.Tensor) and f_t.dtype == torch.float64
    assert float(f_t) == pytest.approx(f_np, abs=1e-12)
    g32 = ksm_gradient(torch.tensor(X, dtype=torch.float32), torch.tensor(Z, dtype=torch.float32))
    assert g32.dtype == torch.float32
    np.testing.assert_allclose(g32.numpy(), ksm_gradient(X, Z), atol=1e-6)
    assert ksm_gradient(X.astype(np.float32), Z).dtype == np.float32


def test_cholesky_jitter_rescues_duplicate_latents_and_raises_when_hopeless():
    X, Z, _ = _data(2)
    Z[:] = Z[0]  # K_Z = 11^T is singular; ridge 1e-300 leaves M numerically singular
    assert np.isfinite(ksm_objective(X, Z, ridge=1e-300))
    with pytest.raises(ValueError, match="^ridge: .*positive definite"):
        ksm_objective(X, Z, ridge=1e-3, kernel=lambda A, B: -5.0 * torch.eye(A.shape[0], dtype=A.dtype))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda X, Z: ksm_objective(X, Z[:-1]), "^Z: expected the same number of samples"),
        (lambda X, Z: ksm_objective(np.where(X > 1, np.nan, X), Z), "^X: .*NaN"),
        (lambda X, Z: ksm_objective(X, Z, ridge=0.0), "^ridge: must be a positive"),
        (lambda X, Z: ksm_objective(X, Z, sigma=-1.0), "^sigma: must be a positive"),
        (lambda X, Z: ksm_objective(X, Z, kernel="cosine"), "^kernel: expected one of"),
        (lambda X, Z: ksm_objective(X, Z, path="feature"), "^path: 'feature' needs kernel='linear'"),
        (lambda X, Z: ksm_objective(X[0], Z), "^X: expected a 2-D array"),
        (lambda X, Z: minmax_value(X, Z, X[:, :2]), "^A: expected shape"),
        (lambda X, Z: dictionary_objective(X, Z, np.ones((2, 2))), "^D: expected shape"),
        (lambda X, Z: decode(Z[:, :2], Z, X), "^Z: expected 2 columns"),
        (lambda X, Z: ksm_gradient(X, Z, kernel=lambda A, B: A @ B.T), "^kernel: ksm_gradient needs"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    X, Z, _ = _data(0)
    with pytest.raises(ValueError, match=match):
        call(X, Z)
