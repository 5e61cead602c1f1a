"""Manifold distances and circular statistics of the KSM study against exact cases."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latentalign.data.synthetic import ring, swiss_roll, torus
from latentalign.studies.ksm_geometry import (circular_correlation, circular_variance, population_vector_angle,
                                              preferred_angles, ring_distance, swiss_roll_distance, torus_distance)


@pytest.mark.parametrize("make, dist, tol", [(ring, ring_distance, 1e-6), (torus, torus_distance, 1e-6),
                                             (swiss_roll, swiss_roll_distance, 4e-3)])
def test_noise_free_points_lie_on_their_manifold(make, dist, tol):
    ds, Q = make(n=200, noise=0.0, seed=3, return_basis=True)
    assert dist(ds.X, Q).max() < tol  # swiss roll: spacing of the 2000-point spiral


def test_known_offsets():
    ds, Q = ring(n=50, noise=0.0, seed=0, return_basis=True)
    normal = np.linalg.svd(np.eye(10) - Q @ Q.T)[0][:, :1].T  # a direction off the ring's plane
    np.testing.assert_allclose(ring_distance(ds.X + 0.3 * normal, Q), 0.3, atol=1e-6)
    np.testing.assert_allclose(ring_distance(1.5 * ds.X, Q), 0.5, atol=1e-6)
    np.testing.assert_allclose(ring_distance(np.zeros((1, 10)), Q), 1.0)
    ds, Q = torus(n=50, noise=0.0, seed=0, return_basis=True)
    np.testing.assert_allclose(torus_distance(2 * ds.X, Q), 1.0, atol=1e-6)  # each circle r -> 2r, r = 1/sqrt2
    ds, Q = swiss_roll(n=50, noise=0.0, seed=0, return_basis=True)
    lifted = ds.X + (2.1 + 0.5 - (ds.X @ Q)[:, 1:2]) * Q[:, 1]  # height 2.6: 0.5 above the top edge
    np.testing.assert_allclose(swiss_roll_distance(lifted, Q), 0.5, atol=4e-3)


@given(st.integers(0, 10_000), st.floats(-np.pi, np.pi))
def test_circular_correlation_ignores_rotation_and_reflection(seed, shift):
    theta = np.random.default_rng(seed).uniform(0, 2 * np.pi, 100)
    assert circular_correlation(theta + shift, theta) == pytest.approx(1.0)
    assert circular_correlation(shift - theta, theta) == pytest.approx(1.0)
    unrelated = np.random.default_rng(seed + 1).uniform(0, 2 * np.pi, 100)
    assert circular_correlation(unrelated, theta) < 0.4


def test_tuning_statistics():
    theta = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    centres = np.array([0.0, np.pi / 2, np.pi, 3 * np.pi / 2])
    raised_cosine = 1 + np.cos(theta[:, None] - centres[None])
    np.testing.assert_allclose(circular_variance(raised_cosine, theta), 0.5, atol=1e-12)
    assert circular_variance(np.ones((360, 1)), theta)[0] == pytest.approx(1.0)
    spike = (np.abs(theta - np.pi) < 1e-9).astype(float)[:, None]
    assert circular_variance(spike, theta)[0] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(circular_variance(np.zeros((360, 1)), theta)[0])
    pref = preferred_angles(raised_cosine, theta)
    np.testing.assert_allclose(np.exp(1j * pref), np.exp(1j * centres), atol=1e-12)
    decoded = population_vector_angle(raised_cosine, pref)
    assert circular_correlation(decoded, theta) == pytest.approx(1.0)
