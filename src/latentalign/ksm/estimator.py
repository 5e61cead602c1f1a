r"""``KernelSimilarityMatching``: KSM as a scikit-learn estimator (``docs/ksm.md#ksm-estimator``).

``fit`` normalises ``X~ = (X - mean_) / scale_`` with ``scale_ = sqrt(mean_i ||x_i - mean_||^2)``,
learns latents ``Z`` minimising ``F(Z) + sum_i r(z_i)`` (linearised ADMM, full batch or
minibatch, or the online Hebbian network) and builds the implicit generative map
``x(z) = k(z, Z_d) dual_coef_ + mean_`` (``z components_ + mean_`` for the linear
kernel, ``phi(z) dictionary_ + mean_`` for the online network).

Examples
--------
>>> from latentalign.data.synthetic import ring
>>> X = ring(n=120, seed=0).X
>>> ksm = KernelSimilarityMatching(n_components=2, max_iter=300, tol=1e-3, random_state=0).fit(X)
>>> ksm.embedding_.shape, ksm.inverse_transform(ksm.embedding_[:3]).shape
((120, 2), (3, 10))
>>> ksm.sample(5, random_state=0).shape
(5, 10)
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import scipy.sparse
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from .._deprecate import renamed_kwargs
from .._extras import require
from .._threads import thread_policy
from .._validate import check_choice, check_int, check_nonnegative, scale_exponent, unit_scale
from ._arrays import Like, as_float64, restore
from .admm import linearized_admm
from .decoder import (
    FeatureDecoder,
    KernelDecoder,
    LinearDecoder,
    encode_adaptive,
    encode_fista,
    exact_coef,
    nystrom_coef,
    slerp,
    warm_start,
)
from .objective import fitted_objective, linear_feature_form
from .online import OnlineNetwork, RandomFeatures
from .params import EXACT_LIMIT, check_params, resolve
from .prox import Prior


class KernelSimilarityMatching(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Kernel similarity matching: latents whose kernel matches the inputs', and a decoder back.

    The objective and its solvers are in ``docs/ksm.md#ksm-estimator``. numpy or torch in;
    torch input is processed in float64 on its device, and results come back as the input's
    type and float dtype.

    Parameters
    ----------
    n_components : int, default 2
        The latent size ``m``.
    kernel : {"rbf", "linear"}, default "rbf"
        The latent kernel (``"rbf"``: Gaussian of bandwidth ``sigma``).
    sigma : float, default 1.0
        The Gaussian bandwidth (the start of the descent with ``learn_sigma``).
    ridge : float, default 1e-3
        The kernel ridge per sample (relative: ``gamma_N = ridge N``).
    alpha : float, default 0.0
        The L1 weight of the latent prior.
    latent_l2 : float, default 0.0
        ``beta``, the weight of ``(beta / 2) ||z||^2`` on each latent (the prior's, not a ridge).
    nonneg : bool, default False
        Non-negative latents.
    budget : {"ball", "sphere", "l1", "total"} or None, default "ball"
        The metabolic budget of each latent (``"total"``: of all of them).
    budget_radius : float or "auto", default "auto"
        The budget's radius (``"auto"``: 2 sigma for the Gaussian kernel, 1 for the linear one).
    solver : {"admm", "online"}, default "admm"
        Linearised ADMM, or the online Hebbian network.
    batch_size : int, "auto" or None, default "auto"
        Minibatch size (``"auto"``: full batch up to 1000 samples, else 256; None: full batch).
    max_iter : int or "auto", default "auto"
        Iterations (``"auto"``: 1500 full-batch iterations, 200 minibatch epochs, 20 online epochs).
    step_size, rho, tol : float, default 0.1, 1.0, 1e-5
        ADMM's step size, penalty and stopping tolerance.
    init : {"random", "pca"} or array of shape (n_samples, n_components), default "random"
        The starting latents.
    decoder : {"auto", "exact", "nystrom"}, default "auto"
        The Gaussian decoder (``"auto"``: exact up to the exact-solve limit, else Nystrom).
    n_landmarks : int, default 1000
        Nystrom landmarks.
    transform_max_iter : int, default 200
        Encoder steps of ``transform``.
    sample_bandwidth : float, default 0.1
        KDE width of ``sample``, in units of ``latent_bandwidth_``.
    n_random_features, online_steps : int, default 256, 200
        The online network's random features and steps per sample.
    online_rate, online_lr : float, default 0.5, 0.05
        The online network's latent rate and learning rate.
    random_state : int, RandomState or None, default None
        Seed of the initialisation, minibatches and samples.
    verbose : {0, 1, 2}, default 0
        1: a progress bar.
    learn_sigma : bool, default False
        Descend ``d f / d log sigma`` with the latents (Gaussian kernel, ADMM).

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The fitted latents.
    mean_, scale_ : ndarray of shape (n_features,), float
        The input normalisation.
    decoder_latents_, decoder_inputs_ : ndarray
        The decoder's latents and (normalised) inputs.
    dual_coef_, components_ : ndarray
        The decoder's coefficients (ADMM; ``components_`` for the linear kernel).
    dictionary_, random_weights_, random_offsets_ : ndarray
        The online network's weights.
    objective_ : float
        ``f`` plus the mean prior penalty at the end of the fit.
    history_ : dict of ndarray
        Per-iteration ``objective`` (and, for ADMM, ``primal_residual``, ``dual_residual``,
        ``step_size``, ``sigma``).
    sigma_ : float
        The bandwidth used (learned or ``sigma``).
    n_iter_ : int
        Iterations run.
    primal_residual_, dual_residual_ : float
        Final ADMM residuals.
    budget_radius_, latent_bandwidth_ : float
        The resolved budget radius and the latents' KDE bandwidth unit.
    n_features_in_ : int
        Input width.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    >>> X = np.column_stack([np.cos(t), np.sin(t), 0.1 * np.cos(3 * t)])
    >>> est = KernelSimilarityMatching(2, max_iter=50, random_state=0).fit(X)
    >>> est.embedding_.shape, est.inverse_transform(est.embedding_).shape
    ((40, 2), (40, 3))
    """

    @renamed_kwargs(l2_penalty="latent_l2")
    def __init__(self, n_components=2, *, kernel="rbf", sigma=1.0, ridge=1e-3, alpha=0.0, latent_l2=0.0,
                 nonneg=False, budget="ball", budget_radius="auto", solver="admm", batch_size="auto",
                 max_iter="auto", step_size=0.1, rho=1.0, tol=1e-5, init="random", decoder="auto",
                 n_landmarks=1000, transform_max_iter=200, sample_bandwidth=0.1, n_random_features=256,
                 online_steps=200, online_rate=0.5, online_lr=0.05, random_state=None, verbose=0,
                 learn_sigma=False):
        self.n_components = n_components
        self.kernel = kernel
        self.sigma = sigma
        self.ridge = ridge
        self.alpha = alpha
        self.latent_l2 = latent_l2
        self.nonneg = nonneg
        self.budget = budget
        self.budget_radius = budget_radius
        self.solver = solver
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.step_size = step_size
        self.rho = rho
        self.tol = tol
        self.init = init
        self.decoder = decoder
        self.n_landmarks = n_landmarks
        self.transform_max_iter = transform_max_iter
        self.sample_bandwidth = sample_bandwidth
        self.n_random_features = n_random_features
        self.online_steps = online_steps
        self.online_rate = online_rate
        self.online_lr = online_lr
        self.random_state = random_state
        self.verbose = verbose
        self.learn_sigma = learn_sigma

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None):
        """Learn latents and the generative map from ``X`` (n_samples >= 2); returns ``self``."""
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """``fit(X)`` and return ``embedding_`` (as ``X``'s type)."""
        like = self._fit(X)
        return restore(torch.from_numpy(self.embedding_), like)

    def _fit(self, X) -> Like:
        Xt, like = _input(X, "X", min_samples=2, allow_constant=False)
        p = self._params(Xt.shape[0])
        with thread_policy(self._step_work(Xt.shape, p)):
            self._fit_checked(Xt, p)
        return like

    def _fit_checked(self, Xt: torch.Tensor, p) -> None:
        self._reset()
        Xn = self._normalise_fit(Xt)
        seed = _random_state(self.random_state).randint(0, 2**31 - 1)
        if p.solver == "online":
            self._rng = np.random.default_rng(seed)
            self._fit_online(Xn, p, self._rng, epochs=p.max_iter)
            return
        Z0 = self._initial_latents(Xn, p, seed)
        with _progress(self.verbose, p.max_iter) as bar:
            res = linearized_admm(Xn, Z0, kernel=p.kernel, sigma=p.sigma, ridge=p.ridge, prior=p.prior,
                                  step_size=p.step_size, rho=p.rho, tol=p.tol, max_iter=p.max_iter,
                                  batch_size=p.batch_size, generator=torch.Generator().manual_seed(seed),
                                  callback=bar, learn_sigma=p.learn_sigma)
        U = res.embedding
        p.sigma = res.sigma  # the learned bandwidth from here on (decoder, objective)
        self.n_iter_, self.history_ = res.n_iter, res.history
        self.primal_residual_, self.dual_residual_ = res.primal_residual, res.dual_residual
        self.embedding_ = _np(U)
        objective = partial(fitted_objective, Xn, U, ridge=p.ridge, kernel=p.kernel, sigma=p.sigma, prior=p.prior)
        if p.kernel == "linear":
            _, _, D, R = linear_feature_form(Xn, U, p.ridge * Xn.shape[0])
            self.components_ = self.scale_ * _np(D)
            self.dual_coef_ = self.scale_ * _np(R) / (p.ridge * Xn.shape[0])
            self.decoder_latents_, self.decoder_inputs_ = self.embedding_, _np(Xn)
            self.objective_ = objective()
        elif p.decoder == "exact":
            W = exact_coef(Xn, U, p.ridge, p.sigma)
            self.dual_coef_ = self.scale_ * _np(W)
            self.decoder_latents_, self.decoder_inputs_ = self.embedding_, _np(Xn)
            self.objective_ = objective(coef=W)
        else:
            n_l = min(self.n_landmarks, Xn.shape[0])
            L = np.sort(np.random.default_rng(seed).choice(Xn.shape[0], n_l, replace=False))
            W = nystrom_coef(Xn, U, torch.as_tensor(L, device=U.device), p.ridge, p.sigma)
            self.dual_coef_ = self.scale_ * _np(W)
            self.decoder_latents_, self.decoder_inputs_ = self.embedding_[L], _np(Xn)[L]
            self.objective_ = res.objective if Xn.shape[0] > EXACT_LIMIT else objective()
        self._finish(p)

    @available_if(lambda self: self.solver == "online")
    def partial_fit(self, X, y=None):
        """One online pass over ``X`` in order (``solver="online"`` only); ``mean_``/``scale_`` are
        frozen at the first call.
        """
        first = not hasattr(self, "_network")
        Xt, _ = _input(X, "X", min_samples=2 if first else 1, allow_constant=not first)
        p = self._params(Xt.shape[0])
        if first:
            Xn = self._normalise_fit(Xt)
            self._rng = np.random.default_rng(_random_state(self.random_state).randint(0, 2**31 - 1))
        else:
            Xn = self._normalise(self._check_width(Xt, "X"))
        with thread_policy(self._step_work(Xt.shape, p)):
            return self._fit_online(Xn, p, self._rng, epochs=1, resume=not first)

    def _step_work(self, shape, p) -> float:
        """Rough operations of one solver step, for the thread policy: ``2 b N (d + m)`` for ADMM with
        batch ``b`` (``N`` for full batch), ``2 d max(m, n_random_features)`` per online sample.
        """
        n, d = shape
        if p.solver == "online":
            return 2.0 * d * max(p.m, self.n_random_features)
        return 2.0 * (p.batch_size or n) * n * (d + p.m)

    def _fit_online(self, Xn, p, rng, *, epochs: int, resume: bool = False):
        Xnp = Xn.cpu().numpy()
        if not resume:
            self._network = OnlineNetwork.create(
                Xn.shape[1], p.m, kernel=p.kernel, sigma=p.sigma, ridge=p.ridge, prior=p.prior, rng=rng,
                n_random_features=self.n_random_features, steps=self.online_steps, rate=self.online_rate,
                lr=self.online_lr, tol=p.tol)
        net = self._network
        losses = []
        with _progress(self.verbose, epochs) as bar:
            for epoch in range(epochs):
                Z, loss = net.epoch(Xnp, rng)
                losses.append(loss)
                if bar is not None:
                    bar(epoch + 1, loss)
        old = self.history_["objective"] if resume else np.empty(0)
        self.history_ = {"objective": np.concatenate([old, np.asarray(losses)])}
        self.n_iter_ = (self.n_iter_ if resume else 0) + epochs
        self.objective_ = float(losses[-1])
        self.embedding_ = Z
        self.dictionary_ = self.scale_ * net.D
        if net.features is not None:
            self.random_weights_, self.random_offsets_ = net.features.weights, net.features.offsets
        self.decoder_latents_, self.decoder_inputs_ = Z, Xnp
        self._finish(p)
        return self

    # ------------------------------------------------------------------ the generative model
    def transform(self, X):
        """Encode ``X``: latents minimising ``1/2 ||x~ - g(z)||^2 + r(z)`` (``docs/ksm.md#eq-ksm-encode``)."""
        Xt, like = self._checked(X)
        return restore(self._encode(self._normalise(Xt), None), like)

    def inverse_transform(self, Z):
        """The implicit generative map: inputs decoded from latents ``Z`` (n, n_components)."""
        check_is_fitted(self)
        Zt, like = _input(Z, "Z")
        if Zt.shape[1] != self.n_components:
            raise ValueError(f"Z: expected {self.n_components} latent columns, got {Zt.shape[1]}")
        return restore(self._decode(Zt), like)

    def reconstruct(self, X):
        """``inverse_transform(transform(X))`` in input units."""
        Xt, like = self._checked(X)
        return restore(self._reconstruct(Xt), like)

    def score_samples(self, X):
        """Per-sample ``-mean_j (x_j - x^_j)^2`` of the reconstruction (higher = more typical,
        the scikit-learn convention); ``-score_samples`` is the anomaly score.
        """
        Xt, like = self._checked(X)
        return restore(-((Xt - self._reconstruct(Xt)) ** 2).mean(1), like)

    def score(self, X, y=None):
        """``-MSE`` of ``inverse_transform(transform(X))`` against ``X``."""
        Xt, _ = self._checked(X)
        return -float(((Xt - self._reconstruct(Xt)) ** 2).mean())

    def complete(self, X, mask):
        """Fill the entries of ``X`` where ``mask`` is True (missing; NaN allowed there).

        Each row is encoded from its observed entries only (the error term sums over
        them) and the missing ones are decoded; observed entries are returned unchanged.
        """
        check_is_fitted(self)
        miss = _mask(mask, X)
        if isinstance(X, torch.Tensor):
            X = X.masked_fill(torch.as_tensor(miss, device=X.device), 0.0)
        else:
            X = np.where(miss, 0.0, np.asarray(X))
        Xt, like = self._checked(X)
        M = torch.as_tensor(miss, device=Xt.device)
        if bool(M.all(1).any()):
            raise ValueError(f"mask: row {int(M.all(1).nonzero()[0, 0])} has no observed entry to encode from")
        X_hat = self._decode(self._encode(self._normalise(Xt), (~M).to(Xt.dtype)))
        return restore(torch.where(M, X_hat, Xt), like)

    def sample(self, n_samples=1, *, method="kde", random_state=None, return_latents=False):
        """Draw ``n_samples`` inputs: ``"kde"`` jitters random rows of ``embedding_`` by
        ``N(0, h^2 I)``, ``h = sample_bandwidth * latent_bandwidth_``, projects onto the
        prior's set and decodes; ``"gaussian"`` decodes ``N(mean, cov)`` of ``embedding_``.
        """
        check_is_fitted(self)
        n = check_int(n_samples, "n_samples")
        check_choice(method, "method", ("kde", "gaussian"))
        rng = _random_state(random_state)
        E = self.embedding_
        if method == "kde":
            h = check_nonnegative(self.sample_bandwidth, "sample_bandwidth") * self.latent_bandwidth_
            Z = E[rng.randint(0, E.shape[0], size=n)] + h * rng.standard_normal((n, E.shape[1]))
            Z = self._prior().clamp(Z)
        else:
            Z = rng.multivariate_normal(E.mean(0), np.atleast_2d(np.cov(E, rowvar=False)), size=n)
        X = _np(self._decode(torch.from_numpy(Z)))
        return (X, Z) if return_latents else X

    def interpolate(self, z_a, z_b, n_steps=9, *, method="linear", return_latents=False):
        """Decode ``n_steps`` latents from ``z_a`` to ``z_b`` (ends included), straight
        (``"linear"``) or along the great circle with interpolated norm (``"slerp"``).
        """
        check_is_fitted(self)
        n_steps = check_int(n_steps, "n_steps", minimum=2)
        check_choice(method, "method", ("linear", "slerp"))
        a, like = _vector(z_a, "z_a", self.n_components)
        b = _vector(z_b, "z_b", self.n_components)[0].to(a.device)
        t = torch.linspace(0.0, 1.0, n_steps, dtype=torch.float64, device=a.device)[:, None]
        Z = slerp(a, b, t) if method == "slerp" else (1 - t) * a + t * b
        X = restore(self._decode(Z), like)
        return (X, restore(Z, like)) if return_latents else X

    # ------------------------------------------------------------------ internals
    def _params(self, n_samples: int):
        """Check the hyper-parameters (``params.CONSTRAINTS``) and resolve the ``"auto"`` values for ``n_samples``."""
        return resolve(check_params(self.get_params(deep=False)), n_samples)

    def _reset(self) -> None:
        """Forget a previous fit (attributes ending in ``_`` and the online network)."""
        for key in [k for k in vars(self) if k.endswith("_") or k in ("_network", "_rng")]:
            delattr(self, key)

    def _normalise_fit(self, Xt: torch.Tensor) -> torch.Tensor:
        # centre and scale X / 2**e (exact), so sums of squares neither overflow nor underflow for
        # data scaled by up to 1e+-300: the fit is the same as on the unscaled data
        e = scale_exponent(Xt)
        Xs = unit_scale(Xt, e)
        mean = Xs.mean(0)
        scale = float(((Xs - mean) ** 2).sum(1).mean().sqrt())
        try:
            self.scale_ = math.ldexp(scale, e)
        except OverflowError:
            raise ValueError(f"X: its spread (about 2**{e}) overflows float64; rescale the data") from None
        self.mean_, self.n_features_in_ = np.ldexp(_np(mean), e), Xt.shape[1]
        return (Xs - mean) / scale

    def _normalise(self, Xt: torch.Tensor) -> torch.Tensor:
        return (Xt - torch.as_tensor(self.mean_, device=Xt.device)) / self.scale_

    def _initial_latents(self, Xn: torch.Tensor, p, seed: int) -> torch.Tensor:
        N, unit = Xn.shape[0], (p.sigma if p.kernel == "rbf" else 1.0)
        init = self.init
        if isinstance(init, str):
            if init == "random":
                Z = torch.randn(N, p.m, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
                Z = 0.1 * unit * Z if p.kernel == "rbf" else 0.5 * Z / Z.pow(2).sum(1).mean().sqrt()
                Z = Z.to(Xn.device)
            else:
                if p.m > min(Xn.shape):
                    raise ValueError(f"init: 'pca' needs n_components <= min(n_samples, n_features) = "
                                     f"{min(Xn.shape)}, got {p.m}")
                U, S, _ = torch.linalg.svd(Xn, full_matrices=False)
                Z = U[:, : p.m] * S[: p.m]
                Z = 0.5 * unit * Z / Z.pow(2).sum(1).mean().sqrt().clamp_min(1e-300)
        else:
            Z, _ = _input(init, "init")
            if tuple(Z.shape) != (N, p.m):
                raise ValueError(f"init: expected shape {(N, p.m)}, got {tuple(Z.shape)}")
            Z = Z.to(Xn.device)
        return Z.abs() if p.prior.nonneg else Z

    def _finish(self, p) -> None:
        E = self.embedding_
        self.budget_radius_ = p.radius
        self.sigma_ = float(p.sigma)
        self.latent_bandwidth_ = float(np.sqrt(((E - E.mean(0)) ** 2).sum(1).mean() / E.shape[1]))

    def _prior(self) -> Prior:
        return Prior(float(self.alpha), float(self.latent_l2), bool(self.nonneg), self.budget, self.budget_radius_)

    def _check_width(self, Xt: torch.Tensor, name: str) -> torch.Tensor:
        if Xt.shape[1] != self.n_features_in_:
            raise ValueError(f"{name}: {name} has {Xt.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        return Xt

    def _checked(self, X):
        check_is_fitted(self)
        Xt, like = _input(X, "X")
        return self._check_width(Xt, "X"), like

    def _reconstruct(self, Xt: torch.Tensor) -> torch.Tensor:
        return self._decode(self._encode(self._normalise(Xt), None))

    def _decoder(self, device):
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=device)  # noqa: E731
        if self.solver == "online":
            D = as_t(self.dictionary_ / self.scale_)
            if self.kernel == "linear":
                return LinearDecoder(D)
            return FeatureDecoder(RandomFeatures(as_t(self.random_weights_), as_t(self.random_offsets_)), D)
        if self.kernel == "linear":
            return LinearDecoder(as_t(self.components_ / self.scale_))
        return KernelDecoder(as_t(self.decoder_latents_), as_t(self.dual_coef_ / self.scale_), float(self.sigma_))

    def _decode(self, Z: torch.Tensor) -> torch.Tensor:
        Xh, _ = self._decoder(Z.device).decode(Z)
        return Xh * self.scale_ + torch.as_tensor(self.mean_, device=Z.device)

    def _encode(self, Xn: torch.Tensor, O: torch.Tensor | None) -> torch.Tensor:
        decoder, prior = self._decoder(Xn.device), self._prior()
        steps = int(self.transform_max_iter)
        if isinstance(decoder, LinearDecoder):
            return encode_fista(decoder, Xn, O, prior, steps)
        Z0 = warm_start(torch.as_tensor(self.decoder_inputs_, device=Xn.device),
                        torch.as_tensor(self.decoder_latents_, device=Xn.device), Xn, O)
        return encode_adaptive(decoder, Xn, O, Z0, prior, steps, 0.1 * float(self.sigma_) ** 2)

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# ---------------------------------------------------------------------- helpers
def _random_state(value) -> np.random.RandomState:
    """scikit-learn's ``check_random_state`` with errors that name ``random_state``."""
    try:
        return check_random_state(value)
    except ValueError as err:
        raise ValueError(f"random_state: {err}") from None


def _np(t) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float64)


