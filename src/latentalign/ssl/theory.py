r"""Alignment thresholds of Van Assel et al. (2025), Props 4.2-4.4 and Corollary 4.5.

In the basis ``Q`` of the clean data ``X = LKQᵀ`` the first ``k`` components carry
signal with variances ``s_i = κ_i²/n``; the corruption ``Γ`` lives on the other
components (``λ^Γ_i > 0``) and the augmentation is ``τ(x) = x + θ + αγ`` with
``θ ~ N(0, Θ)``, ``γ ~ N(0, Γ)``. With

    η = min_{i≤k} s_i / √(s_i + λ^Θ_i),      δ = min_{i≤k} s_i / (s_i + λ^Θ_i),

each noise component ``i > k`` needs

    a_RC,i = λ^Γ_i/η² − λ^Θ_i/λ^Γ_i − 1,       a_JE,i = (1 − δ)/δ − λ^Θ_i/λ^Γ_i,

and ``α²_RC = max_i a_RC,i``, ``α²_JE = max_i a_JE,i``. As ``n → ∞`` reconstruction
(joint embedding) recovers the clean optimum iff ``α² > α²_RC`` (``α²_JE``); supervised
learning does for every ``α``. Why: on a component with data variance ``c`` and
augmentation variance ``σ``, reconstruction ranks by ``φ² = c²/(c + σ)``, joint
embedding by ``ω = c/(c + σ)``; the extra factor ``c`` lets high-variance noise
outrank signal in reconstruction. The identity ``a_RC,i − a_JE,i = λ^Γ_i/η² − 1/δ``
gives Corollary 4.5: ``max λ^Γ < η²/δ`` ⇒ reconstruction needs less alignment
("low_noise"); ``min λ^Γ > η²/δ`` ⇒ joint embedding does ("high_noise").

The thresholds are asymptotic: no finite-sample rate is known.

The example is :func:`alignment_thresholds`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import _to_tensor, as_matrix, check_int, check_nonnegative
from .linear import _covariance

__all__ = ["AlignmentThresholds", "alignment_thresholds", "thresholds_from_model", "retained_components"]

_DIAG_RTOL = 1e-8


@dataclass(frozen=True)
class AlignmentThresholds:
    """Thresholds ``α²_RC``, ``α²_JE`` (negative: ``α = 0`` suffices) and what they imply.

    ``alpha_rc``/``alpha_je`` are ``√max(α², 0)``; ``crossover = η²/δ``;
    ``per_component_rc``/``_je`` hold ``a_RC,i``/``a_JE,i`` for each noise component;
    ``regime`` is Corollary 4.5's condition (``"low_noise"``, ``"high_noise"`` or
    ``"mixed"`` when neither holds); ``preferred`` is the family with the smaller ``α²``.

    Attributes
    ----------
    alpha2_rc, alpha2_je : float
        ``α²_RC`` and ``α²_JE`` (negative: ``α = 0`` suffices).
    eta, delta : float
        The constants of Corollary 4.5 (``crossover = η²/δ``).
    per_component_rc, per_component_je : numpy.ndarray of shape (m,)
        ``a_RC,i`` and ``a_JE,i`` of each noise component.
    gamma_noise : numpy.ndarray of shape (m,)
        The corruption variances.
    """

    alpha2_rc: float
    alpha2_je: float
    eta: float
    delta: float
    per_component_rc: np.ndarray
    per_component_je: np.ndarray
    gamma_noise: np.ndarray

    @property
    def alpha_rc(self) -> float:
        """``α_RC = sqrt(max(α²_RC, 0))``."""
        return float(np.sqrt(max(self.alpha2_rc, 0.0)))

    @property
    def alpha_je(self) -> float:
        """``α_JE = sqrt(max(α²_JE, 0))``."""
        return float(np.sqrt(max(self.alpha2_je, 0.0)))

    @property
    def crossover(self) -> float:
        """``η²/δ``: noise variances below it favour reconstruction, above it joint embedding."""
        return self.eta**2 / self.delta

    @property
    def regime(self) -> str:
        """``low_noise``, ``high_noise`` or ``mixed``: the noise variances against :attr:`crossover`."""
        if self.gamma_noise.max() < self.crossover:
            return "low_noise"
        if self.gamma_noise.min() > self.crossover:
            return "high_noise"
        return "mixed"

    @property
    def preferred(self) -> str:
        """The objective with the lower threshold: ``reconstruction``, ``joint_embedding`` or ``tie``."""
        if np.isclose(self.alpha2_rc, self.alpha2_je, rtol=1e-12, atol=1e-12):
            return "tie"
        return "reconstruction" if self.alpha2_rc < self.alpha2_je else "joint_embedding"

    def recovers(self, alpha: float) -> dict[str, bool]:
        """Which family recovers the clean optimum as ``n → ∞`` at augmentation strength ``alpha``."""
        a2 = check_nonnegative(alpha, "alpha") ** 2
        return {"reconstruction": a2 > self.alpha2_rc, "joint_embedding": a2 > self.alpha2_je, "supervised": True}


def _vector(x, name: str, size: int | None = None, *, positive: bool = False) -> np.ndarray:
    """A finite 1-D float64 array (a scalar broadcasts to ``size``)."""
    t = _to_tensor(x, name).detach().to("cpu")
    v = np.atleast_1d(t.numpy().astype(np.float64))
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name}: expected a scalar or a non-empty 1-D array, got shape {tuple(t.shape)}")
    if size is not None:
        if v.size == 1:
            v = np.full(size, v[0])
        elif v.size != size:
            raise ValueError(f"{name}: expected {size} values, got {v.size}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name}: contains non-finite values")
    if positive and np.any(v <= 0):
        raise ValueError(f"{name}: every value must be > 0, got min {v.min():.3g}")
    if not positive and np.any(v < 0):
        raise ValueError(f"{name}: every value must be >= 0, got min {v.min():.3g}")
    return v


def alignment_thresholds(signal_var, theta_signal, theta_noise, gamma_noise) -> AlignmentThresholds:
    """The thresholds ``α²_RC`` and ``α²_JE`` of the linear model (scalars broadcast).

    Parameters
    ----------
    signal_var : float or array-like of shape (k,)
        Signal variances ``s > 0``.
    theta_signal : float or array-like of shape (k,)
        Augmentation variances ``λ^Θ >= 0`` on the signal components.
    theta_noise : float or array-like of shape (m,)
        Augmentation variances ``λ^Θ >= 0`` on the noise components.
    gamma_noise : float or array-like of shape (m,)
        Corruption variances ``λ^Γ > 0``.

    Returns
    -------
    AlignmentThresholds
        ``α²_RC``, ``α²_JE`` and what they imply.

    Examples
    --------
    >>> t = alignment_thresholds(np.linspace(1, 3, 5), 0.5, 0.5, np.full(15, 3.0))
    >>> round(t.alpha2_rc, 4), round(t.alpha2_je, 4), t.regime, t.preferred
    (3.3333, 0.3333, 'high_noise', 'joint_embedding')
    """
    s = _vector(signal_var, "signal_var", positive=True)
    gamma = _vector(gamma_noise, "gamma_noise", positive=True)
    th_s = _vector(theta_signal, "theta_signal", s.size)
    th_n = _vector(theta_noise, "theta_noise", gamma.size)
    eta = float(np.min(s / np.sqrt(s + th_s)))
    delta = float(np.min(s / (s + th_s)))
    a_rc = gamma / eta**2 - th_n / gamma - 1.0
    a_je = (1.0 - delta) / delta - th_n / gamma
    return AlignmentThresholds(float(a_rc.max()), float(a_je.max()), eta, delta, a_rc, a_je, gamma)


def _joint_eigenbasis(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Orthonormal eigenvectors of ``A + c·B`` for a generic ``c``: they diagonalise both
    ``A`` and ``B`` whenever the two commute (degenerate eigenvalues of ``A`` included).
    """
    scale = np.linalg.norm(A) / max(np.linalg.norm(B), np.finfo(float).tiny)
    M = A + (np.e / 7.0) * scale * B
    return np.linalg.eigh((M + M.T) / 2)[1]


