"""The noise model (spec ssl.md §2) and the asymptotic recovery / downstream checks 3, 7 and 8."""

import numpy as np
import pytest

from latentalign.ssl.linear import (
    joint_embedding_closed_form,
    reconstruction_closed_form,
    subspace_overlap,
    supervised_closed_form,
)
from latentalign.ssl.noise_model import (
    LinearNoiseModel,
    draw_variances,
    gaussian_signal,
    make_linear_dataset,
)
from latentalign.train import linear_probe

S = np.linspace(1, 3, 5)


def _model(gamma, theta_noise=0.5):
    return LinearNoiseModel(S, np.r_[np.full(5, 0.5), np.full(15, theta_noise)], np.full(15, gamma))


def _padded(Z):
    return np.hstack([Z, np.zeros((Z.shape[0], 15))])


def test_model_covariances_and_draws():
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    m = LinearNoiseModel([2.0, 1.0], [0.1, 0.2, 0.3, 0.4], [1.0, 4.0], Q=Q)
    assert m.Sigma(2.0) == pytest.approx(m.Theta + 4 * m.Gamma)
    assert np.linalg.eigvalsh(m.Gamma) == pytest.approx([0, 0, 1, 4], abs=1e-12)
    X = np.zeros((40000, 4))
    noise = m.corrupt(X, seed=1)
    assert np.cov(noise.T) == pytest.approx(m.Gamma, abs=0.08)
    aug = m.augment(X, alpha=0.5, seed=2)
    assert np.cov(aug.T) == pytest.approx(m.Sigma(0.5), abs=0.05)
    assert np.array_equal(m.corrupt(X[:5], seed=3), m.corrupt(X[:5], seed=3))
    assert m.signal_basis.T @ m.clean_encoder().T == pytest.approx(np.diag(1 / np.sqrt([2.1, 1.2])))


def test_model_rejects_bad_input():
    with pytest.raises(ValueError, match="^gamma_noise: every value must be > 0"):
        LinearNoiseModel([1.0], 0.1, [0.0])
    with pytest.raises(ValueError, match="^theta: expected 3 values"):
        LinearNoiseModel([1.0], [0.1, 0.2], [1.0, 1.0])
    with pytest.raises(ValueError, match="^Q: expected an orthogonal"):
        LinearNoiseModel([1.0], 0.1, [1.0], Q=np.ones((2, 2)))
    with pytest.raises(ValueError, match="^X: expected 2 features"):
        LinearNoiseModel([1.0], 0.1, [1.0]).corrupt(np.zeros((3, 3)), seed=0)


def test_supervised_noise_weights_vanish_as_n_grows():
    """Check 3: with λ^Γ = 3 and α = 0 the supervised weights on noise fall like n^{-1/2}."""
    m = _model(3.0)
    norms = []
    for n in (1000, 100_000):
        Z, y = gaussian_signal(n, S, seed=0)
        Xc = m.corrupt(_padded(Z), seed=1)
        V = supervised_closed_form(Xc, np.eye(4)[y], m.Sigma(0.0))
        norms.append(np.linalg.norm(V[:, 5:]))
    assert norms[1] / norms[0] < 0.2
    assert 0.02 < norms[0] < 0.1  # spec: about 0.048


@pytest.fixture(scope="module")
def big_signal():
    Z, _ = gaussian_signal(200_000, S, seed=0)
    return _padded(Z)


@pytest.mark.parametrize(
    "gamma, theta_noise, alpha2, rc, je",
    [
        (3.0, 0.5, 2.0, (0.78, 0.82), None),
        (3.0, 0.5, 5.0, (0.99, 1.0), None),
        (3.0, 0.5, 0.5, None, (0.99, 1.0)),
        (30.0, 0.5, 10.0, (0.15, 0.4), None),
        (30.0, 0.5, 50.0, (0.99, 1.0), None),
        (0.3, 0.05, 0.0, (0.99, 1.0), (0.0, 0.05)),
        (0.3, 0.05, 0.3, None, (0.78, 0.82)),
        (0.3, 0.05, 0.4, None, (0.99, 1.0)),
    ],
)
def test_recovery_of_the_signal_subspace(big_signal, gamma, theta_noise, alpha2, rc, je):
    """Check 7 (n = 2e5): overlap with the signal jumps to 1 once α² passes the family's threshold."""
    m = _model(gamma, theta_noise)
    Xc = m.corrupt(big_signal, seed=1)
    Sigma = m.Sigma(np.sqrt(alpha2))
    t = m.thresholds()
    if rc is not None:
        overlap = subspace_overlap(reconstruction_closed_form(Xc, Sigma, 5).E, m.signal_basis)
        assert rc[0] <= overlap <= rc[1] + 1e-12
        assert (overlap > 0.99) == t.recovers(np.sqrt(alpha2))["reconstruction"]
    if je is not None:
        overlap = subspace_overlap(joint_embedding_closed_form(Xc, Sigma, 5).W, m.signal_basis)
        assert je[0] <= overlap <= je[1] + 1e-12
        assert (overlap > 0.99) == t.recovers(np.sqrt(alpha2))["joint_embedding"]