def _input(X, name: str, **kwargs):
    """``as_float64`` plus what scikit-learn feeds an estimator: sparse (rejected), object arrays."""
    if scipy.sparse.issparse(X):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array")
    if not isinstance(X, torch.Tensor) and hasattr(X, "__array__") or isinstance(X, (list, tuple)):
        arr = np.asarray(X)
        if arr.dtype == object:
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError) as err:
                raise TypeError(f"{name}: {err}") from None
        X = arr
    return as_float64(X, name, **kwargs)


def _vector(v, name: str, m: int):
    """A latent vector (m,) or (1, m) as a ``(1, m)`` float64 tensor, and how to give results back."""
    v = v.reshape(1, -1) if isinstance(v, torch.Tensor) else np.asarray(v).reshape(1, -1)
    t, like = _input(v, name)
    if t.shape[1] != m:
        raise ValueError(f"{name}: expected {m} values, got {t.shape[1]}")
    return t, like


def _mask(mask, X) -> np.ndarray:
    M = np.asarray(mask.detach().cpu() if isinstance(mask, torch.Tensor) else mask)
    if M.dtype != bool:
        raise TypeError(f"mask: expected a boolean array (True = missing), got dtype {M.dtype}")
    if M.shape != tuple(np.shape(X)):
        raise ValueError(f"mask: expected the shape of X {tuple(np.shape(X))}, got {M.shape}")
    return M


class _progress:
    """A tqdm bar (``verbose >= 1``) fed by the solver's callback ``bar(iteration, objective)``."""

    def __init__(self, verbose, total: int):
        self.verbose, self.total, self.bar = verbose, total, None

    def __enter__(self):
        if not self.verbose:
            return None
        tqdm = require("tqdm.auto", "a progress bar (verbose > 0)").tqdm
        self.bar = tqdm(total=self.total, desc="KSM fit", unit="it", leave=False)
        return self

    def __call__(self, iteration: int, objective: float) -> None:
        self.bar.update(iteration - self.bar.n)
        self.bar.set_postfix(objective=f"{objective:.4g}", refresh=False)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False

