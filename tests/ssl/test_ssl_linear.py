"""Closed forms of linear SSL (spec ssl.md §1, checks 1-3): optimal values, row spaces, Lemma B.1."""

import numpy as np
import pytest
import torch

from latentalign.ssl.linear import (
    inv_sqrt_psd,
    joint_embedding_closed_form,
    joint_embedding_objective,
    principal_angles,
    reconstruction_closed_form,
    reconstruction_objective,
    second_moment,
    subspace_overlap,
    supervised_closed_form,
    supervised_objective,
)

N, D, K = 1000, 12, 3


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)) @ rng.normal(size=(D, D)) + rng.normal(size=D)
    A = rng.normal(size=(D, D))
    Sigma = A @ A.T / D + 0.1 * np.eye(D)
    Y = rng.normal(size=(N, 2)) + X[:, :2]
    return X, Sigma, Y


def _lbfgs(params, objective, iters=3):
    opt = torch.optim.LBFGS(params, lr=1, max_iter=5000, tolerance_grad=1e-14, tolerance_change=1e-16,
                            history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        value = objective()
        value.backward()
        return value

    for _ in range(iters):
        opt.step(closure)
    return objective().item()


# ---------------------------------------------------------------- reconstruction (Thm 3.1)
def test_reconstruction_value_is_the_closed_form_optimum(problem):
    X, Sigma, _ = problem
    sol = reconstruction_closed_form(X, Sigma, K)
    # the optimum by Lemma B.1 equals Tr(XᵀX)/n − Σφ² computed from an independent SVD
    S = X.T @ X / N + Sigma
    lam, U = np.linalg.eigh(S)
    phi = np.linalg.svd(X.T @ X / N @ (U / np.sqrt(lam)) @ U.T, compute_uv=False)
    expected = np.trace(X.T @ X) / N - np.sum(phi[:K] ** 2)
    assert sol.objective == pytest.approx(expected, rel=1e-10)
    assert reconstruction_objective(sol.E, sol.D, X, Sigma) == pytest.approx(expected, rel=1e-10)
    # invariance under E -> TE, D -> DT^{-1}
    T = np.random.default_rng(1).normal(size=(K, K)) + 3 * np.eye(K)
    value_T = reconstruction_objective(T @ sol.E, sol.D @ np.linalg.inv(T), X, Sigma)
    assert value_T == pytest.approx(expected, rel=1e-10)


def test_reconstruction_lemma_b1_matches_monte_carlo(problem):
    X, Sigma, _ = problem
    sol = reconstruction_closed_form(X, Sigma, K)
    rng = np.random.default_rng(2)
    L = np.linalg.cholesky(Sigma)
    M = sol.D @ sol.E
    draws = [np.mean(np.sum((X - (X + rng.normal(size=X.shape) @ L.T) @ M.T) ** 2, axis=1)) for _ in range(200)]
    assert np.mean(draws) == pytest.approx(sol.objective, rel=0.02)


def test_no_random_or_adam_encoder_beats_the_reconstruction_optimum(problem):
    X, Sigma, _ = problem
    best = reconstruction_closed_form(X, Sigma, K).objective
    rng = np.random.default_rng(3)
    values = [reconstruction_objective(rng.normal(size=(K, D)), rng.normal(size=(D, K)) * 0.3, X, Sigma)
              for _ in range(1000)]
    assert min(values) >= best
    gen = torch.Generator().manual_seed(0)
    E = torch.randn(K, D, dtype=torch.float64, generator=gen).mul_(0.1).requires_grad_()
    Dm = torch.randn(D, K, dtype=torch.float64, generator=gen).mul_(0.1).requires_grad_()
    opt = torch.optim.Adam([E, Dm], lr=0.02)
    Xt, St = torch.as_tensor(X), torch.as_tensor(Sigma)
    seen = []
    for _ in range(1500):
        opt.zero_grad()
        value = reconstruction_objective(E, Dm, Xt, St)
        value.backward()
        opt.step()
        seen.append(value.item())
    assert min(seen) >= best * (1 - 1e-12)
    assert seen[-1] == pytest.approx(best, rel=1e-3)  # and Adam does get there


def test_gradient_descent_on_reconstruction_reaches_the_closed_form_row_space(problem):
    X, Sigma, _ = problem
    sol = reconstruction_closed_form(X, Sigma, K)
    gen = torch.Generator().manual_seed(1)
    E = torch.randn(K, D, dtype=torch.float64, generator=gen).requires_grad_()
    Dm = torch.randn(D, K, dtype=torch.float64, generator=gen).requires_grad_()
    Xt, St = torch.as_tensor(X), torch.as_tensor(Sigma)
    value = _lbfgs([E, Dm], lambda: reconstruction_objective(E, Dm, Xt, St))
    assert value == pytest.approx(sol.objective, rel=1e-10)
    assert principal_angles(E.detach(), sol.E).max() < 1e-3


def test_reconstruction_target_can_differ_from_the_mean(problem):
    X, Sigma, _ = problem
    target = X @ np.diag(np.linspace(0.5, 1.5, D))
    sol = reconstruction_closed_form(X, Sigma, K, X=target)
    assert reconstruction_objective(sol.E, sol.D, X, Sigma, X=target) == pytest.approx(sol.objective, rel=1e-10)
    assert sol.objective < reconstruction_objective(*reconstruction_closed_form(X, Sigma, K)[:2], X, Sigma, X=target)


# ---------------------------------------------------------------- joint embedding (Thm 3.2)
def test_joint_embedding_is_whitened_with_the_closed_form_invariance(problem):
    X, Sigma, _ = problem
    sol = joint_embedding_closed_form(X, Sigma, K)
    S = second_moment(X, Sigma)
    assert np.abs(sol.W @ S @ sol.W.T - np.eye(K)).max() < 1e-10
    assert 2 * np.trace(sol.W @ Sigma @ sol.W.T) == pytest.approx(2 * (K - sol.eigenvalues[:K].sum()), rel=1e-10)
    assert joint_embedding_objective(sol.W, Sigma) == pytest.approx(sol.objective, rel=1e-10)
    assert np.all(np.diff(sol.eigenvalues) <= 0) and 0 <= sol.eigenvalues.min() and sol.eigenvalues.max() <= 1


def test_joint_embedding_invariance_matches_monte_carlo(problem):
    X, Sigma, _ = problem
    sol = joint_embedding_closed_form(X, Sigma, K)
    rng = np.random.default_rng(4)
    L = np.linalg.cholesky(Sigma)
    draws = []
    for _ in range(200):
        v1 = X + rng.normal(size=X.shape) @ L.T
        v2 = X + rng.normal(size=X.shape) @ L.T
        draws.append(np.mean(np.sum(((v1 - v2) @ sol.W.T) ** 2, axis=1)))
    assert np.mean(draws) == pytest.approx(sol.objective, rel=0.02)


def test_no_whitened_encoder_has_lower_invariance(problem):
    X, Sigma, _ = problem
    sol = joint_embedding_closed_form(X, Sigma, K)
    S_mh = inv_sqrt_psd(second_moment(X, Sigma))
    rng = np.random.default_rng(5)
    for _ in range(300):
        U = np.linalg.qr(rng.normal(size=(D, K)))[0].T  # orthonormal rows: U S^{-1/2} is feasible
        assert joint_embedding_objective(U @ S_mh, Sigma) >= sol.objective - 1e-12


def test_gradient_descent_on_penalised_joint_embedding_reaches_the_row_space(problem):
    X, Sigma, _ = problem
    sol = joint_embedding_closed_form(X, Sigma, K)
    S = torch.as_tensor(second_moment(X, Sigma))
    W = torch.randn(K, D, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).mul_(0.1)
    W.requires_grad_()
    St = torch.as_tensor(Sigma)
    _lbfgs([W], lambda: joint_embedding_objective(W, St) + 10 * ((W @ S @ W.T - torch.eye(K)) ** 2).sum())
    assert principal_angles(W.detach(), sol.W).max() < 1e-3


def test_rows_follow_the_sign_convention(problem):
    X, Sigma, _ = problem
    for M in (joint_embedding_closed_form(X, Sigma, K).W, reconstruction_closed_form(X, Sigma, K).E):
        assert np.all(M[np.arange(K), np.abs(M).argmax(axis=1)] > 0)


# ---------------------------------------------------------------- supervised (Lemma B.1)
def test_supervised_closed_form_is_the_minimiser_and_lemma_b1_holds(problem):
    X, Sigma, Y = problem
    V = supervised_closed_form(X, Y, Sigma)
    Vt = torch.tensor(V, requires_grad=True)
    supervised_objective(Vt, X, Y, Sigma).backward()
    assert Vt.grad.abs().max() < 1e-10
    rng = np.random.default_rng(6)
    L = np.linalg.cholesky(Sigma)
    draws = [np.mean(np.sum((Y - (X + rng.normal(size=X.shape) @ L.T) @ V.T) ** 2, axis=1)) for _ in range(200)]
    assert np.mean(draws) == pytest.approx(supervised_objective(V, X, Y, Sigma), rel=0.02)


# ---------------------------------------------------------------- subspaces and bad input
def test_subspace_helpers_on_hand_examples():
    M = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    assert subspace_overlap(M, np.eye(3)[:, :2]) == pytest.approx(0.75)
    assert subspace_overlap(3 * M, np.eye(3)) == pytest.approx(1.0)
    angles = principal_angles(np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]]))
    assert angles == pytest.approx([np.pi / 4])
    assert principal_angles(M, np.array([[2.0, 1.0, 1.0], [0.0, 3.0, 3.0]])).max() < 1e-7


def test_bad_inputs_raise_naming_the_argument():
    X = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ValueError, match=r"^Sigma: S = X̄ᵀX̄/n \+ Σ is not positive definite"):
        joint_embedding_closed_form(np.c_[X, np.zeros(50)], np.zeros((5, 5)), 2)
    with pytest.raises(ValueError, match="^Sigma: expected a \\(4, 4\\)"):
        reconstruction_closed_form(X, np.eye(3), 2)
    with pytest.raises(ValueError, match="^Sigma: expected a symmetric"):
        reconstruction_closed_form(X, np.triu(np.ones((4, 4))), 2)
    with pytest.raises(ValueError, match="^k: must be <= 4"):
        joint_embedding_closed_form(X, np.eye(4), 5)
    with pytest.raises(ValueError, match="^Xbar: contains"):
        joint_embedding_closed_form(np.full((3, 4), np.nan), np.eye(4), 1)
    with pytest.raises(ValueError, match="^Y: expected 50 rows"):
        supervised_closed_form(X, np.ones((49, 1)), np.eye(4))


def test_degenerate_spectrum_warns():
    X = np.eye(6)
    with pytest.warns(RuntimeWarning, match="not unique"):
        joint_embedding_closed_form(X, 0.5 * np.eye(6), 2)