def _off_diagonal_mass(M: np.ndarray) -> float:
    off = M - np.diag(np.diag(M))
    return float(np.linalg.norm(off) / max(np.linalg.norm(M), np.finfo(float).tiny))


def thresholds_from_model(X_clean, Theta, Gamma, k: int) -> AlignmentThresholds:
    """Thresholds of a clean data matrix with augmentation and corruption covariances.

    Rotates into the basis ``Q`` of ``X_clean = LKQᵀ`` (``s_i = κ_i²/n``; centre ``X_clean``
    first if it should be), choosing within degenerate blocks a basis that diagonalises
    ``Θ`` and ``Γ``. ``ValueError`` if ``Θ`` or ``Γ`` is not diagonal in it (relative
    off-diagonal mass > 1e-8) or a noise component has ``λ^Γ ≤ 0``.

    Parameters
    ----------
    X_clean : array-like of shape (n, d)
        The clean data, of rank ``k``.
    Theta : array-like of shape (d, d)
        The augmentation covariance.
    Gamma : array-like of shape (d, d)
        The corruption covariance.
    k : int
        The signal rank.

    Returns
    -------
    AlignmentThresholds
        As :func:`alignment_thresholds` in the basis of ``X_clean``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((4, 3)); X[:, 0] = [1, -1, 2, -2]
    >>> t = thresholds_from_model(X, 0.5 * np.eye(3), np.diag([0.0, 3.0, 3.0]), k=1)
    >>> round(t.alpha2_je, 4) == round(alignment_thresholds(2.5, 0.5, 0.5, [3.0, 3.0]).alpha2_je, 4)
    True
    """
    X = as_matrix(X_clean, "X_clean", min_samples=2).detach().cpu().numpy()
    n, d = X.shape
    k = check_int(k, "k", minimum=1, maximum=d - 1)
    Th = _covariance(Theta, d, "Theta")
    Ga = _covariance(Gamma, d, "Gamma")
    _, kappa, Vt = np.linalg.svd(X, full_matrices=True)
    Q1, Q2 = Vt[:k].T, Vt[k:].T
    C = X.T @ X / n
    Q1 = Q1 @ _joint_eigenbasis(Q1.T @ C @ Q1, Q1.T @ Th @ Q1)
    Q2 = Q2 @ _joint_eigenbasis(Q2.T @ Ga @ Q2, Q2.T @ Th @ Q2)
    Q = np.hstack([Q1, Q2])
    for name, M in (("Theta", Th), ("Gamma", Ga)):
        mass = _off_diagonal_mass(Q.T @ M @ Q)
        if mass > _DIAG_RTOL:
            raise ValueError(f"{name}: not diagonal in the basis Q of X_clean (relative off-diagonal mass {mass:.2e})")
    th, ga = np.diag(Q.T @ Th @ Q), np.diag(Q.T @ Ga @ Q)
    if np.any(np.abs(ga[:k]) > _DIAG_RTOL * np.abs(ga).max()):
        raise ValueError("Gamma: the corruption must vanish on the k signal components of X_clean")
    if np.any(ga[k:] <= 0):
        raise ValueError(f"Gamma: every noise component needs λ^Γ > 0, got min {ga[k:].min():.3g}")
    s = np.diag(Q1.T @ C @ Q1)
    return alignment_thresholds(s, th[:k], th[k:], ga[k:])



