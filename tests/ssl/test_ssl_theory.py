"""Alignment thresholds and Corollary 4.5 (spec ssl.md §3, checks 4-6)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latentalign.ssl.theory import (
    alignment_thresholds,
    retained_components,
    thresholds_from_model,
)

S = np.linspace(1, 3, 5)


def test_worked_example_high_noise():
    t = alignment_thresholds(S, 0.5, 0.5, np.full(15, 3.0))
    # by hand: eta^2 = min s^2/(s+0.5) = 1/1.5, delta = 1/1.5; a_RC = 3*1.5 - 0.5/3 - 1, a_JE = 0.5 - 0.5/3
    assert t.alpha2_rc == pytest.approx(10 / 3, abs=1e-12)
    assert t.alpha2_je == pytest.approx(1 / 3, abs=1e-12)
    assert t.eta**2 == pytest.approx(2 / 3) and t.delta == pytest.approx(2 / 3)
    assert t.crossover == pytest.approx(1.0)
    assert (t.regime, t.preferred) == ("high_noise", "joint_embedding")
    assert t.alpha_rc == pytest.approx(np.sqrt(10 / 3))
    t30 = alignment_thresholds(S, 0.5, 0.5, 30.0)
    assert (round(t30.alpha2_rc, 4), round(t30.alpha2_je, 4)) == (43.9833, 0.4833)


def test_worked_example_low_noise_prefers_reconstruction():
    t = alignment_thresholds(S, 0.5, 0.05, np.full(15, 0.3))
    assert round(t.alpha2_rc, 4) == -0.7167 and t.alpha_rc == 0.0
    assert round(t.alpha2_je, 4) == 0.3333
    assert (t.regime, t.preferred) == ("low_noise", "reconstruction")
    assert t.recovers(0.0) == {"reconstruction": True, "joint_embedding": False, "supervised": True}
    assert t.recovers(0.6)["joint_embedding"]  # 0.36 > 1/3


def test_mixed_regime_when_noise_straddles_the_crossover():
    t = alignment_thresholds(S, 0.5, 0.5, [0.5, 3.0])
    assert t.regime == "mixed"


positive = st.floats(0.05, 50.0)


@given(
    s=st.lists(positive, min_size=1, max_size=5),
    th=positive,
    th_n=st.floats(0.01, 10.0),
    gammas=st.lists(positive, min_size=1, max_size=6),
    c=st.floats(1.01, 20.0),
)
def test_threshold_properties(s, th, th_n, gammas, c):
    t = alignment_thresholds(s, th, th_n, gammas)
    g = np.asarray(gammas)
    assert np.allclose(t.per_component_rc - t.per_component_je, g / t.eta**2 - 1 / t.delta)
    assert t.alpha2_je < (1 - t.delta) / t.delta
    assert alignment_thresholds(s, th, th_n, c * g).alpha2_rc > t.alpha2_rc
    # Corollary 4.5 (a relative margin keeps exact ties at the crossover out of float rounding)
    if g.max() < t.crossover * (1 - 1e-9):
        assert t.alpha2_rc < t.alpha2_je and t.preferred == "reconstruction"
    if g.min() > t.crossover * (1 + 1e-9):
        assert t.alpha2_rc > t.alpha2_je and t.preferred == "joint_embedding"


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_nonpositive_noise_raises(bad):
    with pytest.raises(ValueError, match="^gamma_noise: every value must be > 0"):
        alignment_thresholds(S, 0.5, 0.5, [1.0, bad])


def test_from_model_rotates_into_the_data_basis():
    rng = np.random.default_rng(0)
    n, k, d = 4000, 3, 7
    Q = np.linalg.qr(rng.normal(size=(d, d)))[0]
    s = np.array([3.0, 2.0, 1.0])
    L = np.linalg.qr(rng.normal(size=(n, k)))[0]  # X = L K Qᵀ exactly, κ² / n = s
    X = (L * np.sqrt(n * s)) @ Q[:, :k].T
    theta = np.array([0.2, 0.3, 0.4, 0.1, 0.1, 0.5, 0.6])  # degenerate pair on the noise block
    gamma = np.array([0, 0, 0, 2.0, 2.0, 5.0, 1.0])
    Theta, Gamma = (Q * theta) @ Q.T, (Q * gamma) @ Q.T
    t = thresholds_from_model(X, Theta, Gamma, k)
    ref = alignment_thresholds(s, theta[:k], theta[k:], gamma[k:])
    assert t.alpha2_rc == pytest.approx(ref.alpha2_rc, rel=1e-8)
    assert t.alpha2_je == pytest.approx(ref.alpha2_je, rel=1e-8)
    assert np.sort(t.gamma_noise) == pytest.approx(np.sort(gamma[k:]))


def test_from_model_rejects_non_diagonal_and_nonpositive_noise():
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(size=(500, 2)), np.zeros((500, 2))]
    Gamma = np.diag([0, 0, 1.0, 2.0])
    Theta = np.eye(4)
    Theta[0, 2] = Theta[2, 0] = 0.3
    with pytest.raises(ValueError, match="^Theta: not diagonal"):
        thresholds_from_model(X, Theta, Gamma, 2)
    with pytest.raises(ValueError, match="^Gamma: every noise component"):
        thresholds_from_model(X, np.eye(4), np.diag([0, 0, 1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="^Gamma: the corruption must vanish"):
        thresholds_from_model(X, np.eye(4), np.eye(4), 2)


def test_retained_components_by_hand():
    # s = (4, 1), noise λ^Γ = 2 with λ^Θ = (1, 1, 3): RC scores c²/(c+σ) = 16/5, 1/2, 4/5 keep the noise;
    # JE scores c/(c+σ) = 4/5, 1/2, 2/5 keep both signals. η² = 1/2, so α²_RC = 2/(1/2) − 3/2 − 1 = 1.5:
    # at α² = 1 the noise still scores 4/7 > 1/2 in RC, at α² = 2 it scores 4/9 < 1/2.
    kept = retained_components([4.0, 1.0], [1.0, 1.0, 3.0], [2.0], alpha=0.0, k=2)
    assert kept["reconstruction"].tolist() == [0, 2] and kept["joint_embedding"].tolist() == [0, 1]
    assert retained_components([4.0, 1.0], [1.0, 1.0, 3.0], [2.0], alpha=1.0, k=2)["reconstruction"].tolist() == [0, 2]
    assert retained_components([4.0, 1.0], [1.0, 1.0, 3.0], [2.0], alpha=np.sqrt(2), k=2)[
        "reconstruction"
    ].tolist() == [0, 1]
    assert alignment_thresholds([4.0, 1.0], [1.0, 1.0], [3.0], [2.0]).alpha2_rc == pytest.approx(1.5)
    with pytest.raises(ValueError, match="^k"):
        retained_components([4.0, 1.0], 1.0, [2.0], alpha=0.0, k=4)
    with pytest.raises(ValueError, match="^alpha"):
        retained_components([4.0, 1.0], 1.0, [2.0], alpha=-1.0, k=2)


@given(
    s=st.lists(st.floats(0.5, 10), min_size=2, max_size=6),
    gammas=st.lists(st.floats(0.05, 50), min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
    margin=st.floats(0.05, 2.0),
)
def test_retained_components_agree_with_the_thresholds(s, gammas, seed, margin):
    """With k = k_signal a family keeps only the signal iff α² passes its threshold (Props 4.3, 4.4)."""
    rng = np.random.default_rng(seed)
    s, gammas = np.array(s), np.array(gammas)
    theta = rng.uniform(0, 1, s.size + gammas.size)
    t = alignment_thresholds(s, theta[: s.size], theta[s.size:], gammas)
    signal = list(range(s.size))
    for fam, a2 in (("reconstruction", t.alpha2_rc), ("joint_embedding", t.alpha2_je)):
        above = retained_components(s, theta, gammas, alpha=np.sqrt(max(a2, 0) + margin), k=s.size)[fam]
        assert above.tolist() == signal, (fam, a2)
        if a2 > margin:
            below = retained_components(s, theta, gammas, alpha=np.sqrt(a2 - margin), k=s.size)[fam]
            assert below.tolist() != signal, (fam, a2)
