"""Gram matrices, centring and HSIC against hand-computed values and textbook forms."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist
from scipy.stats import ortho_group

from latentalign.kernels import center_gram, gram, hsic, hsic_gram, hsic_linear, median_sq_distance

X_HAND = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
Y_HAND = X_HAND @ np.array([[1.0, 2.0], [0.0, 1.0]])


def explicit_hsic_b(K, L):
    """Textbook biased HSIC: trace(K H L H) / (n-1)^2 with an explicit H."""
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def ustat_hsic_u(K, L):
    """Unbiased HSIC as the U-statistic over distinct index tuples (Song et al. 2012, eq. 4)."""
    n = K.shape[0]
    t1 = sum(K[i, j] * L[i, j] for i, j in itertools.permutations(range(n), 2)) / math.perm(n, 2)
    t2 = sum(K[i, j] * L[q, r] for i, j, q, r in itertools.permutations(range(n), 4)) / math.perm(n, 4)
    t3 = sum(K[i, j] * L[i, q] for i, j, q in itertools.permutations(range(n), 3)) / math.perm(n, 3)
    return t1 + t2 - 2 * t3


def test_hand_computed_values():
    assert hsic(X_HAND, Y_HAND) == pytest.approx(5 / 3, abs=1e-12)
    assert hsic(X_HAND, Y_HAND, unbiased=True) == pytest.approx(0.5, abs=1e-12)
    assert hsic(X_HAND, X_HAND, unbiased=True) == pytest.approx(0.5, abs=1e-12)
    assert hsic(Y_HAND, Y_HAND, unbiased=True) == pytest.approx(19 / 6, abs=1e-12)
    cka_b = hsic(X_HAND, Y_HAND) / math.sqrt(hsic(X_HAND, X_HAND) * hsic(Y_HAND, Y_HAND))
    assert cka_b == pytest.approx(15 / math.sqrt(329), abs=1e-12)
    cka_u = 0.5 / math.sqrt(0.5 * 19 / 6)
    assert cka_u == pytest.approx(0.397360, abs=1e-6)
    K, L = gram(X_HAND).numpy(), gram(Y_HAND).numpy()
    ka = (K * L).sum() / (np.linalg.norm(K) * np.linalg.norm(L))
    assert ka == pytest.approx(0.959718, abs=1e-6)


@pytest.mark.parametrize("unbiased", [False, True])
def test_all_paths_agree_with_textbook(unbiased):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 5))
    K, L = X @ X.T, Y @ Y.T
    expected = ustat_hsic_u(K, L) if unbiased else explicit_hsic_b(K, L)
    values = [
        hsic_gram(K, L, unbiased=unbiased),
        hsic_linear(X, Y, unbiased=unbiased),
        hsic(X, Y, unbiased=unbiased, path="gram"),
        hsic(X, Y, unbiased=unbiased, path="gram", block_size=2),
        hsic(X, Y, unbiased=unbiased, path="feature"),
    ]
    np.testing.assert_allclose(values, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kernel", ["rbf", "cosine"])
@pytest.mark.parametrize("unbiased", [False, True])
def test_nonlinear_kernels_blocked_equal_full(kernel, unbiased):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(50, 4)), rng.normal(size=(50, 6))
    K, L = gram(X, kernel).numpy(), gram(Y, kernel).numpy()
    expected = hsic_gram(K, L, unbiased=unbiased)
    got = hsic(X, Y, kernel=kernel, unbiased=unbiased, block_size=7)
    assert got == pytest.approx(expected, rel=1e-10)
    if not unbiased:
        assert got == pytest.approx(explicit_hsic_b(K, L), rel=1e-10)


def test_feature_path_stays_exact_far_from_origin():
    rng = np.random.default_rng(2)
    X = 1e3 + rng.normal(size=(300, 5))
    Y = -1e3 + X[:, :3] + 0.5 * rng.normal(size=(300, 3))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    for unbiased in (False, True):
        ref = hsic_gram(Xc @ Xc.T, Yc @ Yc.T, unbiased=unbiased)
        assert hsic_linear(X, Y, unbiased=unbiased) == pytest.approx(ref, rel=1e-10)
        assert hsic(X, Y, unbiased=unbiased, path="gram") == pytest.approx(ref, rel=1e-10)


def test_auto_path_rule_and_feature_requires_linear():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 3))
    assert hsic(X, X) == pytest.approx(hsic(X, X, path="gram"), rel=1e-12)
    with pytest.raises(ValueError, match="^path"):
        hsic(X, X, kernel="rbf", path="feature")


def test_center_gram_equals_explicit_h():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(6, 6))
    K = A @ A.T
    H = np.eye(6) - 1 / 6
    np.testing.assert_allclose(center_gram(K).numpy(), H @ K @ H, atol=1e-12)


def test_rbf_gram_and_median_heuristic():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 3))
    med = np.median(pdist(X, "sqeuclidean"))
    assert median_sq_distance(X) == pytest.approx(med, rel=1e-12)
    d2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.testing.assert_allclose(gram(X, "rbf").numpy(), np.exp(-d2 / (2 * med)), atol=1e-12)
    np.testing.assert_allclose(gram(X, "rbf", sigma=2.0).numpy(), np.exp(-d2 / 8), atol=1e-12)
    big = rng.normal(size=(2500, 2))
    assert median_sq_distance(big, seed=1) == median_sq_distance(big, seed=1)
    assert median_sq_distance(big, seed=1) != median_sq_distance(big, seed=2)


def test_torch_input_keeps_autograd_and_returns_tensor():
    X = torch.randn(20, 4, dtype=torch.float64, requires_grad=True)
    Y = torch.randn(20, 3, dtype=torch.float64)
    v_feat = hsic(X, Y, unbiased=True, path="feature")
    assert isinstance(v_feat, torch.Tensor) and v_feat.dtype == torch.float64 and v_feat.ndim == 0
    (g_feat,) = torch.autograd.grad(v_feat, X)
    (g_gram,) = torch.autograd.grad(hsic(X, Y, unbiased=True, path="gram"), X)
    torch.testing.assert_close(g_feat, g_gram, rtol=1e-9, atol=1e-12)
    assert isinstance(hsic(X.detach().numpy(), Y.numpy()), float)


matrices = arrays(np.float64, (12, 3), elements=st.floats(-10, 10, allow_nan=False, width=32))


@given(matrices, matrices, st.integers(0, 2**31 - 1))
def test_hsic_invariances(X, Y, seed):
    Q = ortho_group.rvs(3, random_state=seed)
    shift = np.random.default_rng(seed).normal(size=3) * 5
    for unbiased in (False, True):
        base = hsic(X, Y, unbiased=unbiased)
        scale = max(1.0, abs(base), hsic(X, X) + hsic(Y, Y))
        assert abs(hsic(X @ Q + shift, Y, unbiased=unbiased) - base) <= 1e-9 * scale
        assert abs(hsic(Y, X, unbiased=unbiased) - base) <= 1e-9 * scale
    assert hsic(X, X) >= -1e-12


BAD_INPUTS = [
    (lambda: hsic(np.array([[1.0, np.nan], [0, 1], [1, 1], [2, 2]]), X_HAND), "X", "NaN"),
    (lambda: hsic(X_HAND, np.array([[np.inf, 0], [0, 1], [1, 1], [2, 2]])), "Y", "Inf"),
    (lambda: hsic(np.arange(4.0), X_HAND), "X", "2-D"),
    (lambda: hsic(np.zeros((4, 2, 2)), X_HAND), "X", "2-D"),
    (lambda: hsic(X_HAND, X_HAND[:3]), "Y", "same number of samples"),
    (lambda: hsic(X_HAND[:3], X_HAND[:3], unbiased=True), "X", "at least 4"),
    (lambda: hsic_gram(np.eye(3), np.eye(3), unbiased=True), "K", "at least 4"),
    (lambda: hsic(np.empty((0, 2)), X_HAND), "X", "non-empty"),
    (lambda: hsic(np.array([["a", "b"]] * 4), X_HAND), "X", "numeric"),
    (lambda: hsic(X_HAND, X_HAND, kernel="poly"), "kernel", "one of"),
    (lambda: gram(np.ones((5, 2)), "rbf"), "X", "median pairwise distance is 0"),
    (lambda: gram(X_HAND, "rbf", sigma=0.0), "sigma", "positive"),
    (lambda: hsic_gram(np.ones((3, 4)), np.ones((3, 4))), "K", "square"),
    (lambda: gram(np.array([[0.0, 0.0], [1.0, 0.0]]), "cosine"), "X", "all-zero row"),
]


@pytest.mark.parametrize("call, name, words", BAD_INPUTS)
def test_bad_input_names_the_argument(call, name, words):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert str(info.value).startswith(f"{name}:") and words in str(info.value)