def retained_components(signal_var, theta, gamma_noise, alpha: float, k: int) -> dict[str, np.ndarray]:
    """Return the components each family keeps in its top ``k`` as ``n → ∞``, below its threshold or above.

    On component ``i`` (data variance ``c_i``: ``s_i`` on the signal, ``λ^Γ_i`` on the
    noise; augmentation variance ``σ_i = λ^Θ_i + α²λ^Γ_i``) reconstruction ranks by
    ``φ_i² = c_i²/(c_i + σ_i)`` and joint embedding by ``ω_i = c_i/(c_i + σ_i)``
    (Thms 3.1, 3.2 in a basis where ``Θ`` and ``Γ`` are diagonal). Below the
    thresholds both keep some noise; *which* signal components survive decides the
    downstream accuracy: reconstruction keeps the largest-variance ones, joint
    embedding those with the smallest ``λ^Θ_i/s_i``.

    Parameters
    ----------
    signal_var : array_like, shape (k_signal,)
        Signal variances ``s_i > 0``.
    theta : float or array_like, shape (k_signal + m,)
        Augmentation variances ``λ^Θ_i >= 0`` on every component (signal first).
    gamma_noise : array_like, shape (m,)
        Corruption variances ``λ^Γ_i > 0`` of the noise components.
    alpha : float
        Alignment ``α >= 0`` of the augmentation with the corruption.
    k : int
        Number of components each encoder keeps, ``1 <= k <= k_signal + m``.

    Returns
    -------
    dict of str to ndarray
        ``"reconstruction"`` and ``"joint_embedding"``: the kept component indices
        (signal components are ``0 … k_signal − 1``), sorted ascending.

    Examples
    --------
    A strong noise component (``λ^Γ = 2``, ``λ^Θ = 3``) outranks the weak signal
    (``s = 1``) in reconstruction (``φ² = 4/5 > 1/2``) but not in joint embedding
    (``ω = 2/5 < 1/2``):

    >>> kept = retained_components([4.0, 1.0], [1.0, 1.0, 3.0], [2.0], alpha=0.0, k=2)
    >>> kept["reconstruction"].tolist(), kept["joint_embedding"].tolist()
    ([0, 2], [0, 1])
    """
    s = _vector(signal_var, "signal_var", positive=True)
    gamma = _vector(gamma_noise, "gamma_noise", positive=True)
    th = _vector(theta, "theta", s.size + gamma.size)
    alpha = check_nonnegative(alpha, "alpha")
    k = check_int(k, "k", minimum=1, maximum=s.size + gamma.size)
    c = np.concatenate([s, gamma])
    sigma = th + alpha**2 * np.concatenate([np.zeros(s.size), gamma])
    scores = {"reconstruction": c**2 / (c + sigma), "joint_embedding": c / (c + sigma)}
    return {fam: np.sort(np.argsort(-score, kind="stable")[:k]) for fam, score in scores.items()}
