"""Gaussian closed forms (spec §5, §9.5-9.8): reference values, numerical minimisation, SGD."""

import math
import warnings

import numpy as np
import pytest
import scipy.optimize
import torch
from hypothesis import given
from hypothesis import strategies as st

from latentalign.contrastive import ClipLoss, ConditionalLoss, JointLoss
from latentalign.contrastive import gaussian as g
from latentalign.contrastive.recovery import finite_batch_gains, fit_linear
from latentalign.data import gaussian_pairs

# g43, restated from the spec independently of gaussian.make_example
P = np.array([[2.0, 0, 0, 0], [1, 1, 0, 0], [0, 1, 0.5, 0], [0, 0, 1, 3]])
Q = np.array([[1.0, 0, 0], [0.5, 2, 0], [0, -1, 1]])
SIGMA = np.array([0.9, 0.6, 0.3])
D = np.vstack([np.diag(SIGMA), np.zeros((1, 3))])
COV = (P @ P.T, P @ D @ Q.T, Q @ Q.T)
P_INV_T, Q_INV = np.linalg.inv(P).T, np.linalg.inv(Q)


def padded(values):
    return np.vstack([np.diag(values), np.zeros((1, 3))])


def test_h():
    assert g.h(2 / 3) == pytest.approx(0.5, abs=1e-15)
    assert g.h(1.0) == pytest.approx(0.6180339887, abs=1e-10)
    assert g.h(0.0) == 0.0
    s = np.linspace(0, 1, 201)  # canonical correlations live in [0, 1)
    m = g.h(s)
    assert np.all(np.abs(s * (1 - m**2) - m) < 1e-15)
    assert np.all((m[1:] >= 0) & (m[1:] < s[1:]))
    assert g.h(1e-8) / 1e-8 == pytest.approx(1.0, abs=1e-12)


def test_make_example_is_g43():
    for a, b in zip(g.make_example("g43"), COV):
        np.testing.assert_array_equal(a, b)


