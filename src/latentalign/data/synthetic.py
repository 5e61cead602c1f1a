"""Seeded synthetic data sets used by the studies, benchmarks and tests.

Every generator takes ``seed`` (a non-negative int fed to
``numpy.random.default_rng``): the same seed gives identical arrays. Sizes that
are not positive integers raise ``ValueError``/``TypeError`` naming the argument.

- :func:`gaussian_mixture`: the labelled Gaussian mixture of the LCC benchmark
  (``docs/lcc.md#lcc-benchmark``).
- :func:`ring`, :func:`torus`, :func:`swiss_roll`: noisy manifolds in a random
  orthonormal subspace (``docs/ksm.md#ksm-study``); true coordinates in
  ``views["latent"]``.
- :func:`gaussian_pairs`: jointly Gaussian ``(x, y)`` with prescribed canonical
  correlations (``docs/contrastive.md#eq-canonical``).

Examples
--------
>>> ds = ring(n=100, dim=5, seed=0)
>>> ds.X.shape, ds.views["latent"].shape
((100, 5), (100, 1))
>>> bool((ring(n=100, dim=5, seed=0).X == ds.X).all())
True
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_int, check_nonnegative, check_positive, check_seed
from ._dataset import Dataset

__all__ = ["gaussian_mixture", "ring", "torus", "swiss_roll", "gaussian_pairs", "ring_distance", "torus_distance",
           "swiss_roll_distance", "MANIFOLD_DISTANCE"]

N_BINS = 10
SWISS_T = (1.5 * np.pi, 4.5 * np.pi)  # the spiral's parameter range
SWISS_HEIGHT = 21.0
SWISS_SCALE = 0.1
CURVE_POINTS = 2000  # spiral samples for swiss_roll_distance


def _orthonormal(dim: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random ``(dim, k)`` matrix with orthonormal columns."""
    q, r = np.linalg.qr(rng.standard_normal((dim, k)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _bins(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.floor((values - lo) / (hi - lo) * N_BINS), 0, N_BINS - 1).astype(np.int64)


def gaussian_mixture(
    n: int,
    dim: int,
    n_classes: int = 10,
    components_per_class: int = 2,
    spread: float = 1.3,
    label_noise: float = 0.05,
    seed: int = 0,
) -> Dataset:
    """Labelled Gaussian mixture with label noise (LCC benchmark data).

    ``n_classes * components_per_class`` centres are drawn with i.i.d.
    coordinates ``N(0, (spread/sqrt 2)^2)``; samples are spread evenly over the
    components (a seeded permutation of ``arange(n) % n_components``) and get
    unit isotropic noise; component ``c`` belongs to class ``c //
    components_per_class``. Then exactly ``round(label_noise * n)`` samples,
    chosen at random, have their label moved to a uniformly chosen *other* class.

    Returns a :class:`Dataset` whose ``y`` holds the noisy labels and whose
    ``views`` hold side information: ``"clean_labels"`` (int64 ``(n,)``) and
    ``"component"`` (int64 ``(n,)``).

    Examples
    --------
    >>> ds = gaussian_mixture(1000, 8, seed=0)
    >>> ds.X.shape, float((ds.y != ds.views["clean_labels"]).mean())
    ((1000, 8), 0.05)
    """
    n = check_int(n, "n")
    dim = check_int(dim, "dim")
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    per = check_int(components_per_class, "components_per_class")
    spread = check_positive(spread, "spread")
    label_noise = check_nonnegative(label_noise, "label_noise")
    if label_noise > 1:
        raise ValueError(f"label_noise: must be a fraction in [0, 1], got {label_noise}")
    rng = np.random.default_rng(check_seed(seed))
    n_comp = n_classes * per
    centres = rng.normal(0.0, spread / math.sqrt(2.0), size=(n_comp, dim))
    component = rng.permutation(np.arange(n) % n_comp).astype(np.int64)
    X = rng.standard_normal((n, dim), dtype=np.float32)
    X += centres[component].astype(np.float32)
    clean = component // per
    y = clean.copy()
    n_flip = int(round(label_noise * n))
    flip = rng.choice(n, size=n_flip, replace=False)
    y[flip] = (y[flip] + rng.integers(1, n_classes, size=n_flip)) % n_classes
    description = (
        f"Gaussian mixture: {n_classes} classes x {per} components in {dim}-d, centre coordinates "
        f"N(0, ({spread}/sqrt2)^2), unit noise, {n_flip} labels ({label_noise:.0%}) flipped to "
        f"another class; seed {seed}."
    )
    return Dataset(
        "gaussian_mixture", X, y, description, views={"clean_labels": clean, "component": component}
    )


def _manifold(name, points, latent, bins, dim, noise, rng, Q, description, return_basis):
    X = points @ Q.T + noise * rng.standard_normal((points.shape[0], dim))
    ds = Dataset(name, X, bins, description, views={"latent": latent})
    return (ds, Q) if return_basis else ds


def _manifold_args(n, dim, noise, seed, min_dim):
    n = check_int(n, "n")
    dim = check_int(dim, "dim", minimum=min_dim)
    noise = check_nonnegative(noise, "noise")
    return n, dim, noise, np.random.default_rng(check_seed(seed))


def ring(n: int = 300, dim: int = 10, noise: float = 0.02, seed: int = 0, *, return_basis: bool = False):
    """Unit circle ``(cos t, sin t) Q^T`` in ``dim`` dimensions, plus ``N(0, noise^2)`` per coordinate.

    ``Q`` is a random ``(dim, 2)`` matrix with orthonormal columns, ``t ~ U[0, 2 pi)``.
    ``views["latent"]`` is ``t`` as float64 ``(n, 1)``; ``y`` is the angle bin
    ``floor(10 t / 2 pi)`` in 0..9 (for colouring, not a class). With
    ``return_basis=True`` returns ``(dataset, Q)``, so ``X @ Q`` recovers the
    circle (norms ``1 +- noise``).

    Examples
    --------
    >>> ds, Q = ring(seed=1, return_basis=True)
    >>> ds.X.shape, Q.shape
    ((300, 10), (10, 2))
    """
    n, dim, noise, rng = _manifold_args(n, dim, noise, seed, 2)
    Q = _orthonormal(dim, 2, rng)
    t = rng.uniform(0.0, 2 * np.pi, size=n)
    points = np.column_stack([np.cos(t), np.sin(t)])
    desc = f"ring: unit circle in a random 2-plane of R^{dim}, noise {noise}, seed {seed}; y = angle bin."
    return _manifold("ring", points, t[:, None], _bins(t, 0, 2 * np.pi), dim, noise, rng, Q, desc, return_basis)


def torus(n: int = 400, dim: int = 20, noise: float = 0.02, seed: int = 0, *, return_basis: bool = False):
    """Flat torus ``(cos t1, sin t1, cos t2, sin t2) Q^T / sqrt 2`` plus ``N(0, noise^2)`` noise.

    ``Q`` is a random ``(dim, 4)`` orthonormal matrix, ``t1, t2 ~ U[0, 2 pi)``.
    ``views["latent"]`` is ``(t1, t2)`` float64 ``(n, 2)``; ``y`` is the bin of
    ``t1`` (0..9). ``return_basis=True`` returns ``(dataset, Q)``.
    """
    n, dim, noise, rng = _manifold_args(n, dim, noise, seed, 4)
    Q = _orthonormal(dim, 4, rng)
    t = rng.uniform(0.0, 2 * np.pi, size=(n, 2))
    points = np.column_stack([np.cos(t[:, 0]), np.sin(t[:, 0]), np.cos(t[:, 1]), np.sin(t[:, 1])])
    points /= math.sqrt(2.0)
    desc = f"torus: flat torus in a random 4-d subspace of R^{dim}, noise {noise}, seed {seed}; y = bin of t1."
    return _manifold("torus", points, t, _bins(t[:, 0], 0, 2 * np.pi), dim, noise, rng, Q, desc, return_basis)


def swiss_roll(n: int = 400, dim: int = 20, noise: float = 0.02, seed: int = 0, *, return_basis: bool = False):
    """Swiss roll ``(t cos t, h, t sin t) Q^T / 10`` plus ``N(0, noise^2)`` noise.

    ``t = 1.5 pi (1 + 2u)``, ``h = 21 u'`` with ``u, u' ~ U[0, 1]``; ``Q`` is a
    random ``(dim, 3)`` orthonormal matrix. ``views["latent"]`` is ``(t, h)``
    float64 ``(n, 2)``; ``y`` is the bin of ``t`` over ``[1.5 pi, 4.5 pi]`` (0..9).
    ``return_basis=True`` returns ``(dataset, Q)``.
    """
    n, dim, noise, rng = _manifold_args(n, dim, noise, seed, 3)
    Q = _orthonormal(dim, 3, rng)
    u = rng.uniform(0.0, 1.0, size=(n, 2))
    t = SWISS_T[0] + (SWISS_T[1] - SWISS_T[0]) * u[:, 0]
    h = SWISS_HEIGHT * u[:, 1]
    points = np.column_stack([t * np.cos(t), h, t * np.sin(t)]) * SWISS_SCALE
    desc = f"swiss roll in a random 3-d subspace of R^{dim}, scaled 1/10, noise {noise}, seed {seed}; y = bin of t."
    latent = np.column_stack([t, h])
    bins = _bins(t, *SWISS_T)
    return _manifold("swiss_roll", points, latent, bins, dim, noise, rng, Q, desc, return_basis)


# --------------------------------------------------------------------------- distances to the manifolds
# The point is split into its coordinates in the manifold's subspace, ``y = x Q``, and the
# off-subspace remainder ``x - y Q^T`` (``Q`` from ``return_basis=True``); then
# ring ``sqrt((||y|| - 1)^2 + ||off||^2)``; torus ``sqrt((||y_12|| - r)^2 + (||y_34|| - r)^2
# + ||off||^2)``, ``r = 1/sqrt 2``; swiss roll: in-plane distance to the spiral (sampled at
# CURVE_POINTS), the height's distance to its range and the off-subspace norm, in quadrature.
def _split(X, Q):
    X = np.asarray(X, dtype=np.float64)
    Y = X @ Q
    off = X - Y @ Q.T
    return Y, (off * off).sum(1)


def ring_distance(X, Q) -> np.ndarray:
    """Distance of each row of ``X`` to the unit circle spanned by the columns of ``Q`` (dim x 2).

    >>> ring_distance(np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.5]]), np.eye(3)[:, :2]).tolist()
    [1.0, 0.5]
    """
    Y, off2 = _split(X, Q)
    return np.sqrt((np.sqrt((Y * Y).sum(1)) - 1.0) ** 2 + off2)


def torus_distance(X, Q) -> np.ndarray:
    """Distance to the flat torus ``(cos t1, sin t1, cos t2, sin t2) Q^T / sqrt 2``."""
    Y, off2 = _split(X, Q)
    r = 1.0 / np.sqrt(2.0)
    d1 = np.sqrt((Y[:, :2] ** 2).sum(1)) - r
    d2 = np.sqrt((Y[:, 2:] ** 2).sum(1)) - r
    return np.sqrt(d1 * d1 + d2 * d2 + off2)


def swiss_roll_distance(X, Q, *, curve_points: int = CURVE_POINTS) -> np.ndarray:
    """Distance to the swiss roll ``(t cos t, h, t sin t) Q^T / 10`` (spiral sampled at ``curve_points``)."""
    Y, off2 = _split(X, Q)
    t = np.linspace(*SWISS_T, curve_points)
    curve = np.column_stack([t * np.cos(t), t * np.sin(t)]) * SWISS_SCALE
    plane = Y[:, [0, 2]]
    d2 = (plane * plane).sum(1)[:, None] - 2.0 * plane @ curve.T + (curve * curve).sum(1)[None]
    height = Y[:, 1] - np.clip(Y[:, 1], 0.0, SWISS_HEIGHT * SWISS_SCALE)
    return np.sqrt(np.clip(d2.min(1), 0.0, None) + height * height + off2)


MANIFOLD_DISTANCE = {"ring": ring_distance, "torus": torus_distance, "swiss_roll": swiss_roll_distance}


def _check_cov(cov, dim: int, name: str) -> np.ndarray:
    C = np.asarray(cov, dtype=np.float64)
    if C.shape != (dim, dim):
        raise ValueError(f"{name}: expected shape ({dim}, {dim}), got {C.shape}")
    if not np.all(np.isfinite(C)):
        raise ValueError(f"{name}: contains non-finite values")
    if not np.allclose(C, C.T, rtol=0, atol=1e-10 * max(np.abs(C).max(), 1e-300)):
        raise ValueError(f"{name}: must be symmetric")
    w, V = np.linalg.eigh((C + C.T) / 2)
    if w.min() <= 0:
        raise ValueError(f"{name}: must be positive definite (smallest eigenvalue {w.min():.3g})")
    return (V * np.sqrt(w)) @ V.T


def gaussian_pairs(
    n: int,
    dim_x: int,
    dim_y: int,
    canonical_corrs,
    seed: int = 0,
    *,
    cov_x=None,
    cov_y=None,
    return_cov: bool = False,
):
    """Jointly Gaussian pairs ``(x, y)`` with prescribed canonical correlations.

    In whitened coordinates ``a ~ N(0, I_dx)``, ``b ~ N(0, I_dy)`` with
    ``corr(a_i, b_i) = canonical_corrs[i]`` for ``i < r`` and every other pair
    independent; then ``x = C_xx^{1/2} a`` and ``y = C_yy^{1/2} b`` (symmetric
    roots; identity by default). So the marginal covariances are ``cov_x`` and
    ``cov_y``, the cross-covariance is ``C_xx^{1/2} D C_yy^{1/2}`` with ``D`` the
    ``dx x dy`` diagonal of correlations, and the canonical correlations of
    ``(x, y)`` are exactly ``canonical_corrs`` (plus zeros).

    ``canonical_corrs``: ``r <= min(dim_x, dim_y)`` values in ``[0, 1)``.
    Returns a :class:`Dataset` with ``views={"x": (n, dx), "y": (n, dy)}``
    (float32), ``X = [x, y]`` and ``y`` all zeros (no classes). With
    ``return_cov=True`` returns ``(dataset, (C_xx, C_xy, C_yy))`` in float64.

    Examples
    --------
    >>> ds, (Cxx, Cxy, Cyy) = gaussian_pairs(1000, 3, 2, [0.9, 0.5], return_cov=True)
    >>> ds.views["x"].shape, ds.views["y"].shape, Cxy.shape
    ((1000, 3), (1000, 2), (3, 2))
    """
    n = check_int(n, "n")
    dim_x = check_int(dim_x, "dim_x")
    dim_y = check_int(dim_y, "dim_y")
    try:
        corrs = np.atleast_1d(np.asarray(canonical_corrs, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError("canonical_corrs: expected a sequence of numbers") from None
    if corrs.ndim != 1:
        raise ValueError(f"canonical_corrs: expected a 1-D sequence, got shape {corrs.shape}")
    if not np.all(np.isfinite(corrs)) or np.any(corrs < 0) or np.any(corrs >= 1):
        raise ValueError(f"canonical_corrs: every value must be in [0, 1), got {corrs.tolist()}")
    r = corrs.size
    if r > min(dim_x, dim_y):
        raise ValueError(
            f"canonical_corrs: at most min(dim_x, dim_y) = {min(dim_x, dim_y)} values, got {r}"
        )
    Lx = np.eye(dim_x) if cov_x is None else _check_cov(cov_x, dim_x, "cov_x")
    Ly = np.eye(dim_y) if cov_y is None else _check_cov(cov_y, dim_y, "cov_y")
    rng = np.random.default_rng(check_seed(seed))
    a = rng.standard_normal((n, dim_x))
    b = rng.standard_normal((n, dim_y))
    b[:, :r] = corrs * a[:, :r] + np.sqrt(1.0 - corrs**2) * b[:, :r]
    x = (a @ Lx.T).astype(np.float32)
    y = (b @ Ly.T).astype(np.float32)
    desc = (
        f"Gaussian pairs: x in R^{dim_x}, y in R^{dim_y}, canonical correlations "
        f"{[round(float(c), 6) for c in corrs]}, seed {seed}."
    )
    ds = Dataset(
        "gaussian_pairs", np.hstack([x, y]), np.zeros(n, dtype=np.int64), desc, views={"x": x, "y": y}
    )
    if not return_cov:
        return ds
    D = np.zeros((dim_x, dim_y))
    D[np.arange(r), np.arange(r)] = corrs
    return ds, (Lx @ Lx.T, Lx @ D @ Ly.T, Ly @ Ly.T)
