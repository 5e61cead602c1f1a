r"""Is an alignment score more than chance? Permutation p-values, bootstrap intervals, calibration.

For any registered metric (``docs/align.md#eq-permutation-p``; ``seed`` required):

* **permutation**: shuffle the pairing ``B`` times (``Y[pi]``); ``p = (1 + #{s_b >= s}) / (B + 1)``
  (``<=`` for a distance). The null values come from the vectorised evaluators of
  :mod:`latentalign.align.permutation`: Grams, self-terms and neighbour lists are built once.
* **bootstrap** (half-sampling): ``B`` subsamples of ``m = n/2`` pairs drawn without
  replacement; the interval is the replicates' percentile interval moved so that their
  median sits on the full-sample value, ``s + (q - median)``. Resampling with replacement
  would duplicate rows, and a duplicated pair is perfectly aligned with itself: biased CKA
  of independent data rose from 0.30 to a 0.43-0.52 "interval" that missed the value. Without
  replacement, the finite-population factor ``1 - m/n = 1/2`` makes the spread of a smooth
  statistic on ``m = n/2`` rows that of the full sample. The kNN metrics also scale ``k`` by
  ``m/n``, which adds spread, and shrink the interval by ``sqrt(m/n)`` (both calibrated by
  simulation against fresh samples in ``tests/align/test_align_significance.py``).
  Replicates where the metric is undefined (e.g. a constant subsample) are dropped and counted.
* **calibrated score**: ``s_cal = (s - mu0) / (s_best - mu0)`` and ``z = (s - mu0) / sd0`` from
  the permutation null (``s_best``: 1 for the similarities in ``[., 1]``, 0 for a distance).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(100, 5)); Y = X @ rng.normal(size=(5, 4)) + rng.normal(size=(100, 4))
>>> res = significance(X, Y, "cka", seed=0, permutations=200, bootstrap=100)
>>> res.p_value, res.ci[0] < res.value < res.ci[1]
(0.004975124378109453, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .._threads import thread_policy
from .._validate import _to_tensor, as_matrix, check_int, check_seed, rescale_extreme
from .permutation import evaluator
from .registry import MetricInfo, lookup

__all__ = ["significance", "permutation_test", "bootstrap_ci", "SignificanceResult", "PermutationResult",
           "BootstrapResult"]

_NEIGHBOUR_METRICS = ("mutual_knn", "cycle_knn", "cknna")


@dataclass
class PermutationResult:
    """A permutation test of one metric.

    Attributes
    ----------
    value : float
        The metric on the true pairing.
    p_value : float
        ``(1 + #{null at least as extreme}) / (B + 1)``.
    null : numpy.ndarray of shape (B,)
        The metric on the shuffled pairings.
    """

    value: float
    p_value: float
    null: np.ndarray  # the B permuted values


@dataclass
class BootstrapResult:
    """A half-sampling bootstrap of one metric.

    Attributes
    ----------
    value : float
        The metric on all rows.
    ci : tuple of float
        The interval, centred on ``value``.
    replicates : numpy.ndarray of shape (resamples,)
        The metric on each half-sample.
    dropped : int
        Replicates where the metric was undefined.
    subsample : int
        ``m = n/2`` rows per replicate, drawn without replacement.
    """

    value: float
    ci: tuple[float, float]
    replicates: np.ndarray
    dropped: int  # replicates where the metric was undefined
    subsample: int  # m = n/2 rows per replicate, drawn without replacement


@dataclass
class SignificanceResult:
    """A metric with its p-value, bootstrap interval and null-calibrated score.

    Attributes
    ----------
    value : float
        The metric.
    p_value : float or None
        Its permutation p-value (``None`` without permutations).
    ci : tuple of float or None
        Its bootstrap interval (``None`` without resamples).
    null_mean, null_sd : float or None
        Mean and sd of the permutation null.
    calibrated : float or None
        ``(s - mu0) / (s_best - mu0)``: 0 at chance, 1 at perfect alignment.
    z : float or None
        ``(s - mu0) / sd0``.
    metric : str
        The metric's name.
    expected_null_mean : float or None
        The null mean in closed form, where known (mutual kNN, unbiased CKA/HSIC).
    permutation : PermutationResult or None
        The full permutation test.
    bootstrap : BootstrapResult or None
        The full bootstrap.
    """

    value: float
    p_value: float | None
    ci: tuple[float, float] | None
    null_mean: float | None
    null_sd: float | None
    calibrated: float | None
    z: float | None
    metric: str = ""
    expected_null_mean: float | None = None  # known in closed form (mutual_knn, unbiased CKA/HSIC)
    permutation: PermutationResult | None = field(default=None, repr=False)
    bootstrap: BootstrapResult | None = field(default=None, repr=False)


def _inputs(info: MetricInfo, X, Y, options: dict):
    """Detached float64 ``X``, ``Y`` (kta's labels stay a 1-D tensor; the kNN metrics keep the input
    precision their neighbour search uses); the metric has validated them. A scale-invariant metric
    (no absolute bandwidth) gets each input rescaled by a power of two, so the fast permutation
    paths square nothing that overflows.
    """
    dtype = None if info.name in _NEIGHBOUR_METRICS else torch.float64
    scale_free = info.scale_invariant and options.get("sigma") is None and not callable(options.get("kernel"))
    rescale = rescale_extreme if scale_free else (lambda t: t)
    Xt = rescale(as_matrix(X, "X", dtype=dtype).detach())
    Yt = _to_tensor(Y, "y")
    Yt = Yt.detach() if info.name == "kta" and Yt.ndim == 1 else rescale(as_matrix(Y, "Y", dtype=dtype).detach())
    return Xt, Yt


def _p_value(value: float, null: np.ndarray, kind: str) -> float:
    tol = 1e-12 * max(1.0, abs(value))
    extreme = null >= value - tol if kind == "similarity" else null <= value + tol
    return float((1 + int(extreme.sum())) / (null.shape[0] + 1))


def permutation_test(X, Y, metric="cka", *, seed: int, permutations: int = 1000, **options) -> PermutationResult:
    """Permutation p-value of ``metric(X, Y, **options)`` against ``B = permutations`` shuffled pairings.

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order (labels ``(n_samples,)`` for ``kta``).
    metric : str or MetricInfo, default "cka"
        A registry name (:func:`metric`) or a standardized measure name.
    seed : int
        Seed of the permutations and resamples (required: results are reproducible).
    permutations : int, default 1000
        ``B``, the shuffled pairings.
    **options
        Passed to the metric.

    Returns
    -------
    PermutationResult
        The value, ``p = (1 + #{null at least as extreme}) / (B + 1)`` and the ``B`` null values.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> Y = X + 0.1 * np.random.default_rng(1).normal(size=(40, 3))
    >>> permutation_test(X, Y, seed=0, permutations=99).p_value
    0.01
    """
    info = lookup(metric, options, "metric")
    seed = check_seed(seed)
    permutations = check_int(permutations, "permutations")
    value = float(info.fn(X, Y, **options))
    Xt, Yt = _inputs(info, X, Y, options)
    values = evaluator(info.name, Xt, Yt, options)
    if values is None:
        def values(perms):
            return torch.tensor([float(info.fn(Xt, Yt[p], **options)) for p in perms], dtype=torch.float64)

        values.batch = 16
    gen = torch.Generator().manual_seed(seed)
    n = Xt.shape[0]
    null = []
    with thread_policy(values.batch * _metric_work(Xt, Yt)):
        for start in range(0, permutations, values.batch):
            b = min(values.batch, permutations - start)
            perms = torch.stack([torch.randperm(n, generator=gen) for _ in range(b)]).to(Xt.device)
            null.append(values(perms).detach().double().cpu())
    null = torch.cat(null).numpy()
    return PermutationResult(value, _p_value(value, null, info.kind), null)


def bootstrap_ci(X, Y, metric="cka", *, seed: int, resamples: int = 1000, confidence: float = 0.95,
                 **options) -> BootstrapResult:
    """Half-sampling interval of ``metric(X, Y, **options)``, centred on its value (see module doc).

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order (labels ``(n_samples,)`` for ``kta``).
    metric : str or MetricInfo, default "cka"
        A registry name (:func:`metric`) or a standardized measure name.
    seed : int
        Seed of the permutations and resamples (required: results are reproducible).
    resamples : int, default 1000
        Half-samples drawn (without replacement).
    confidence : float, default 0.95
        The interval's level.
    **options
        Passed to the metric.

    Returns
    -------
    BootstrapResult
        The value, the interval, the replicates and how many were undefined.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> Y = X + 0.1 * np.random.default_rng(1).normal(size=(40, 3))
    >>> r = bootstrap_ci(X, Y, seed=0, resamples=50)
    >>> r.ci[0] < r.value < r.ci[1]
    True
    """
    info = lookup(metric, options, "metric")
    seed = check_seed(seed)
    resamples = check_int(resamples, "resamples")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a level in (0, 1), got {confidence!r}")
    value = float(info.fn(X, Y, **options))
    Xt, Yt = _inputs(info, X, Y, options)
    n = Xt.shape[0]
    gen = torch.Generator().manual_seed(seed)
    knn_metric = info.name in _NEIGHBOUR_METRICS
    m, opts = max(n // 2, 2), dict(options)
    if knn_metric:
        k = options.get("k", 10)
        opts["k"] = max(2 if info.name == "cknna" else 1, min(m - 1, round(k * m / n)))
    reps, dropped = [], 0
    with thread_policy(_metric_work(Xt, Yt)):
        for _ in range(resamples):
            idx = torch.randperm(n, generator=gen)[:m]
            try:
                reps.append(float(info.fn(Xt[idx], Yt[idx], **opts)))
            except ValueError as exc:
                dropped, reason = dropped + 1, str(exc)
    if not reps:
        raise ValueError(f"X: the metric was undefined on all {resamples} bootstrap half-samples of {m} rows "
                         f"(needs more samples; last failure: {reason})")
    reps = np.array(reps)
    lo, hi = np.quantile(reps, [(1 - confidence) / 2, (1 + confidence) / 2])
    centre, shrink = float(np.median(reps)), math.sqrt(m / n) if knn_metric else 1.0
    lo, hi = value + (lo - centre) * shrink, value + (hi - centre) * shrink
    return BootstrapResult(value, (float(lo), float(hi)), reps, dropped, m)


def _metric_work(Xt: torch.Tensor, Yt: torch.Tensor) -> float:
    """Rough operations of one metric evaluation, for the thread policy: ``2 n max(n, d_x + d_y)``."""
    n = Xt.shape[0]
    width = sum(int(np.prod(Z.shape[1:])) for Z in (Xt, Yt))
    return 2.0 * n * max(n, width)


def _expected_null(info: MetricInfo, n: int, options: dict) -> float | None:
    if info.name == "mutual_knn":
        return options.get("k", 10) / (n - 1)
    if info.name in ("cka", "hsic") and options.get("unbiased", False):
        return 0.0
    return None


def significance(X, Y, metric="cka", *, seed: int, permutations: int = 1000, bootstrap: int = 1000,
                 confidence: float = 0.95, **options) -> SignificanceResult:
    """Value, permutation p-value, bootstrap interval and null-calibrated score of one metric.

    ``permutations=0`` or ``bootstrap=0`` skips that part (its fields are ``None``).
    ``options`` go to the metric (e.g. ``k=10``, ``unbiased=True``).

    Parameters
    ----------
    X : array-like of shape (n_samples, d1)
        The first representation.
    Y : array-like of shape (n_samples, d2)
        The second, same samples in the same order (labels ``(n_samples,)`` for ``kta``).
    metric : str or MetricInfo, default "cka"
        A registry name (:func:`metric`) or a standardized measure name.
    seed : int
        Seed of the permutations and resamples (required: results are reproducible).
    permutations : int, default 1000
        Shuffled pairings for the p-value and the null (0 skips them).
    bootstrap : int, default 1000
        Half-sample resamples for the interval (0 skips it).
    confidence : float, default 0.95
        The interval's level.
    **options
        Passed to the metric (e.g. ``k=10``, ``unbiased=True``).

    Returns
    -------
    SignificanceResult
        The value, p-value, interval, the null's mean and sd, the calibrated score and ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> Y = X + 0.1 * np.random.default_rng(1).normal(size=(40, 3))
    >>> r = significance(X, Y, seed=0, permutations=99, bootstrap=50)
    >>> r.p_value, r.ci[0] < r.value < r.ci[1]
    (0.01, True)
    """
    info = lookup(metric, options, "metric")
    seed = check_seed(seed)
    permutations = check_int(permutations, "permutations", minimum=0)
    bootstrap = check_int(bootstrap, "bootstrap", minimum=0)
    perm = permutation_test(X, Y, info, seed=seed, permutations=permutations, **options) if permutations else None
    boot = bootstrap_ci(X, Y, info, seed=seed, resamples=bootstrap, confidence=confidence, **options) \
        if bootstrap else None
    value = perm.value if perm is not None else (boot.value if boot is not None else float(info.fn(X, Y, **options)))
    mu = sd = cal = z = None
    if perm is not None:
        mu = float(perm.null.mean())
        sd = float(perm.null.std(ddof=1)) if permutations > 1 else 0.0
        best = info.best
        if math.isfinite(best) and best != mu:
            cal = (value - mu) / (best - mu)
        z = (value - mu) / sd if sd > 0 else None
    n = _to_tensor(X, "X").shape[0]
    return SignificanceResult(value, None if perm is None else perm.p_value, None if boot is None else boot.ci,
                              mu, sd, cal, z, info.name, _expected_null(info, n, options), perm, boot)
