"""The prior's prox (``docs/ksm.md#eq-ksm-prior``) and the Hebbian dictionary rule (``docs/ksm.md#eq-ksm-online``)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from latentalign.ksm.objective import optimal_dictionary
from latentalign.ksm.online import RandomFeatures, hebbian_update
from latentalign.ksm.prox import prox_latent


def test_hand_computed_values():
    v = np.array([[3.0, -1.0, 0.5]])
    np.testing.assert_allclose(prox_latent(v, threshold=1.0), [[2.0, 0.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose(prox_latent(v, threshold=1.0, budget="ball", radius=1.0), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(prox_latent(v, threshold=0.25, nonneg=True), [[2.75, 0.0, 0.25]])
    np.testing.assert_allclose(prox_latent(v, l2=1.0), v / 2)
    w = np.array([[0.6, 0.8]])
    np.testing.assert_allclose(prox_latent(w, budget="ball", radius=0.5), [[0.3, 0.4]], atol=1e-15)
    np.testing.assert_allclose(prox_latent(w, budget="sphere", radius=2.0), [[1.2, 1.6]], atol=1e-15)
    np.testing.assert_allclose(prox_latent(w, budget="l1", radius=1.0), [[0.4, 0.6]], atol=1e-15)
    np.testing.assert_allclose(prox_latent(np.zeros((1, 3)), budget="sphere", radius=2.0), [[2.0, 0.0, 0.0]])
    total = prox_latent(np.array([[3.0, 0.0], [0.0, 4.0]]), budget="total", radius=1.0)  # ||Z||_F <= sqrt 2
    np.testing.assert_allclose(total, np.array([[3.0, 0.0], [0.0, 4.0]]) * np.sqrt(2) / 5)


def _objective(P, V, t, l2):
    return 0.5 * ((P - V) ** 2).sum() + t * np.abs(P).sum() + 0.5 * l2 * (P * P).sum()


def _norm(P, budget):
    if budget == "l1":
        return np.abs(P).sum(1).max()
    if budget == "total":
        return np.sqrt((P * P).sum() / P.shape[0])
    return np.sqrt((P * P).sum(1)).max()


@given(st.integers(0, 10_000), st.sampled_from(["ball", "l1", "total"]), st.booleans())
def test_prox_is_the_constrained_minimiser(seed, budget, nonneg):
    rng = np.random.default_rng(seed)
    V = 2 * rng.standard_normal((4, 5))
    t, l2, radius = rng.uniform(0, 0.5), rng.uniform(0, 1), rng.uniform(0.3, 2)
    P = prox_latent(V, threshold=t, l2=l2, nonneg=nonneg, budget=budget, radius=radius)
    assert _norm(P, budget) <= radius + 1e-12
    if nonneg:
        assert P.min() >= 0
    best = _objective(P, V, t, l2)
    for _ in range(30):  # feasible competitors never do better
        Q = prox_latent(P + 0.1 * rng.standard_normal(P.shape), nonneg=nonneg, budget=budget, radius=radius)
        assert _objective(Q, V, t, l2) >= best - 1e-12


@given(st.integers(0, 10_000))
def test_sphere_and_torch_match_numpy(seed):
    V = np.random.default_rng(seed).standard_normal((6, 3))
    P = prox_latent(V, budget="sphere", radius=1.5)
    np.testing.assert_allclose(np.sqrt((P * P).sum(1)), 1.5, atol=1e-12)
    for budget in ("ball", "sphere", "l1", "total", None):
        a = prox_latent(V, threshold=0.1, budget=budget, radius=0.7)
        b = prox_latent(torch.tensor(V), threshold=0.1, budget=budget, radius=0.7)
        np.testing.assert_allclose(b.numpy(), a, atol=1e-14)


def test_bad_arguments():
    with pytest.raises(ValueError, match="^budget: expected one of"):
        prox_latent(np.ones((2, 2)), budget="box")
    with pytest.raises(ValueError, match="^radius: must be a positive"):
        prox_latent(np.ones((2, 2)), budget="ball", radius=0.0)
    with pytest.raises(ValueError, match="^threshold: must be a non-negative"):
        prox_latent(np.ones((2, 2)), threshold=-1.0)


def test_hebbian_rule_with_frozen_latents_reaches_the_optimal_dictionary():
    """D += 0.5 (Phi^T (X - Phi D)/N - ridge D) converges to D* (the network's weight rule)."""
    rng = np.random.default_rng(7)
    X, Z = rng.standard_normal((30, 5)), rng.standard_normal((30, 3))
    Phi = RandomFeatures.draw(3, 200, 1.0, rng)(Z)
    target = optimal_dictionary(X, Phi, ridge=0.01)
    D = np.zeros_like(target)
    for it in range(20_000):  # noqa: B007 (the count is checked after the loop)
        D = hebbian_update(D, Phi, X - Phi @ D, 0.5, 0.01)
        if np.abs(D - target).max() < 1e-6:
            break
    assert np.abs(D - target).max() < 1e-6
    assert 1000 < it < 10_000  # the spec measured 2490 iterations: linear convergence at rate ~ 1 - 0.5 ridge
