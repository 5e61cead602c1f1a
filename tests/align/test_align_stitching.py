"""Spec §7 checks 6-7: the stitching bound, its equality cases, the ridge and its leave-one-out pick."""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from latentalign import align
from latentalign.align.stitching import RIDGE_GRID


def _case(rng):
    """Random pair, sometimes rank-deficient, sometimes nearly linear, sometimes unrelated."""
    n = int(rng.integers(8, 60))
    d1, d2 = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    r1 = int(rng.integers(1, d1 + 1))
    X1 = rng.normal(size=(n, r1)) @ rng.normal(size=(r1, d1)) * rng.uniform(0.1, 10)
    X2 = X1 @ rng.normal(size=(d1, d2)) * rng.uniform(0, 1) + rng.normal(size=(n, d2)) * rng.uniform(0.01, 3)
    return X1 + rng.normal(size=d1) * 5, X2


def _rank_is_ambiguous(A, center):
    """A singular value within 3x of the rank cut-off max(n, d) eps s_max: e* jumps with the rank there."""
    s = np.linalg.svd(A - A.mean(0) if center else A, compute_uv=False)
    tol = max(A.shape) * np.finfo(float).eps * s[0]
    return bool(np.any((s > tol / 3) & (s < tol * 3)))


def _direct_error(A, B, center):
    """e* by least squares: the residual of projecting B's columns on A's."""
    if center:
        A, B = A - A.mean(0), B - B.mean(0)
    coef = np.linalg.lstsq(A, B, rcond=None)[0]
    return np.sum((B - A @ coef) ** 2) / np.sum(B**2)


@pytest.mark.parametrize("center", [True, False])
def test_bound_holds_on_500_random_cases_both_directions(center):
    rng = np.random.default_rng(0)
    for case in range(500):
        X1, X2 = _case(rng)
        r = align.stitch(X1, X2, ridge=1e-3, center=center)
        for d, (A, B) in ((r.forward, (X1, X2)), (r.backward, (X2, X1))):
            if not _rank_is_ambiguous(A, center):
                assert d.e_star == pytest.approx(_direct_error(A, B, center), abs=1e-8), case
            assert -1e-9 <= d.e_star <= 1 + 1e-9
            assert d.lower - 1e-9 <= d.e_star <= d.upper + 1e-9, (case, d.lower, d.e_star, d.upper)
        expected = align.cka(X1, X2) if center else align.ka(X1, X2)
        assert r.alignment == pytest.approx(expected, abs=1e-10)


def _whiten(Z, r):
    Zc = Z - Z.mean(0)
    U, _, _ = np.linalg.svd(Zc, full_matrices=False)
    return U[:, :r] * math.sqrt(Z.shape[0])  # C = U^T U = I_r on its range


def test_whitened_equality_cases():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(80, 6)), rng.normal(size=(80, 5))
    Y[:, :3] += X[:, :3] @ rng.normal(size=(3, 3))
    W1 = _whiten(X, 4)
    r = align.stitch(W1, Y, ridge=0.0, direction="1->2").forward
    Yc = Y - Y.mean(0)
    C22 = Yc.T @ Yc / 80
    expected = 1 - align.cka(W1, Y) * math.sqrt(4) * np.linalg.norm(C22) / np.trace(C22)
    assert r.kappa == pytest.approx(1.0, abs=1e-10)
    assert r.e_star == pytest.approx(expected, abs=1e-8)
    assert r.upper == pytest.approx(r.e_star, abs=1e-8) and r.lower == pytest.approx(r.e_star, abs=1e-8)
    W2 = _whiten(Y, 4)
    both = align.stitch(W1, W2, ridge=0.0)
    assert both.forward.e_star == pytest.approx(1 - align.cka(W1, W2), abs=1e-8)
    assert both.backward.e_star == pytest.approx(1 - align.cka(W1, W2), abs=1e-8)


def test_orthogonal_map_and_noise():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 5))
    Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    r = align.stitch(X, 3 * X @ Q + 1, ridge=0.0)
    assert r.alignment == pytest.approx(1.0, abs=1e-12)
    assert r.forward.e_star == pytest.approx(0.0, abs=1e-12) and r.backward.e_star == pytest.approx(0.0, abs=1e-12)
    prev_cka, prev_e = 1.0, 0.0
    for noise in (0.1, 0.5, 1.0, 3.0):
        r = align.stitch(X, X @ Q + noise * rng.normal(size=(200, 5)), ridge=0.0)
        assert r.alignment < prev_cka and r.forward.e_star > prev_e
        prev_cka, prev_e = r.alignment, r.forward.e_star


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("ridge", [1e-6, 1e-2, 0.5])
def test_ridge_equals_sklearn(center, ridge):
    rng = np.random.default_rng(3)
    X1, X2 = rng.normal(size=(50, 7)) + 2, rng.normal(size=(50, 4)) - 1
    X2 += X1[:, :4]
    s = align.fit_stitcher(X1, X2, ridge=ridge, center=center)
    n = X1.shape[0]
    A = X1 - X1.mean(0) if center else X1
    ridge_eff = ridge * np.trace(A.T @ A / n) / 7
    model = Ridge(alpha=n * ridge_eff, fit_intercept=center, solver="svd").fit(X1, X2)
    np.testing.assert_allclose(s.T.numpy(), model.coef_.T, atol=1e-8)
    X_new = rng.normal(size=(10, 7))
    np.testing.assert_allclose(s(X_new), model.predict(X_new), atol=1e-8)
    assert s.ridge_eff == pytest.approx(ridge_eff, rel=1e-12)


