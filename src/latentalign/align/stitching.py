r"""Closed-form linear stitching between two representations, and its bound by alignment.

Stitcher ``1 -> 2`` (ridge with intercept, ``docs/align.md#eq-stitcher``)::

    x -> (x - mu1) T + mu2,   T = (C11 + ridge_eff I)^{-1} C12,   ridge_eff = ridge tr(C11) / d1

(``C`` are covariances of the centred data; ``center=False`` uses the uncentred
second moments ``S`` and no means). It equals scikit-learn's ``Ridge`` with
``alpha = n ridge_eff``. ``ridge="gcv"`` picks ``ridge`` in ``10^{-8..0}`` (33 values)
minimising the exact leave-one-out error, read off one SVD of ``Xc`` through the
hat matrix's diagonal (the "GCV" shortcut of ``sklearn.linear_model.RidgeCV``).

Direct-matching error: the residual of projecting ``X2c`` on the columns of ``X1c``::

    e*_12 = [tr C22 - tr(C21 C11^+ C12)] / tr C22  in [0, 1]

Bound: with ``rho_12 = ||C11||_F ||C22||_F / (||C11||_op tr C22)`` and
``kappa = ||C11||_op / lambda+_min(C11)``::

    1 - kappa rho_12 CKA_b  <=  e*_12  <=  1 - rho_12 CKA_b

(``center=False``: ``S`` and KA.) A whitened ``X1`` (``kappa = 1``) meets both sides.

Examples
--------
>>> import numpy as np
>>> X1 = np.random.default_rng(0).normal(size=(100, 4)); X2 = X1 @ np.random.default_rng(1).normal(size=(4, 3))
>>> r = stitch(X1, X2)
>>> abs(r.forward.e_star) < 1e-12, r.forward.lower <= r.forward.e_star <= r.forward.upper
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._deprecate import deprecated, renamed_kwargs, renamed_objects
from .._validate import as_matrix, check_bool, check_choice, check_nonnegative
from ._common import paired
from .subspace_metrics import ranked_svd

__all__ = ["stitch", "fit_stitcher", "loo_curve", "Stitcher", "StitchDirection", "StitchResult", "ridge_map",
           "RIDGE_GRID",
           "DIRECTIONS", "relative_error"]

RIDGE_GRID = tuple(float(v) for v in 10.0 ** np.linspace(-8, 0, 33))
__getattr__ = renamed_objects(__name__, {"LAM_GRID": "RIDGE_GRID"})  # deprecated, removed in 0.3
DIRECTIONS = ("both", "1->2", "2->1")


@dataclass
class Stitcher:
    """The affine map ``x -> (x - mean_in) @ T + mean_out`` (float64; numpy in, numpy out).

    Attributes
    ----------
    T : torch.Tensor of shape (d1, d2)
        The linear map (float64).
    mean_in : torch.Tensor of shape (d1,)
        The source mean subtracted first.
    mean_out : torch.Tensor of shape (d2,)
        The target mean added last.
    ridge : float
        The relative ridge, as passed or picked by GCV.
    ridge_eff : float
        ``ridge * tr(C11) / d1``, the ridge added to ``C11``.
    """

    T: torch.Tensor
    mean_in: torch.Tensor
    mean_out: torch.Tensor
    ridge: float  # relative ridge, as passed or picked by GCV
    ridge_eff: float  # ridge * tr(C11) / d1, the ridge added to C11

    def __call__(self, X, name: str = "X"):
        """Map rows ``X`` ``(n, d1)`` to ``(n, d2)``: ``(X - mean_in) T + mean_out``, as numpy or torch like ``X``."""
        Xt = as_matrix(X, name)
        if Xt.shape[1] != self.T.shape[0]:
            raise ValueError(f"{name}: expected {self.T.shape[0]} features, got {Xt.shape[1]}")
        out = (Xt - self.mean_in.to(Xt.device)) @ self.T.to(Xt.device) + self.mean_out.to(Xt.device)
        return out if isinstance(X, torch.Tensor) else out.detach().numpy()

    @property
    def lam(self) -> float:
        """Deprecated (removed in 0.3): ``ridge``."""
        deprecated("Stitcher", "'lam'", "'ridge'")
        return self.ridge

    @property
    def lam_eff(self) -> float:
        """Deprecated (removed in 0.3): ``ridge_eff``."""
        deprecated("Stitcher", "'lam_eff'", "'ridge_eff'")
        return self.ridge_eff


def ridge_map(C11: torch.Tensor, C12: torch.Tensor, ridge: float) -> tuple[torch.Tensor, float]:
    """``T = (C11 + ridge_eff I)^{-1} C12`` with ``ridge_eff = ridge tr(C11)/d1`` (least norm when ``ridge = 0``)."""
    d1 = C11.shape[0]
    ridge_eff = ridge * float(torch.trace(C11)) / d1
    if ridge_eff > 0:
        A = C11 + ridge_eff * torch.eye(d1, dtype=C11.dtype, device=C11.device)
        return torch.linalg.solve(A, C12), ridge_eff
    return torch.linalg.pinv(C11, hermitian=True) @ C12, 0.0


def relative_error(target: torch.Tensor, prediction: torch.Tensor, center: bool) -> float:
    """``||target - prediction||^2 / ||target - mean(target)||^2`` (uncentred denominator if not ``center``)."""
    ref = target - target.mean(0) if center else target
    return float((target - prediction).square().sum() / ref.square().sum())


class _Side:
    """One representation: its mean, centred rows and ranked thin SVD ``Zc = U diag(s) V^T``."""

    def __init__(self, Z: torch.Tensor, center: bool):
        self.mean = Z.mean(0) if center else torch.zeros_like(Z[0])
        self.Zc = Z - self.mean
        self.U, self.s = ranked_svd(self.Zc)
        self.total = float(self.Zc.square().sum())  # n tr C
        self.fro = float(torch.linalg.vector_norm(self.s**2))  # n ||C||_F
        self.d = Z.shape[1]


def _loo_errors(src: _Side, dst: _Side, center: bool, grid) -> list[float]:
    """Exact leave-one-out squared error of the ridge ``src -> dst`` for each relative ``ridge`` in ``grid``.

    With ``f_k = s_k^2 / (s_k^2 + alpha)``, ``alpha = n ridge_eff = ridge sum(s^2) / d1``, the hat
    matrix is ``11^T/n + U diag(f) U^T`` (the intercept is unpenalised); the LOO residual
    of row ``i`` is ``e_i / (1 - H_ii)``.
    """
    n = src.Zc.shape[0]
    P = src.U.T @ dst.Zc  # (r, d2)
    s2 = src.s**2
    base_leverage = 1.0 / n if center else 0.0
    errors = []
    for ridge in grid:
        f = s2 / (s2 + ridge * float(s2.sum()) / src.d)
        residual = dst.Zc - src.U @ (f.unsqueeze(1) * P)
        leverage = base_leverage + (src.U.square() * f).sum(1)
        errors.append(float((residual.square().sum(1) / (1.0 - leverage).square()).sum()))
    return errors


def loo_curve(X1, X2, *, center: bool = True, grid=RIDGE_GRID) -> np.ndarray:
    """Leave-one-out squared error of the ridge stitcher ``X1 -> X2`` over ``grid`` (what ``ridge="gcv"`` minimises).

    Parameters
    ----------
    X1 : array-like of shape (n_samples, d1)
        The source representation.
    X2 : array-like of shape (n_samples, d2)
        The target representation, same samples in the same order.
    center : bool, default True
        Centre both inputs.
    grid : sequence of float, default RIDGE_GRID
        The relative ridges tried.

    Returns
    -------
    numpy.ndarray of shape (len(grid),)
        The leave-one-out squared error at each ridge.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 3))
    >>> curve = loo_curve(X, X @ np.ones((3, 2)) + 0.1 * np.random.default_rng(1).normal(size=(30, 2)))
    >>> curve.shape, bool(curve.argmin() < 20)
    ((33,), True)
    """
    center = check_bool(center, "center")
    A, B = paired(X1, X2, names=("X1", "X2"))
    grid = [check_nonnegative(v, "grid") for v in grid]
    return np.array(_loo_errors(_Side(A, center), _Side(B, center), center, grid))


def _loo_lambda(src: _Side, dst: _Side, center: bool) -> float:
    errors = _loo_errors(src, dst, center, RIDGE_GRID)
    return RIDGE_GRID[int(np.nanargmin(errors))]


@dataclass
class StitchDirection:
    """One direction ``a -> b``: the stitcher, its errors and the bound.

    ``e_star``: direct-matching error (in-sample, no ridge); ``lower``/``upper``: its
    bound; ``rho``, ``kappa``: the bound's spectral factors; ``e_train``/``e_test``:
    the ridge stitcher's relative error in-sample / held out (``None`` without test data);
    ``task``: the frozen-head penalty (``None`` without a head).

    Attributes
    ----------
    stitcher : Stitcher
        The ridge stitcher of this direction.
    e_star : float
        The direct-matching error (in-sample, no ridge).
    lower, upper : float
        The bound on ``e_star`` from the alignment.
    rho, kappa : float
        The bound's spectral factors.
    e_train : float
        The ridge stitcher's relative error in-sample.
    e_test : float or None
        Its relative error on held-out rows (``None`` without test data).
    task : TaskPenalty or None
        The frozen-head penalty (``None`` without a head).
    """

    stitcher: Stitcher
    e_star: float
    lower: float
    upper: float
    rho: float
    kappa: float
    e_train: float
    e_test: float | None = None
    task: Any = None


@dataclass
class StitchResult:
    """Both stitching directions of a pair of representations and their alignment.

    Attributes
    ----------
    alignment : float
        CKA_b (KA when ``center=False``).
    forward : StitchDirection or None
        ``1 -> 2`` (``None`` when not fitted).
    backward : StitchDirection or None
        ``2 -> 1`` (``None`` when not fitted).
    center : bool
        Whether the inputs were centred.
    """

    alignment: float
    forward: StitchDirection | None
    backward: StitchDirection | None
    center: bool


def _direction(src: _Side, dst: _Side, alignment: float, ridge, center: bool) -> StitchDirection:
    n = src.Zc.shape[0]
    ridge = _loo_lambda(src, dst, center) if ridge == "gcv" else ridge
    C11 = src.Zc.T @ src.Zc / n
    T, ridge_eff = ridge_map(C11, src.Zc.T @ dst.Zc / n, ridge)
    stitcher = Stitcher(T, src.mean, dst.mean, float(ridge), ridge_eff)
    e_star = 1.0 - float((src.U.T @ dst.Zc).square().sum()) / dst.total
    rho = src.fro * dst.fro / (float(src.s[0]) ** 2 * dst.total)
    kappa = float(src.s[0] / src.s[-1]) ** 2
    e_train = float((dst.Zc - src.Zc @ T).square().sum()) / dst.total
    return StitchDirection(stitcher, e_star, 1.0 - kappa * rho * alignment, 1.0 - rho * alignment, rho, kappa,
                           e_train)


@renamed_kwargs(lam="ridge")
def fit_stitcher(X1, X2, *, ridge: float | str = "gcv", center: bool = True) -> Stitcher:
    """The ridge stitcher ``X1 -> X2`` alone (see :func:`stitch` for errors and the bound).

    Parameters
    ----------
    X1 : array-like of shape (n_samples, d1)
        The source representation.
    X2 : array-like of shape (n_samples, d2)
        The target representation, same samples in the same order.
    ridge : float or "gcv", default "gcv"
        Ridge ``>= 0`` relative to ``tr(C11) / d1``, or ``"gcv"`` (leave-one-out pick).
    center : bool, default True
        Centre both inputs (the stitcher then maps means to means).

    Returns
    -------
    Stitcher
        The affine map ``X1 -> X2``; call it on new rows ``(m, d1)`` to get ``(m, d2)``.

    Examples
    --------
    >>> import numpy as np
    >>> X1 = np.random.default_rng(0).normal(size=(50, 4))
    >>> X2 = X1 @ np.random.default_rng(1).normal(size=(4, 3))
    >>> T = fit_stitcher(X1, X2, ridge=0.0)
    >>> bool(np.allclose(T(X1), X2))
    True
    """
    return stitch(X1, X2, ridge=ridge, center=center, direction="1->2").forward.stitcher


@renamed_kwargs(lam="ridge")
def stitch(X1, X2, *, ridge: float | str = "gcv", center: bool = True, direction: str = "both",
           X1_test=None, X2_test=None, head=None, y=None) -> StitchResult:
    """Fit the linear stitchers between ``X1`` and ``X2``; errors, the bound, optionally the task penalty.

    ``ridge``: a ridge ``>= 0`` relative to ``tr(C11) / d1`` (see the module doc), or ``"gcv"``
    (leave-one-out pick, per direction).
    ``X1_test``, ``X2_test``: paired held-out rows for ``e_test``. ``head``: a frozen
    classifier head (``nn.Module``) on X2's space, or a pair ``(head_on_2, head_on_1)``
    for both directions; with labels ``y`` of the rows it is evaluated on (the test rows
    when given, else the fit rows), each direction gets a
    :class:`~latentalign.align.head_penalty.TaskPenalty`.

    Parameters
    ----------
    X1 : array-like of shape (n_samples, d1)
        The source representation.
    X2 : array-like of shape (n_samples, d2)
        The target representation, same samples in the same order.
    ridge : float or "gcv", default "gcv"
        Ridge ``>= 0`` relative to ``tr(C11) / d1``, or ``"gcv"`` (leave-one-out pick per direction).
    center : bool, default True
        CKA_b and centred stitchers; ``False``: KA and linear maps through the origin.
    direction : {"both", "1->2", "2->1"}, default "both"
        Which stitchers to fit.
    X1_test : array-like of shape (m, d1), optional
        Held-out rows of X1 for ``e_test`` (with ``X2_test``).
    X2_test : array-like of shape (m, d2), optional
        The same held-out samples in X2.
    head : torch.nn.Module or tuple of two, optional
        A frozen classifier head on X2's space, or ``(head_on_2, head_on_1)``.
    y : array-like of shape (m,) or (n_samples,), optional
        Labels of the rows the head is evaluated on (the test rows when given).

    Returns
    -------
    StitchResult
        The alignment and, per direction, the stitcher, its errors and the bound.

    Examples
    --------
    >>> import numpy as np
    >>> X1 = np.random.default_rng(0).normal(size=(60, 4))
    >>> r = stitch(X1, X1 @ np.random.default_rng(1).normal(size=(4, 4)), ridge=0.0)
    >>> r.forward.lower <= r.forward.e_star <= r.forward.upper, round(r.forward.e_star, 12)
    (True, 0.0)
    """
    check_choice(direction, "direction", DIRECTIONS)
    center = check_bool(center, "center")
    if ridge != "gcv":
        ridge = check_nonnegative(ridge, "ridge")
    A, B = paired(X1, X2, min_samples=2, names=("X1", "X2"))
    if (X1_test is None) != (X2_test is None):
        raise ValueError("X1_test: give X1_test and X2_test together (paired held-out rows)")
    sides = (_Side(A, center), _Side(B, center))
    for side, name in zip(sides, ("X1", "X2")):
        if side.total <= 0 or side.s.numel() == 0:
            raise ValueError(f"{name}: every sample is identical (zero variance); nothing to stitch")
    cross = float((sides[0].Zc.T @ sides[1].Zc).square().sum())
    alignment = cross / (sides[0].fro * sides[1].fro)  # CKA_b (KA when uncentred)
    wanted = {"1->2": direction in ("both", "1->2"), "2->1": direction in ("both", "2->1")}
    forward = _direction(sides[0], sides[1], alignment, ridge, center) if wanted["1->2"] else None
    backward = _direction(sides[1], sides[0], alignment, ridge, center) if wanted["2->1"] else None
    if X1_test is not None:
        T1, T2 = paired(X1_test, X2_test, names=("X1_test", "X2_test"), allow_constant=True)
        for t, ref, name in ((T1, A, "X1_test"), (T2, B, "X2_test")):
            if t.shape[1] != ref.shape[1]:
                raise ValueError(f"{name}: expected {ref.shape[1]} features, got {t.shape[1]}")
        if forward is not None:
            forward.e_test = relative_error(T2, forward.stitcher(T1), center)
        if backward is not None:
            backward.e_test = relative_error(T1, backward.stitcher(T2), center)
    if head is not None:
        from .head_penalty import attach_task_penalties

        eval_pair = (A, B) if X1_test is None else (T1, T2)
        attach_task_penalties(forward, backward, head, eval_pair, y)
    return StitchResult(alignment, forward, backward, center)
