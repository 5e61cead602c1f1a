"""Seeded synthetic generators: determinism, geometry, statistics, argument checks, manifold distances."""

from __future__ import annotations

import numpy as np
import pytest

from latentalign.data import Dataset
from latentalign.data.synthetic import (
    gaussian_mixture,
    gaussian_pairs,
    ring,
    ring_distance,
    swiss_roll,
    swiss_roll_distance,
    torus,
    torus_distance,
)

SMALL = {
    "gaussian_mixture": lambda seed: gaussian_mixture(200, 8, seed=seed),
    "ring": lambda seed: ring(seed=seed),
    "torus": lambda seed: torus(seed=seed),
    "swiss_roll": lambda seed: swiss_roll(seed=seed),
    "gaussian_pairs": lambda seed: gaussian_pairs(200, 3, 4, [0.8, 0.2], seed=seed),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_seeded_determinism(name):
    a, b, c = SMALL[name](0), SMALL[name](0), SMALL[name](1)
    assert isinstance(a, Dataset) and a.name == name
    assert a.X.dtype == np.float32 and a.y.dtype == np.int64
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    for key in a.views:
        np.testing.assert_array_equal(a.views[key], b.views[key])
    assert not np.array_equal(a.X, c.X)


# ---------------------------------------------------------------- mixture


def test_gaussian_mixture_structure():
    n, dim = 4000, 64
    ds = gaussian_mixture(n, dim, spread=3.0, label_noise=0.05, seed=3)
    clean, comp = ds.views["clean_labels"], ds.views["component"]
    assert ds.X.shape == (n, dim)
    assert np.bincount(comp).tolist() == [n // 20] * 20  # even over 20 components
    np.testing.assert_array_equal(clean, comp // 2)
    flipped = ds.y != clean
    assert flipped.sum() == 200  # exactly 5%, always to another class
    assert ds.y.min() >= 0 and ds.y.max() <= 9
    X = ds.X.astype(np.float64)
    centres = np.stack([X[comp == c].mean(0) for c in range(20)])
    resid = X - centres[comp]
    assert abs(resid.std() - 1.0) < 0.02  # unit noise
    # centre coordinates ~ N(0, (3/sqrt2)^2); 1280 of them, std known to a few %
    assert abs(centres.std() - 3.0 / np.sqrt(2)) < 0.15


def test_gaussian_mixture_no_noise_and_other_class_counts():
    ds = gaussian_mixture(100, 2, n_classes=3, components_per_class=1, label_noise=0.0, seed=0)
    np.testing.assert_array_equal(ds.y, ds.views["clean_labels"])
    assert set(np.unique(ds.y)) == {0, 1, 2}


# ---------------------------------------------------------------- manifolds


def test_ring_on_unit_circle():
    ds, Q = ring(n=300, dim=10, noise=0.02, seed=0, return_basis=True)
    assert ds.X.shape == (300, 10) and Q.shape == (10, 2)
    np.testing.assert_allclose(Q.T @ Q, np.eye(2), atol=1e-12)
    P = ds.X.astype(np.float64) @ Q
    radius = np.linalg.norm(P, axis=1)
    assert np.abs(radius - 1).max() < 0.1 and np.abs(radius - 1).mean() < 0.03
    off = np.linalg.norm(ds.X - P @ Q.T, axis=1)
    assert abs(np.sqrt(np.mean(off**2)) - 0.02 * np.sqrt(8)) < 0.01
    theta = ds.views["latent"][:, 0]
    assert ds.views["latent"].shape == (300, 1) and theta.min() >= 0 and theta.max() < 2 * np.pi
    err = np.angle(np.exp(1j * (np.arctan2(P[:, 1], P[:, 0]) - theta)))
    assert np.abs(err).max() < 0.15
    np.testing.assert_array_equal(ds.y, np.floor(theta / (2 * np.pi) * 10).astype(int))
    # without noise the norm is exactly 1 in the full space
    clean = ring(n=50, dim=3, noise=0.0, seed=5)
    np.testing.assert_allclose(np.linalg.norm(clean.X, axis=1), 1.0, atol=1e-6)


def test_torus_geometry():
    ds, Q = torus(seed=2, noise=0.0, return_basis=True)
    assert ds.X.shape == (400, 20) and ds.views["latent"].shape == (400, 2)
    P = ds.X.astype(np.float64) @ Q
    np.testing.assert_allclose(np.linalg.norm(P[:, :2], axis=1), 1 / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(P[:, 2:], axis=1), 1 / np.sqrt(2), atol=1e-6)
    _, t2 = ds.views["latent"].T
    np.testing.assert_allclose(np.cos(t2) / np.sqrt(2), P[:, 2], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ds.X, axis=1), 1.0, atol=1e-6)


def test_swiss_roll_geometry():
    ds, Q = swiss_roll(seed=4, noise=0.0, return_basis=True)
    t, h = ds.views["latent"].T
    assert t.min() >= 1.5 * np.pi and t.max() <= 4.5 * np.pi and h.min() >= 0 and h.max() <= 21
    P = ds.X.astype(np.float64) @ Q * 10
    np.testing.assert_allclose(P, np.column_stack([t * np.cos(t), h, t * np.sin(t)]), atol=1e-4)
    assert ds.y.min() >= 0 and ds.y.max() <= 9
    noisy = swiss_roll(seed=4)
    assert 0.01 < np.abs(noisy.X - ds.X).std() < 0.03


# ---------------------------------------------------------------- Gaussian pairs


def _cca(x, y):
    x = x - x.mean(0)
    y = y - y.mean(0)
    n = x.shape[0]

    def inv_sqrt(C):
        w, V = np.linalg.eigh(C)
        return (V / np.sqrt(w)) @ V.T

    Cxx, Cyy, Cxy = x.T @ x / n, y.T @ y / n, x.T @ y / n
    return np.linalg.svd(inv_sqrt(Cxx) @ Cxy @ inv_sqrt(Cyy), compute_uv=False)


def test_gaussian_pairs_canonical_correlations():
    corrs = [0.9, 0.6, 0.3]
    ds = gaussian_pairs(100_000, 5, 4, corrs, seed=0)
    x, y = ds.views["x"].astype(np.float64), ds.views["y"].astype(np.float64)
    assert x.shape == (100_000, 5) and y.shape == (100_000, 4)
    np.testing.assert_array_equal(ds.X, np.hstack([ds.views["x"], ds.views["y"]]))
    assert not ds.y.any()
    np.testing.assert_allclose(_cca(x, y), [0.9, 0.6, 0.3, 0.0], atol=0.02)
    np.testing.assert_allclose(np.cov(x.T), np.eye(5), atol=0.02)


def test_gaussian_pairs_given_covariances():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 3))
    B = rng.normal(size=(2, 2))
    cov_x, cov_y = A @ A.T + 0.5 * np.eye(3), B @ B.T + 0.5 * np.eye(2)
    ds, (Cxx, Cxy, Cyy) = gaussian_pairs(100_000, 3, 2, [0.7, 0.4], seed=1,
                                         cov_x=cov_x, cov_y=cov_y, return_cov=True)
    np.testing.assert_allclose(Cxx, cov_x, atol=1e-12)
    np.testing.assert_allclose(Cyy, cov_y, atol=1e-12)
    x, y = ds.views["x"].astype(np.float64), ds.views["y"].astype(np.float64)
    np.testing.assert_allclose(_cca(x, y), [0.7, 0.4], atol=0.02)
    emp = np.cov(np.hstack([x, y]).T)
    scale = np.abs(emp).max()
    np.testing.assert_allclose(emp[:3, 3:], Cxy, atol=0.03 * scale)
    # population canonical correlations of the returned covariance are exact
    w, V = np.linalg.eigh(Cxx)
    ix = (V / np.sqrt(w)) @ V.T
    w, V = np.linalg.eigh(Cyy)
    iy = (V / np.sqrt(w)) @ V.T
    np.testing.assert_allclose(np.linalg.svd(ix @ Cxy @ iy, compute_uv=False), [0.7, 0.4], atol=1e-12)


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: gaussian_mixture(0, 4), ValueError, "n"),
        (lambda: gaussian_mixture(10, 0), ValueError, "dim"),
        (lambda: gaussian_mixture(10.0, 4), TypeError, "n"),
        (lambda: gaussian_mixture(10, 4, n_classes=1), ValueError, "n_classes"),
        (lambda: gaussian_mixture(10, 4, components_per_class=0), ValueError, "components_per_class"),
        (lambda: gaussian_mixture(10, 4, spread=0.0), ValueError, "spread"),
        (lambda: gaussian_mixture(10, 4, label_noise=1.5), ValueError, "label_noise"),
        (lambda: gaussian_mixture(10, 4, label_noise=-0.1), ValueError, "label_noise"),
        (lambda: gaussian_mixture(10, 4, seed=-1), ValueError, "seed"),
        (lambda: ring(n=0), ValueError, "n"),
        (lambda: ring(dim=1), ValueError, "dim"),
        (lambda: ring(noise=-0.1), ValueError, "noise"),
        (lambda: ring(noise=float("nan")), ValueError, "noise"),
        (lambda: torus(dim=3), ValueError, "dim"),
        (lambda: torus(n=-5), ValueError, "n"),
        (lambda: swiss_roll(dim=2), ValueError, "dim"),
        (lambda: swiss_roll(seed=1.5), TypeError, "seed"),
        (lambda: gaussian_pairs(0, 2, 2, [0.5]), ValueError, "n"),
        (lambda: gaussian_pairs(10, 0, 2, [0.5]), ValueError, "dim_x"),
        (lambda: gaussian_pairs(10, 2, 0, [0.5]), ValueError, "dim_y"),
        (lambda: gaussian_pairs(10, 2, 2, [1.0]), ValueError, "canonical_corrs"),
        (lambda: gaussian_pairs(10, 2, 2, [-0.1]), ValueError, "canonical_corrs"),
        (lambda: gaussian_pairs(10, 2, 3, [0.5, 0.4, 0.3]), ValueError, "canonical_corrs"),
        (lambda: gaussian_pairs(10, 2, 2, [[0.5]]), ValueError, "canonical_corrs"),
        (lambda: gaussian_pairs(10, 2, 2, [0.5], cov_x=np.eye(3)), ValueError, "cov_x"),
        (lambda: gaussian_pairs(10, 2, 2, [0.5], cov_y=-np.eye(2)), ValueError, "cov_y"),
        (lambda: gaussian_pairs(10, 2, 2, [0.5], cov_x=[[1, 0.5], [0, 1]]), ValueError, "cov_x"),
    ],
)
def test_bad_arguments_name_the_argument(call, exc, name):
    with pytest.raises(exc, match=rf"^{name}:"):
        call()


def test_zero_canonical_correlations_allowed():
    ds = gaussian_pairs(50, 2, 3, [], seed=0)
    assert ds.X.shape == (50, 5)


# ------------------------------------------------------------------ distances to the true manifolds
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