@pytest.mark.parametrize(
    "gamma, expected",
    [(0.1, (0.970, 0.970, 0.971)), (1.0, (0.926, 0.956, 0.960)), (3.0, (0.280, 0.956, 0.963)),
     (30.0, (0.25, 0.955, 0.96))],
)
def test_synthetic_downstream_accuracy(gamma, expected):
    """Check 8: α² = 1, Θ = 0.5 I, 4000/4000, lstsq probe, 3 seeds; RC falls to chance past its threshold."""
    m = _model(gamma)
    acc = []
    for seed in range(3):
        Z_tr, y_tr = gaussian_signal(4000, S, seed=10 * seed)
        Z_te, y_te = gaussian_signal(4000, S, seed=10 * seed + 1)
        X_tr, X_te = m.corrupt(_padded(Z_tr), seed=10 * seed + 2), m.corrupt(_padded(Z_te), seed=10 * seed + 3)
        Sigma = m.Sigma(1.0)
        encoders = (reconstruction_closed_form(X_tr, Sigma, 5).E, joint_embedding_closed_form(X_tr, Sigma, 5).W,
                    m.signal_basis.T)
        acc.append([linear_probe(X_tr @ M.T, y_tr, X_te @ M.T, y_te, kind="lstsq") for M in encoders])
    assert np.mean(acc, axis=0) == pytest.approx(expected, abs=0.02)


def test_make_linear_dataset_on_digits():
    ds = make_linear_dataset("digits", k=20, n_noise=20, gamma_max=10.0, theta_max=1.0, seed=0)
    assert ds.X_train.shape == (1200, 40) and ds.X_test.shape == (597, 40)
    assert np.all(ds.X_train[:, 20:] == 0) and np.all(ds.Xc_train[:, :20] == ds.X_train[:, :20])
    s = ds.model.signal_var
    # training PCA: decreasing variances equal to the empirical ones, coordinates centred
    assert np.all(np.diff(s) < 0) and ds.X_train[:, :20].var(axis=0) == pytest.approx(s, rel=1e-8)
    assert np.abs(ds.X_train.mean(axis=0)).max() < 1e-10
    u = s.min()
    assert ds.model.gamma_noise.max() <= 10 * u and ds.model.theta.max() <= u
    assert (256 * s[0], 256 * u) == pytest.approx((178, 11), rel=0.1)  # spec, in raw 0-16 pixel units
    again = make_linear_dataset("digits", k=20, n_noise=20, gamma_max=10.0, theta_max=1.0, seed=0)
    assert np.array_equal(again.Xc_test, ds.Xc_test)
    assert not np.array_equal(make_linear_dataset("digits", seed=1).Xc_test[:, 20:], ds.Xc_test[:, 20:])


def test_make_linear_dataset_other_sources_and_errors():
    syn = make_linear_dataset("synthetic", k=5, n_noise=3, seed=0, n_train=500, n_test=300)
    assert syn.X_train.shape == (500, 8) and syn.X_test.shape == (300, 8) and set(syn.y_train) == {0, 1, 2, 3}
    mn = make_linear_dataset("mnist1d", k=10, n_noise=5, seed=0, n_train=1000)
    assert mn.X_train.shape == (1000, 15) and mn.X_test.shape == (1000, 15)
    with pytest.raises(ValueError, match="^source: expected one of"):
        make_linear_dataset("cifar")
    with pytest.raises(ValueError, match="^gamma_max: must be > 0"):
        make_linear_dataset("digits", gamma_max=0.0)


def test_draw_variances_are_the_datasets_and_scale_with_the_smallest_signal():
    ds = make_linear_dataset(
        "synthetic", k=5, n_noise=15, gamma_max=30.0, theta_max=0.5, seed=4, n_train=500, n_test=100
    )
    theta, gamma = draw_variances(ds.model.signal_var, 15, 30.0, 0.5, seed=4)
    assert np.array_equal(theta, ds.model.theta) and np.array_equal(gamma, ds.model.gamma_noise)
    # the same uniforms, scaled: doubling every signal variance doubles the draws (u = min s doubles)
    theta2, gamma2 = draw_variances(2 * ds.model.signal_var, 15, 30.0, 0.5, seed=4)
    assert np.allclose(theta2, 2 * theta) and np.allclose(gamma2, 2 * gamma)
    u = ds.model.signal_var.min()
    assert theta.max() <= 0.5 * u and 0 < gamma.min() and gamma.max() <= 30.0 * u
    with pytest.raises(ValueError, match="^signal_var"):
        draw_variances([1.0, -1.0], 3, 1.0, 1.0)
