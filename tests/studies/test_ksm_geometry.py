"""The KSM study's circular statistics against exact cases."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latentalign.studies.ksm_geometry import (
    circular_correlation,
    circular_variance,
    population_vector_angle,
    preferred_angles,
)


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