def _brute_force_loo(X1, X2, ridge, center):
    n = X1.shape[0]
    A = X1 - X1.mean(0) if center else X1
    alpha = n * ridge * np.trace(A.T @ A / n) / X1.shape[1]  # fixed from the full data, as in RidgeCV
    err = 0.0
    for i in range(n):
        keep = np.arange(n) != i
        m = Ridge(alpha=alpha, fit_intercept=center, solver="svd").fit(X1[keep], X2[keep])
        err += np.sum((X2[i] - m.predict(X1[i:i + 1])[0]) ** 2)
    return err


@pytest.mark.parametrize("center", [True, False])
def test_gcv_is_exact_leave_one_out(center):
    rng = np.random.default_rng(4)
    X1 = rng.normal(size=(25, 6)) @ np.diag([5, 3, 1, 0.3, 0.1, 0.01])
    X2 = X1[:, :3] @ rng.normal(size=(3, 2)) + 0.3 * rng.normal(size=(25, 2))
    grid = RIDGE_GRID[::4]
    curve = align.loo_curve(X1, X2, center=center, grid=grid)
    brute = [_brute_force_loo(X1, X2, ridge, center) for ridge in grid]
    np.testing.assert_allclose(curve, brute, rtol=1e-8)
    full = align.loo_curve(X1, X2, center=center)
    picked = align.stitch(X1, X2, center=center, direction="1->2").forward.stitcher.ridge
    assert picked == RIDGE_GRID[int(np.argmin(full))]


def test_held_out_error_and_task_penalty():
    rng = np.random.default_rng(5)
    X1, X2 = rng.normal(size=(120, 6)), rng.normal(size=(120, 4))
    X2[:, :2] += X1[:, :2]
    y = (X2[:, 0] > 0).astype(int) + (X2[:, 1] > 0).astype(int)
    head = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    r = align.stitch(X1[:80], X2[:80], ridge=1e-3, X1_test=X1[80:], X2_test=X2[80:], head=head, y=y[80:])
    pred = r.forward.stitcher(X1[80:])
    Zt = X2[80:]
    assert r.forward.e_test == pytest.approx(np.sum((Zt - pred) ** 2) / np.sum((Zt - Zt.mean(0)) ** 2), rel=1e-12)
    task = r.forward.task
    with torch.no_grad():
        native, stitched = head(torch.tensor(Zt)), head(torch.tensor(pred))
    yt = torch.tensor(y[80:])
    ce = torch.nn.functional.cross_entropy
    assert task.delta_ce == pytest.approx(float(ce(stitched, yt) - ce(native, yt)), abs=1e-10)
    acc = lambda o: float((o.argmax(1) == yt).double().mean())
    assert task.delta_acc == pytest.approx(acc(native) - acc(stitched))
    W1, W2 = head[0].weight.detach().numpy(), head[2].weight.detach().numpy()
    assert task.lipschitz == pytest.approx(np.linalg.norm(W1, 2) * np.linalg.norm(W2, 2), rel=1e-10)
    assert task.e_abs == pytest.approx(np.mean(np.sum((Zt - pred) ** 2, 1)), rel=1e-12)
    assert task.bound_holds and abs(task.delta_ce) <= task.ce_bound
    assert r.backward.task is None  # one head: only 1 -> 2 is scored
    assert align.head_lipschitz(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU())) is None


def test_stitching_bad_input():
    X = np.random.default_rng(6).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"^X2: expected the same number of samples"):
        align.stitch(X, X[:10])
    with pytest.raises(ValueError, match=r"^ridge:"):
        align.stitch(X, X, ridge=-1.0)
    with pytest.raises(ValueError, match=r"^direction:"):
        align.stitch(X, X, direction="sideways")
    with pytest.raises(ValueError, match=r"^X1_test: give X1_test and X2_test together"):
        align.stitch(X, X, X1_test=X)
    with pytest.raises(ValueError, match=r"^X2_test: expected 3 features"):
        align.stitch(X, X, X1_test=X, X2_test=X[:, :2])
    with pytest.raises(ValueError, match=r"^y: labels"):
        align.stitch(X, X, head=torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"^X1: every sample is identical"):
        align.stitch(np.ones((20, 3)), X)
    with pytest.raises(ValueError, match=r"^X: expected 3 features"):
        align.fit_stitcher(X, X)(X[:, :2])
