r"""The data, corruption and augmentation model of Van Assel et al. (2025), Sec. 4.1.

Clean data ``X = LKQᵀ``: the first ``k`` columns of ``Q`` span the signal, with
variances ``s_i``. Each sample is corrupted once, ``x̃_i = x_i + γ_i`` with
``γ_i ~ N(0, Γ)``, ``Γ = QΛ_ΓQᵀ`` zero on the signal and positive on the other
``d − k`` components. Augmentations ``τ(x) = x + θ + αγ`` draw ``θ ~ N(0, Θ)``
(``Θ = QΛ_ΘQᵀ``) and a fresh ``γ ~ N(0, Γ)``: the strength ``α`` says how well the
augmentation is aligned with the noise. So ``X̄ = X̃`` and ``Σ = Θ + α²Γ``.

:func:`make_linear_dataset` builds the paper's real-data experiment: centre on the
training mean, PCA (fit on train) to ``k`` coordinates, append ``n_noise`` zero
coordinates (``Q = I``), and draw per seed ``λ^Θ_i ~ U[0, theta_max·u]`` on every
coordinate and ``λ^Γ_i ~ U[0, gamma_max·u]`` on the noise coordinates, with
``u = s_k`` the smallest retained signal variance. (The paper, on MNIST PCA-50 plus
50 noise dimensions, used absolute ``λ^Θ_max = 10⁴`` and ``λ^Γ_max ∈ {10³, 10⁶}``.)

The example is :class:`LinearNoiseModel`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import as_matrix, check_choice, check_int, check_nonnegative, check_seed
from .theory import AlignmentThresholds, _vector, alignment_thresholds

__all__ = ["LinearNoiseModel", "LinearDataset", "gaussian_signal", "draw_variances", "make_linear_dataset",
           "SOURCES"]

SOURCES = ("digits", "mnist1d", "synthetic")


class LinearNoiseModel:
    """Signal plus structured noise plus aligned augmentations (the paper's linear model).

    Parameters
    ----------
    signal_var : array-like of shape (k,)
        Signal variances ``s_i > 0``.
    theta : float or array-like of shape (d,)
        Augmentation variances ``λ^Θ >= 0``.
    gamma_noise : array-like of shape (d - k,)
        Corruption variances ``λ^Γ > 0`` of the noise components.
    Q : array-like of shape (d, d), optional
        The orthogonal basis of the components (default the identity).

    Examples
    --------
    >>> import numpy as np
    >>> m = LinearNoiseModel(np.linspace(1, 3, 5), theta=0.5, gamma_noise=np.full(15, 3.0))
    >>> m.d, m.k, float(m.Sigma(alpha=1.0)[19, 19])
    (20, 5, 3.5)
    >>> round(m.thresholds().alpha2_rc, 4)
    3.3333
    """

    def __init__(self, signal_var, theta, gamma_noise, Q=None):
        self.signal_var = _vector(signal_var, "signal_var", positive=True)
        self.gamma_noise = _vector(gamma_noise, "gamma_noise", positive=True)
        self.k = self.signal_var.size
        self.d = self.k + self.gamma_noise.size
        self.theta = _vector(theta, "theta", self.d)
        if Q is None:
            self.Q = np.eye(self.d)
        else:
            self.Q = as_matrix(Q, "Q").detach().cpu().numpy()
            if self.Q.shape != (self.d, self.d):
                raise ValueError(f"Q: expected a ({self.d}, {self.d}) matrix, got {self.Q.shape}")
            if not np.allclose(self.Q.T @ self.Q, np.eye(self.d), atol=1e-8):
                raise ValueError("Q: expected an orthogonal matrix (QᵀQ = I)")

    @property
    def gamma(self) -> np.ndarray:
        """``λ^Γ`` on all ``d`` components (zero on the signal)."""
        return np.concatenate([np.zeros(self.k), self.gamma_noise])

    @property
    def signal_basis(self) -> np.ndarray:
        """``Q_1`` (d, k): the columns spanning the signal."""
        return self.Q[:, : self.k]

    @property
    def Theta(self) -> np.ndarray:
        """Augmentation covariance on the signal components ``Θ = Q diag(θ) Qᵀ`` ``(d, d)``."""
        return (self.Q * self.theta) @ self.Q.T

    @property
    def Gamma(self) -> np.ndarray:
        """Noise covariance ``Γ = Q diag(γ) Qᵀ`` ``(d, d)``."""
        return (self.Q * self.gamma) @ self.Q.T

    def Sigma(self, alpha: float) -> np.ndarray:
        """The augmentation covariance ``Σ = Θ + α²Γ``."""
        return (self.Q * (self.theta + check_nonnegative(alpha, "alpha") ** 2 * self.gamma)) @ self.Q.T

    def clean_encoder(self) -> np.ndarray:
        """``(K_1²/n + Λ_{Θ,1})^{-1/2} Q_1ᵀ`` (k, d): the clean limit of ``E*`` and ``W*`` (up to T/U)."""
        return self.signal_basis.T / np.sqrt(self.signal_var + self.theta[: self.k])[:, None]

    def thresholds(self) -> AlignmentThresholds:
        """:func:`~latentalign.ssl.theory.alignment_thresholds` of this model."""
        return alignment_thresholds(self.signal_var, self.theta[: self.k], self.theta[self.k :], self.gamma_noise)

    def _draw(self, variances: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        return (rng.standard_normal((n, self.d)) * np.sqrt(variances)) @ self.Q.T

    def _data(self, X) -> np.ndarray:
        A = as_matrix(X, "X").detach().cpu().numpy()
        if A.shape[1] != self.d:
            raise ValueError(f"X: expected {self.d} features, got {A.shape[1]}")
        return A

    def corrupt(self, X, seed: int) -> np.ndarray:
        """``X + γ``: one fixed draw ``γ_i ~ N(0, Γ)`` per sample."""
        A = self._data(X)
        return A + self._draw(self.gamma, A.shape[0], np.random.default_rng(check_seed(seed)))

    def augment(self, X, alpha: float, seed: int) -> np.ndarray:
        """``τ(X) = X + θ + αγ``, fresh ``θ ~ N(0, Θ)``, ``γ ~ N(0, Γ)`` per row."""
        A = self._data(X)
        var = self.theta + check_nonnegative(alpha, "alpha") ** 2 * self.gamma
        return A + self._draw(var, A.shape[0], np.random.default_rng(check_seed(seed)))


def gaussian_signal(n: int, signal_var, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` Gaussian signal vectors with variances ``signal_var`` (n, k) and 4 labels, the
    quadrant of components 0 and 1: ``y = 2·[z_0 > 0] + [z_1 > 0]``.

    >>> Z, y = gaussian_signal(1000, [1.0, 2.0], seed=0)
    >>> Z.shape, sorted(set(y.tolist()))
    ((1000, 2), [0, 1, 2, 3])
    """
    n = check_int(n, "n")
    s = _vector(signal_var, "signal_var", positive=True)
    if s.size < 2:
        raise ValueError("signal_var: needs at least 2 components (labels come from components 0 and 1)")
    Z = np.random.default_rng(check_seed(seed)).standard_normal((n, s.size)) * np.sqrt(s)
    return Z, (2 * (Z[:, 0] > 0) + (Z[:, 1] > 0)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class LinearDataset:
    """A signal-plus-noise data set in the model's coordinates (``Q = I``).

    ``X_train``/``X_test``: clean ``(n, k + n_noise)`` (noise coordinates zero);
    ``Xc_train``/``Xc_test``: corrupted, independent draws on each side; ``model``:
    the :class:`LinearNoiseModel` (its ``signal_var`` are the training PCA variances).

    Attributes
    ----------
    name : str
        The source.
    X_train, X_test : numpy.ndarray of shape (n, k + n_noise)
        Clean rows (noise coordinates zero).
    y_train, y_test : numpy.ndarray of shape (n,)
        Labels.
    Xc_train, Xc_test : numpy.ndarray of shape (n, k + n_noise)
        Corrupted rows, independent draws on each side.
    model : LinearNoiseModel
        The model (its ``signal_var`` are the training PCA variances).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    Xc_train: np.ndarray
    Xc_test: np.ndarray
    model: LinearNoiseModel


def _source(source: str, seed: int, n_train: int | None):
    """``(X_train, y_train, X_test, y_test)`` of a real source, or a synthetic signal."""
    from sklearn.model_selection import train_test_split

    if source == "digits":
        from ..data import digits

        ds = digits()
        X_tr, X_te, y_tr, y_te = train_test_split(
            ds.X.astype(np.float64), ds.y, train_size=n_train or 1200, stratify=ds.y, random_state=seed
        )
        return X_tr, y_tr, X_te, y_te
    from ..data import mnist1d

    ds = mnist1d()
    tr, te = ds.split["train"], ds.split["test"]
    if n_train is not None:
        tr = tr[: check_int(n_train, "n_train", maximum=tr.size)]
    return ds.X[tr].astype(np.float64), ds.y[tr], ds.X[te].astype(np.float64), ds.y[te]


def draw_variances(signal_var, n_noise: int, gamma_max: float, theta_max: float, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Draw the per-seed variances of :func:`make_linear_dataset`, relative to ``u = min_i s_i``.

    ``λ^Θ_i ~ U[0, theta_max·u]`` on all ``k + n_noise`` components and
    ``λ^Γ_i ~ U[0, gamma_max·u]`` on the noise ones, from the generator seeded
    ``[seed, 1]``. The thresholds of :mod:`~latentalign.ssl.theory` are functions of
    these draws, so they vary from seed to seed at a fixed spectrum.

    Parameters
    ----------
    signal_var : array_like, shape (k,)
        Signal variances ``s_i > 0``.
    n_noise : int
        Number of noise components ``m``.
    gamma_max, theta_max : float
        Upper ends of the corruption and augmentation draws, in units of ``u``.
    seed : int
        Seed of the draws.

    Returns
    -------
    theta : ndarray, shape (k + m,)
        ``λ^Θ`` (signal components first).
    gamma : ndarray, shape (m,)
        ``λ^Γ`` of the noise components (> 0).

    Examples
    --------
    >>> theta, gamma = draw_variances([4.0, 2.0], n_noise=3, gamma_max=10.0, theta_max=1.0, seed=0)
    >>> theta.shape, gamma.shape, bool(theta.max() <= 2.0), bool(gamma.max() <= 20.0)
    ((5,), (3,), True, True)
    """
    s = _vector(signal_var, "signal_var", positive=True)
    n_noise = check_int(n_noise, "n_noise")
    gamma_max = check_nonnegative(gamma_max, "gamma_max")
    theta_max = check_nonnegative(theta_max, "theta_max")
    rng = np.random.default_rng([check_seed(seed), 1])
    u = float(s.min())
    theta = rng.uniform(0.0, theta_max * u, size=s.size + n_noise)
    gamma = rng.uniform(0.0, gamma_max * u, size=n_noise)
    return theta, np.maximum(gamma, np.finfo(float).tiny)  # U[0, ·] is > 0 almost surely


def make_linear_dataset(
    source: str = "digits",
    k: int = 20,
    n_noise: int = 20,
    gamma_max: float = 1.0,
    theta_max: float = 1.0,
    seed: int = 0,
    *,
    n_train: int | None = None,
    n_test: int = 4000,
) -> LinearDataset:
    """Signal (PCA-``k`` of a real source, or a Gaussian signal) plus ``n_noise`` corrupted coordinates.

    ``source``: ``"digits"`` (stratified split, ``n_train`` default 1200, rest test),
    ``"mnist1d"`` (its 4000/1000 split; ``n_train`` keeps the first rows) or
    ``"synthetic"`` (:func:`gaussian_signal`, ``s = linspace(1, 3, k)``, 4 quadrant
    classes, ``n_train`` default 4000, ``n_test`` test rows). Noise variances are
    drawn as in the module docstring; ``seed`` fixes the split, the variances and
    the corruption draws.

    Parameters
    ----------
    source : {"digits", "mnist1d", "synthetic"}, default "digits"
        Where the signal comes from.
    k : int, default 20
        Signal components.
    n_noise : int, default 20
        Corrupted coordinates.
    gamma_max : float, default 1.0
        Largest corruption variance.
    theta_max : float, default 1.0
        Largest augmentation variance.
    seed : int, default 0
        Fixes the split, the variances and the corruption draws.
    n_train : int, optional
        Training rows (default per source, see above).
    n_test : int, default 4000
        Test rows of the synthetic source.

    Returns
    -------
    LinearDataset
        Clean and corrupted splits with their model.

    Examples
    --------
    >>> ds = make_linear_dataset("synthetic", k=5, n_noise=3, n_train=200, n_test=100)
    >>> ds.X_train.shape, ds.Xc_test.shape
    ((200, 8), (100, 8))
    """
    check_choice(source, "source", SOURCES)
    k = check_int(k, "k")
    n_noise = check_int(n_noise, "n_noise")
    gamma_max = check_nonnegative(gamma_max, "gamma_max")
    theta_max = check_nonnegative(theta_max, "theta_max")
    if gamma_max == 0:
        raise ValueError("gamma_max: must be > 0 (the noise components need λ^Γ > 0)")
    seed = check_seed(seed)
    if source == "synthetic":
        s = np.linspace(1.0, 3.0, k)
        S_tr, y_tr = gaussian_signal(n_train or 4000, s, seed)
        S_te, y_te = gaussian_signal(n_test, s, seed + 1)
    else:
        X_tr, y_tr, X_te, y_te = _source(source, seed, n_train)
        if k > min(X_tr.shape):
            raise ValueError(f"k: must be <= {min(X_tr.shape)} for {source}, got {k}")
        mean = X_tr.mean(axis=0)
        _, sv, Vt = np.linalg.svd(X_tr - mean, full_matrices=False)
        S_tr, S_te = (X_tr - mean) @ Vt[:k].T, (X_te - mean) @ Vt[:k].T
        s = sv[:k] ** 2 / X_tr.shape[0]
    model = LinearNoiseModel(s, *draw_variances(s, n_noise, gamma_max, theta_max, seed))
    X_train = np.hstack([S_tr, np.zeros((S_tr.shape[0], n_noise))])
    X_test = np.hstack([S_te, np.zeros((S_te.shape[0], n_noise))])
    draws = np.random.default_rng([seed, 2]).integers(0, 2**32, size=2)
    return LinearDataset(
        source, X_train, np.asarray(y_tr), X_test, np.asarray(y_te),
        model.corrupt(X_train, seed=int(draws[0])), model.corrupt(X_test, seed=int(draws[1])), model,
    )