def test_g43_canonical_correlations_and_directions():
    sigma, W_u, W_v = g.canonical_correlations(*COV)
    np.testing.assert_allclose(sigma, SIGMA, atol=1e-12)
    # W_u spans the columns of P^{-T}: each canonical direction is a column of P^{-T} up to sign
    for i in range(3):
        cos = abs(W_u[:, i] @ P_INV_T[:, i]) / (np.linalg.norm(W_u[:, i]) * np.linalg.norm(P_INV_T[:, i]))
        assert cos == pytest.approx(1.0, abs=1e-12)
    # canonical variates are white and correlated by sigma
    np.testing.assert_allclose(W_u.T @ COV[0] @ W_u, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(W_u.T @ COV[1] @ W_v, np.diag(SIGMA), atol=1e-12)


def test_g43_optima_and_values():
    A_cond = g.optimal_A(COV)
    np.testing.assert_allclose(A_cond, [[0.45, 0, 0.3], [0, 0, -0.6], [-0.15, 0.3, 0.6], [0, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(A_cond, P_INV_T @ D @ Q_INV, atol=1e-12)
    np.testing.assert_allclose(A_cond, np.linalg.solve(COV[0], COV[1]) @ np.linalg.inv(COV[2]), atol=1e-12)
    A_joint = g.optimal_A(COV, "joint")
    np.testing.assert_allclose(A_joint, P_INV_T @ padded(g.h(SIGMA)) @ Q_INV, atol=1e-12)
    np.testing.assert_allclose(A_joint[0], [0.283503, 0.021398, 0.276984], atol=1e-6)
    for r in (1, 2):
        np.testing.assert_allclose(g.optimal_A(COV, rank=r), P_INV_T @ padded(np.r_[SIGMA[:r], [0] * (3 - r)]) @ Q_INV,
                                   atol=1e-12)

    assert g.conditional_loss(A_cond, COV) == pytest.approx(-0.63, abs=1e-12)
    assert g.conditional_loss(g.optimal_A(COV, rank=1), COV) == pytest.approx(-0.405, abs=1e-12)
    assert g.conditional_loss(g.optimal_A(COV, rank=2), COV) == pytest.approx(-0.585, abs=1e-12)
    assert g.joint_loss(A_joint, COV) == pytest.approx(-0.517450, abs=1e-6)
    assert g.conditional_loss(A_joint, COV) == pytest.approx(-0.572526, abs=1e-6)
    for loss, f in (("conditional", g.conditional_loss), ("joint", g.joint_loss)):
        for r in (1, 2, 3):
            assert g.optimal_value(COV, loss, r) == pytest.approx(f(g.optimal_A(COV, loss, r), COV), abs=1e-12)


def test_g43_l2_one_sided_optimum():
    A, B = g.optimal_l2_one_sided(COV)
    np.testing.assert_allclose(A, P_INV_T @ padded(SIGMA / (1 - SIGMA**2)) @ Q_INV, atol=1e-12)
    np.testing.assert_allclose(A[0], [2.403191, -0.069540, 0.329670], atol=1e-6)
    B_expected = P_INV_T @ np.diag(np.r_[SIGMA**2 / (1 - SIGMA**2), 0]) @ np.linalg.inv(P)
    np.testing.assert_allclose(B, B_expected, atol=1e-12)
    assert B[0, 0] == pytest.approx(1.305316, abs=1e-6)
    C_uu, C_uv, C_vv = COV
    C_u_given_v = C_uu - C_uv @ np.linalg.inv(C_vv) @ C_uv.T
    np.testing.assert_allclose(B + np.linalg.inv(C_uu), np.linalg.inv(C_u_given_v), atol=1e-12)
    C_v_given_u = C_vv - C_uv.T @ np.linalg.inv(C_uu) @ C_uv
    np.testing.assert_allclose(np.linalg.eigvalsh(C_vv - C_v_given_u), [0.067251, 0.747768, 2.087481], atol=1e-6)
    # the model's u|v is exact: mean map and covariance
    model = g.model_conditionals(A, COV, B=B)["u|v"]
    np.testing.assert_allclose(model.cov, C_u_given_v, atol=1e-12)
    np.testing.assert_allclose(model.mean_map, C_uv @ np.linalg.inv(C_vv), atol=1e-12)
    assert g.conditional_mean_error(A, COV, "u|v", B=B) < 1e-12


def test_g43_model_conditionals_marginals_and_mean_errors():
    C_uu, C_uv, C_vv = COV
    A_cond, A_joint = g.optimal_A(COV), g.optimal_A(COV, "joint")
    cond = g.model_conditionals(A_cond, COV)
    # Cor. 5.2: exact means, marginal (too wide) covariances
    np.testing.assert_allclose(cond["v|u"].mean_map, C_uv.T @ np.linalg.inv(C_uu), atol=1e-12)
    np.testing.assert_allclose(cond["u|v"].mean_map, C_uv @ np.linalg.inv(C_vv), atol=1e-12)
    np.testing.assert_allclose(cond["u|v"].cov, C_uu)
    rel = lambda M: np.linalg.norm(M - C_uu) / np.linalg.norm(C_uu)
    assert rel(g.model_marginal_u(A_cond, COV)) == pytest.approx(1.867282, abs=1e-6)
    assert rel(g.model_marginal_u(A_joint, COV)) == pytest.approx(0.240632, abs=1e-6)
    for direction in ("u|v", "v|u"):
        assert g.conditional_mean_error(A_cond, COV, direction) < 1e-12
        assert g.conditional_mean_error(A_joint, COV, direction) == pytest.approx(0.302040, abs=1e-6)
    # whitened error: rank truncation leaves sqrt(sum_{i>r} s_i^2 / sum s_i^2)
    for r, expected in ((1, 0.598), (2, 0.267)):
        assert g.whitened_error(g.optimal_A(COV, rank=r), A_cond, COV) == pytest.approx(expected, abs=1e-3)
        tail = math.sqrt(np.sum(SIGMA[r:] ** 2) / np.sum(SIGMA**2))
        assert g.whitened_error(g.optimal_A(COV, rank=r), A_cond, COV) == pytest.approx(tail, abs=1e-12)


def test_gains_on_the_canonical_directions():
    """g43's canonical directions are P^-T and Q^-1, so A = P^-T diag(d) Q^-1 has gains d and
    u-marginal (C_uu^-1 - A C_vv A^T)^-1 = P (I - D D^T)^-1 P^T."""
    d = np.array([0.7, 0.45, 0.1])
    A = P_INV_T @ padded(d) @ Q_INV
    np.testing.assert_allclose(g.from_gains(d, COV), A, atol=1e-12)
    np.testing.assert_allclose(g.canonical_gains(A, COV), d, atol=1e-12)
    np.testing.assert_allclose(g.model_marginal_u(A, COV), P @ np.linalg.inv(np.eye(4) - padded(d) @ padded(d).T) @ P.T,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.from_gains(d[:1], COV), P_INV_T @ padded([0.7, 0, 0]) @ Q_INV, atol=1e-12)
    with pytest.raises(ValueError, match="^gains: expected at most 3"):
        g.from_gains(np.ones(4), COV)


def test_finite_batch_gains_depend_on_the_canonical_correlations_only():
    canonical = (np.eye(4), padded(SIGMA), np.eye(3))
    np.testing.assert_allclose(
        finite_batch_gains(COV, 32, n_batches=20), finite_batch_gains(canonical, 32, n_batches=20), atol=1e-10
    )


def test_finite_batch_gains_inflate_the_top_gain_less_as_the_batch_grows():
    d64, d256 = (finite_batch_gains(COV, b, n_batches=25600 // b) for b in (64, 256))
    assert d64[0] > d256[0] > SIGMA[0] + 0.01  # ~0.98 and ~0.93 at these Monte Carlo sizes
    # a weak pair (e^s of finite variance) at a large batch: the infinite-batch optimum, sigma
    weak = (np.eye(2), np.diag([0.3, 0.2]), np.eye(2))
    np.testing.assert_allclose(finite_batch_gains(weak, 512, n_batches=40), [0.3, 0.2], atol=0.02)
    with pytest.raises(ValueError, match="^batch_size:"):
        finite_batch_gains(COV, 1)


def test_covariances_from_the_data_layer_are_accepted():
    _, cov = gaussian_pairs(10, 4, 3, [0.8, 0.5], seed=0, cov_x=P @ P.T, return_cov=True)
    sigma, _, _ = g.canonical_correlations(*cov)
    np.testing.assert_allclose(sigma, [0.8, 0.5, 0.0], atol=1e-12)


# --------------------------------------------------------------------------- numerical minimisation (§9.7)
def _minimise(f, x0):
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return scipy.optimize.minimize(f, x0, method="BFGS", jac="3-point", options={"gtol": 1e-12, "maxiter": 20000})


@pytest.mark.parametrize("loss", ["conditional", "joint"])
def test_bfgs_from_zero_recovers_the_optimum(loss):
    f = g.conditional_loss if loss == "conditional" else g.joint_loss
    res = _minimise(lambda a: f(a.reshape(4, 3), COV), np.zeros(12))
    np.testing.assert_allclose(res.x.reshape(4, 3), g.optimal_A(COV, loss), atol=1e-6)


@pytest.mark.parametrize("loss", ["conditional", "joint"])
@pytest.mark.parametrize("r", [1, 2])
def test_factorised_fits_recover_the_rank_r_optimum_and_the_cca_subspace(loss, r):
    f = g.conditional_loss if loss == "conditional" else g.joint_loss
    _, W_u, _ = g.canonical_correlations(*COV)

    def split(x):
        return x[: 4 * r].reshape(r, 4), x[4 * r:].reshape(r, 3)

    def objective(x):
        G, H = split(x)
        return f(G.T @ H, COV)

    rng = np.random.default_rng(0)
    best = min((_minimise(objective, 0.1 * rng.standard_normal(7 * r)) for _ in range(5)), key=lambda res: res.fun)
    G, H = split(best.x)
    np.testing.assert_allclose(G.T @ H, g.optimal_A(COV, loss, rank=r), atol=1e-6)
    assert g.principal_angles(G.T, W_u[:, :r]).max() < 1e-6


def test_l2_one_sided_loss_minimiser_is_the_closed_form():
    A_star, B_star = g.optimal_l2_one_sided(COV)
    rng = np.random.default_rng(0)
    res = _minimise(lambda x: g.l2_one_sided_loss(x[:12].reshape(3, 4), x[12:].reshape(3, 3), COV),
                    0.1 * rng.standard_normal(21))
    G, H = res.x[:12].reshape(3, 4), res.x[12:].reshape(3, 3)
    np.testing.assert_allclose(G.T @ H, A_star, atol=1e-5)
    np.testing.assert_allclose(G.T @ G, B_star, atol=1e-5)


def test_l2_one_sided_loss_matches_monte_carlo_of_the_empirical_loss():
    """The closed form is -E log rho(u|v): the centred (2, 0) L2 loss on large batches approaches it."""
    rng = np.random.default_rng(3)
    G, H = 0.3 * rng.standard_normal((2, 4)), 0.3 * rng.standard_normal((2, 3))
    values = []
    for seed in range(8):  # per-batch std ~0.025: the mean is good to ~0.01
        u, v = map(torch.from_numpy, g.sample(COV, 2048, seed))
        loss = ConditionalLoss(2, 0, tilt="l2", temperature=1.0, centered=True)
        values.append(float(loss(u @ torch.from_numpy(G).T, v @ torch.from_numpy(H).T)))
    assert np.mean(values) == pytest.approx(g.l2_one_sided_loss(G, H, COV), abs=0.03)


@given(st.integers(0, 10_000), st.floats(0.05, 0.99))
def test_conditional_loss_never_exceeds_joint_loss(seed, norm):  # Thm 3.10
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((4, 3))
    M *= norm / np.linalg.norm(M, 2)
    w, V = np.linalg.eigh(COV[0])
    uu_ih = (V / np.sqrt(w)) @ V.T
    w, V = np.linalg.eigh(COV[2])
    vv_ih = (V / np.sqrt(w)) @ V.T
    A = uu_ih @ M @ vv_ih
    assert g.conditional_loss(A, COV) <= g.joint_loss(A, COV) + 1e-12


# --------------------------------------------------------------------------- the empirical losses at the optimum (§9.8)
def _mc_values(n, n_batches=4):
    clip, joint = ClipLoss(tilt="inner", temperature=1.0), JointLoss(tilt="inner", temperature=1.0)
    A_cond, A_joint = (torch.from_numpy(g.optimal_A(COV, loss)) for loss in ("conditional", "joint"))
    out = []
    for seed in range(n_batches):
        u, v = map(torch.from_numpy, g.sample(COV, n, seed))
        out.append((float(clip(u @ A_cond, v)) - math.log(n), float(joint(u @ A_joint, v))))
    return np.mean(out, axis=0)


def test_empirical_losses_at_the_optimum_estimate_the_population_values():
    cond, joint = _mc_values(2048)
    assert abs(cond + 0.63) < 0.01
    assert abs(joint + 0.517450) < 0.01


@pytest.mark.slow
def test_empirical_losses_at_the_optimum_with_the_spec_batch():
    cond, joint = _mc_values(16384)
    assert abs(cond + 0.63) < 0.01
    assert abs(joint + 0.517450) < 0.01


def test_sample_is_seeded_and_has_the_covariance():
    u, v = g.sample(COV, 200_000, seed=1)
    u2, _ = g.sample(COV, 200_000, seed=1)
    np.testing.assert_array_equal(u, u2)
    emp = np.cov(np.hstack([u, v]).T)
    joint = np.block([[COV[0], COV[1]], [COV[1].T, COV[2]]])
    assert np.abs(emp - joint).max() < 0.05 * np.abs(joint).max()


# --------------------------------------------------------------------------- SGD (§9, SGD recovery)
@pytest.mark.parametrize("r", [1, 2, 3])
def test_sgd_trained_linear_encoders_reach_the_cca_subspace(r):
    """A short run (1000 Adam steps, batch 128) already aligns G with the top-r canonical directions."""
    _, W_u, _ = g.canonical_correlations(*COV)
    fit = fit_linear(COV, ClipLoss(tilt="inner", temperature=1.0), r, steps=1000, batch_size=128, lr=3e-2, seed=0)
    assert g.principal_angles(fit.G.T, W_u[:, :r]).max() < 0.05
    assert g.whitened_error(fit.A, g.optimal_A(COV, rank=r), COV) < 0.1


@pytest.mark.slow
def test_sgd_recovery_matches_the_spec():
    _, W_u, _ = g.canonical_correlations(*COV)
    inner = dict(tilt="inner", temperature=1.0)
    for r in (1, 2, 3):
        fit = fit_linear(COV, ClipLoss(**inner), r, seed=0)
        assert g.principal_angles(fit.G.T, W_u[:, :r]).max() <= 0.02
        assert g.whitened_error(fit.A, g.optimal_A(COV, rank=r), COV) <= 0.06
    fit = fit_linear(COV, JointLoss("offdiag", **inner), 1, seed=0)
    assert g.principal_angles(fit.G.T, W_u[:, :1]).max() <= 0.03
    assert g.whitened_error(fit.A, g.optimal_A(COV, "joint", rank=1), COV) <= 0.03
    fit = fit_linear(COV, ConditionalLoss(2, 0, tilt="l2", temperature=1.0), 3, seed=0)
    A_star, B_star = g.optimal_l2_one_sided(COV)
    assert g.whitened_error(fit.A, A_star, COV) <= 0.02
    model = g.model_conditionals(fit.A, COV, B=fit.B)["u|v"].cov
    exact = g.model_conditionals(A_star, COV, B=B_star)["u|v"].cov
    assert np.linalg.norm(model - exact) / np.linalg.norm(exact) <= 0.01


# --------------------------------------------------------------------------- bad input
def test_bad_covariances_name_cov():
    C_uu, C_uv, C_vv = COV
    with pytest.raises(ValueError, match="^cov: C_uu is not positive definite"):
        g.optimal_A((-C_uu, C_uv, C_vv))
    bad = C_uu.copy()
    bad[0, 1] += 1.0
    with pytest.raises(ValueError, match="^cov: C_uu is not symmetric"):
        g.conditional_loss(np.zeros((4, 3)), (bad, C_uv, C_vv))
    with pytest.raises(ValueError, match="^cov: the top canonical correlation"):
        g.canonical_correlations(np.eye(2), np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="^cov: C_uv must have shape"):
        g.optimal_A((C_uu, C_uv.T, C_vv))
    with pytest.raises(TypeError, match="^cov:"):
        g.optimal_A(C_uu)
    with pytest.raises(ValueError, match="^cov: C_vv contains non-finite"):
        g.optimal_A((C_uu, C_uv, np.full((3, 3), np.nan)))


def test_bad_arguments_name_themselves():
    for rank in (0, 4):
        with pytest.raises(ValueError, match="^rank:"):
            g.optimal_A(COV, rank=rank)
    with pytest.raises(ValueError, match="^loss:"):
        g.optimal_A(COV, "marginal")
    with pytest.raises(ValueError, match=r"^A: expected shape \(4, 3\)"):
        g.conditional_loss(np.zeros((3, 4)), COV)
    with pytest.raises(ValueError, match="^A: the model's u-marginal is not normalisable"):
        g.model_marginal_u(10 * g.optimal_A(COV), COV)
    with pytest.raises(ValueError, match="^direction:"):
        g.conditional_mean_error(g.optimal_A(COV), COV, "u")
    with pytest.raises(ValueError, match="^H:"):
        g.l2_one_sided_loss(np.zeros((2, 4)), np.zeros((3, 3)), COV)
    assert g.joint_loss(10 * g.optimal_A(COV), COV) == math.inf
    with pytest.raises(TypeError, match="^loss:"):
        fit_linear(COV, torch.nn.MSELoss(), 1)
