"""The core (``kernels``, ``neighbors``), the probes (``train.probes``) and the data generators
on every family of bad input that applies to them (issue 13).

None of these take file paths (the bundled data sets are read from the package), so the
``wrong_file`` family is the CLI's. ``knn`` on exact ties is a valid input with a documented
answer (ties go to the smaller row number), checked here by value.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from latentalign import data, kernels, neighbors
from latentalign.lcc.metrics import knn_probe_accuracy
from latentalign.train import knn_probe, linear_probe

from .harness import Case

_rng = np.random.default_rng(1)
X = _rng.normal(size=(24, 5))
Y = X[:, :3] + 0.3 * _rng.normal(size=(24, 3))
Q = _rng.normal(size=(6, 5))
LABELS = (np.arange(24) // 2) % 2  # both classes in the even and the odd rows
Z = X + 3.0 * LABELS[:, None]


def _with(A: np.ndarray, value: float, at=(2, 1)) -> np.ndarray:
    A = A.copy()
    A[at] = value
    return A


def _same_ids(call, reference) -> Case:
    """A check: the same neighbour ids as ``reference`` (on the unscaled data)."""
    return lambda nb: torch.equal(nb.indices, reference().indices)


def _close(reference, rel=1e-9):
    return lambda v: math.isclose(float(v), float(reference()), rel_tol=rel, abs_tol=rel)


CASES: list[Case] = []

# --- neighbors.knn: every backend, both metrics, self-search and queries
for backend in ("torch", "faiss", "auto"):
    for metric in ("euclidean", "cosine"):
        tag = f"knn-{backend}-{metric}"
        for c in (1e-300, 1e300):
            CASES.append(Case("extreme_scale", f"{tag}-self-{c:.0e}",
                              lambda c=c, b=backend, m=metric: neighbors.knn(c * X, 4, metric=m, backend=b), None,
                              check=lambda nb, b=backend, m=metric: torch.equal(
                                  nb.indices, neighbors.knn(X, 4, metric=m, backend=b).indices)))
            CASES.append(Case("extreme_scale", f"{tag}-queries-{c:.0e}",
                              lambda c=c, b=backend, m=metric: neighbors.knn(c * X, 3, queries=c * Q, metric=m,
                                                                             backend=b), None,
                              check=lambda nb, b=backend, m=metric: torch.equal(
                                  nb.indices, neighbors.knn(X, 3, queries=Q, metric=m, backend=b).indices)))
        CASES += [
            Case("non_finite", f"{tag}-nan", lambda b=backend, m=metric: neighbors.knn(_with(X, np.nan), 3, metric=m,
                                                                                       backend=b),
                 arg="X", words="NaN"),
            Case("non_finite", f"{tag}-inf-queries",
                 lambda b=backend, m=metric: neighbors.knn(X, 3, queries=_with(Q, np.inf), metric=m, backend=b),
                 arg="queries", words="Inf"),
            Case("degenerate", f"{tag}-identical-rows-tie-order",
                 lambda b=backend, m=metric: neighbors.knn(np.ones((5, 2)), 2, metric=m, backend=b), None,
                 check=lambda nb: nb.indices.tolist() == [[1, 2], [0, 2], [0, 1], [0, 1], [0, 1]]),
        ]
    CASES += [
        Case("out_of_range", f"knn-{backend}-k-zero", lambda b=backend: neighbors.knn(X, 0, backend=b), arg="k",
             words=">= 1"),
        Case("out_of_range", f"knn-{backend}-k-n", lambda b=backend: neighbors.knn(X, 24, backend=b), arg="k",
             words="< n_samples"),
        Case("flag_type", f"knn-{backend}-k-float", lambda b=backend: neighbors.knn(X, 3.0, backend=b), TypeError,
             "k", "integer"),
        Case("rank_dtype_order", f"knn-{backend}-big-endian", lambda b=backend: neighbors.knn(X.astype(">f8"), 3,
                                                                                             backend=b), None,
             check=lambda nb, b=backend: torch.equal(nb.indices, neighbors.knn(X, 3, backend=b).indices)),
        Case("rank_dtype_order", f"knn-{backend}-longdouble",
             lambda b=backend: neighbors.knn(X.astype(np.longdouble), 3, backend=b), None,
             check=lambda nb, b=backend: torch.equal(nb.indices, neighbors.knn(X, 3, backend=b).indices)),
        Case("rank_dtype_order", f"knn-{backend}-queries-width",
             lambda b=backend: neighbors.knn(X, 3, queries=Q[:, :4], backend=b), arg="queries", words="features"),
    ]
CASES += [
    Case(
        "out_of_range", "knn-block_size-zero", lambda: neighbors.knn(X, 3, block_size=0), arg="block_size", words=">= 1"
    ),
    Case(
        "flag_type",
        "knn-block_size-float",
        lambda: neighbors.knn(X, 3, block_size=2.5),
        TypeError,
        "block_size",
        "integer",
    ),
    Case(
        "out_of_range",
        "knn-metric",
        lambda: neighbors.knn(X, 3, metric="manhattan"),
        arg="metric",
        words="expected one of",
    ),
    Case(
        "out_of_range",
        "knn-backend",
        lambda: neighbors.knn(X, 3, backend="gpu"),
        arg="backend",
        words="expected one of",
    ),
    Case(
        "degenerate",
        "knn-cosine-zero-row",
        lambda: neighbors.knn(_with(X, 0.0, at=2), 3, metric="cosine"),
        arg="X",
        words="all-zero row",
    ),
    Case("rank_dtype_order", "knn-1d", lambda: neighbors.knn(X[:, 0], 3), arg="X", words="2-D"),
    Case(
        "rank_dtype_order", "knn-strings", lambda: neighbors.knn(np.array([["a", "b"]]), 1), TypeError, "X", "numeric"
    ),
    Case(
        "extreme_scale",
        "knn-distances-scale-back",
        lambda: neighbors.knn(1e300 * X, 3).distances[0, 0],
        None,
        check=_close(lambda: 1e300 * neighbors.knn(X, 3).distances[0, 0], 1e-12),
    ),
    Case(
        "extreme_scale",
        "knn-float32-tiny",
        lambda: neighbors.knn(torch.tensor(1e-30 * X, dtype=torch.float32), 3),
        None,
        check=lambda nb: torch.equal(nb.indices, neighbors.knn(torch.tensor(X, dtype=torch.float32), 3).indices),
    ),
]

# --- kernels: Grams, HSIC forms, the median heuristic
_K, _L = (kernels.gram(A) for A in (X, Y))
CASES += [
    Case("extreme_scale", "hsic-linear-1e300", lambda: kernels.hsic(1e300 * X, Y), arg="X", words="too large"),
    Case("extreme_scale", "hsic-linear-1e-300", lambda: kernels.hsic(1e-300 * X, Y), arg="X", words="too small"),
    Case("extreme_scale", "hsic-linear-exact-1e100-1e-100", lambda: kernels.hsic(1e100 * X, 1e-100 * Y), None,
         check=_close(lambda: kernels.hsic(X, Y))),
    Case("extreme_scale", "hsic_linear-exact-2e60", lambda: kernels.hsic_linear(2.0**200 * X, Y, unbiased=True), None,
         check=_close(lambda: 2.0**400 * kernels.hsic_linear(X, Y, unbiased=True))),
    Case("extreme_scale", "hsic-cosine-invariant", lambda: kernels.hsic(1e300 * X, 1e-300 * Y, kernel="cosine"),
         None, check=_close(lambda: kernels.hsic(X, Y, kernel="cosine"))),
    Case("extreme_scale", "hsic-rbf-fixed-sigma", lambda: kernels.hsic(1e300 * X, Y, kernel="rbf", sigma=1.0),
         arg="X", words="too large"),
    Case("extreme_scale", "hsic_gram-bilinear", lambda: kernels.hsic_gram(1e300 * _K, 1e-300 * _L), None,
         check=_close(lambda: kernels.hsic_gram(_K, _L))),
    Case("extreme_scale", "gram-linear-overflow", lambda: kernels.gram(1e200 * X), arg="X", words="too large"),
    Case("extreme_scale", "gram-rbf-median-invariant", lambda: kernels.gram(1e300 * X, "rbf"), None,
         check=lambda K: torch.allclose(K, kernels.gram(X, "rbf"), rtol=1e-12, atol=1e-15)),
    Case("extreme_scale", "gram-cosine-tiny", lambda: kernels.gram(1e-300 * X, "cosine"), None,
         check=lambda K: torch.allclose(K, kernels.gram(X, "cosine"), rtol=1e-12, atol=1e-15)),
    Case("extreme_scale", "median_sq_distance-huge", lambda: kernels.median_sq_distance(1e300 * X), arg="X",
         words="too large"),
    Case("non_finite", "hsic-nan", lambda: kernels.hsic(_with(X, np.nan), Y), arg="X", words="NaN"),
    Case("non_finite", "hsic_gram-inf-L", lambda: kernels.hsic_gram(_K, _with(_L.numpy(), np.inf)), arg="L",
         words="Inf"),
    Case("non_finite", "gram-nan", lambda: kernels.gram(_with(X, np.nan)), arg="X", words="NaN"),
    Case("non_finite", "center_gram-nan", lambda: kernels.center_gram(_with(_K.numpy(), np.nan)), arg="K",
         words="NaN"),
    Case("non_finite", "hsic-callable-inf", lambda: kernels.hsic(
        X, Y, kernel=lambda A, B: torch.full((A.shape[0], B.shape[0]), float("inf"))), arg="kernel",
        words="non-finite"),
    Case("degenerate", "kernels-hsic-one-row", lambda: kernels.hsic(X[:1], Y[:1]), arg="X", words="at least 2"),
    Case("degenerate", "hsic-unbiased-three-rows", lambda: kernels.hsic(X[:3], Y[:3], unbiased=True), arg="X",
         words="at least 4"),
    Case("degenerate", "hsic-rbf-duplicated-rows", lambda: kernels.hsic(np.ones((6, 2)), Y[:6], kernel="rbf"),
         arg="X", words="median pairwise distance is 0"),
    Case("degenerate", "hsic-constant-is-zero", lambda: kernels.hsic(np.ones_like(X), Y), None,
         check=lambda v: v == 0.0),
    Case("out_of_range", "median_sq_distance-max_rows-zero", lambda: kernels.median_sq_distance(X, max_rows=0),
         arg="max_rows", words=">= 2"),
    Case("degenerate", "median_sq_distance-one-row", lambda: kernels.median_sq_distance(X[:1]), arg="X",
         words="at least 2"),
    Case("rank_dtype_order", "hsic_gram-not-square", lambda: kernels.hsic_gram(X, X), arg="K", words="square"),
    Case("rank_dtype_order", "hsic_gram-sizes-differ", lambda: kernels.hsic_gram(_K, _L[:5, :5]), arg="L",
         words="same number of samples"),
    Case("rank_dtype_order", "kernels-hsic-rows-differ", lambda: kernels.hsic(X, Y[:5]), arg="Y",
         words="same number of samples"),
    Case("rank_dtype_order", "kernels-hsic-big-endian", lambda: kernels.hsic(X.astype(">f8"), Y.astype(">f4")), None,
         check=_close(lambda: kernels.hsic(X, Y.astype(np.float32)), 1e-12)),
    Case("rank_dtype_order", "gram-complex", lambda: kernels.gram(X.astype(complex)), TypeError, "X", "real"),
    Case("rank_dtype_order", "center_gram-3d", lambda: kernels.center_gram(np.ones((2, 2, 2))), arg="K",
         words="2-D"),
    Case("flag_type", "kernels-hsic-unbiased-string", lambda: kernels.hsic(X, Y, unbiased="yes"), TypeError, "unbiased",
         "True or False"),
    Case("flag_type", "hsic_linear-unbiased-none", lambda: kernels.hsic_linear(X, Y, unbiased=None), TypeError,
         "unbiased", "True or False"),
    Case("flag_type", "hsic_gram-unbiased-int", lambda: kernels.hsic_gram(_K, _L, unbiased=1), TypeError,
         "unbiased", "True or False"),
    Case("flag_type", "hsic-sigma-string", lambda: kernels.hsic(X, Y, kernel="rbf", sigma="1"), TypeError, "sigma",
         "positive number"),
    Case("out_of_range", "hsic-block_size-zero", lambda: kernels.hsic(X, Y, block_size=0), arg="block_size",
         words=">= 1"),
    Case("out_of_range", "hsic-sigma-negative", lambda: kernels.hsic(X, Y, kernel="rbf", sigma=-1.0), arg="sigma",
         words="positive"),
    Case("out_of_range", "hsic-kernel-name", lambda: kernels.hsic(X, Y, kernel="laplace"), arg="kernel",
         words="expected one of"),
    Case("out_of_range", "hsic-path-feature-rbf", lambda: kernels.hsic(X, Y, kernel="rbf", path="feature"),
         arg="path", words="kernel='linear'"),
    Case("out_of_range", "hsic-seed-negative", lambda: kernels.hsic(X, Y, kernel="rbf", seed=-2), arg="seed",
         words=">= 0"),
    Case("out_of_range", "hsic-callable-wrong-shape", lambda: kernels.hsic(X, Y, kernel=lambda A, B: A @ B[:2].T),
         arg="kernel", words="shape"),
    Case("out_of_range", "gram-callable-wrong-shape", lambda: kernels.gram(X, lambda A, B: A), arg="kernel",
         words="shape"),
]

# --- train.probes: linear (logistic, lstsq) and kNN
_split = (Z[::2], LABELS[::2], Z[1::2], LABELS[1::2])


def _probe(fn, *, scale=1.0, nan_in=None, **kw):
    Ztr, ytr, Zte, yte = _split
    Ztr, Zte = scale * Ztr, scale * Zte
    if nan_in == "Z_train":
        Ztr = _with(Ztr, np.nan)
    if nan_in == "Z_test":
        Zte = _with(Zte, np.nan)
    return lambda: fn(Ztr, ytr, Zte, yte, **kw)


for name, fn, kw in (("linear_probe", linear_probe, {}), ("linear_probe-lstsq", linear_probe, {"kind": "lstsq"}),
                     ("knn_probe", knn_probe, {"k": 3}), ("knn_probe-euclidean", knn_probe,
                                                          {"k": 3, "metric": "euclidean"})):
    invariant = name != "linear_probe-lstsq"
    CASES += [
        Case("non_finite", f"{name}-nan-train", _probe(fn, nan_in="Z_train", **kw), arg="Z_train", words="NaN"),
        Case("non_finite", f"{name}-nan-test", _probe(fn, nan_in="Z_test", **kw), arg="Z_test", words="NaN"),
        Case("rank_dtype_order", f"{name}-labels-2d", lambda fn=fn, kw=kw: fn(Z, LABELS[:, None], Z, LABELS, **kw),
             arg="y_train", words="1-D"),
        Case("rank_dtype_order", f"{name}-labels-count", lambda fn=fn, kw=kw: fn(Z, LABELS[:-1], Z, LABELS, **kw),
             arg="y_train", words="expected 24 labels"),
        Case("rank_dtype_order", f"{name}-test-width", lambda fn=fn, kw=kw: fn(Z, LABELS, Z[:, :2], LABELS, **kw),
             arg="Z_test", words="features"),
        Case("out_of_range", f"{name}-negative-labels", lambda fn=fn, kw=kw: fn(Z, LABELS - 1, Z, LABELS, **kw),
             arg="y_train", words=">= 0"),
    ]
    for c in (1e-300, 1e300):
        if invariant:
            CASES.append(Case("extreme_scale", f"{name}-scaled-{c:.0e}", _probe(fn, scale=c, **kw), None,
                              check=_close(_probe(fn, **kw), 1e-12)))
        else:
            CASES.append(Case("extreme_scale", f"{name}-scaled-{c:.0e}", _probe(fn, scale=c, **kw), arg="Z_train",
                              words="too large" if c > 1 else "too small"))
CASES += [
    Case("out_of_range", "knn_probe-k-above-train", _probe(knn_probe, k=50), arg="k", words="training samples"),
    Case("out_of_range", "knn_probe-weights", _probe(knn_probe, weights="distance"), arg="weights",
         words="expected one of"),
    Case("out_of_range", "knn_probe-temperature-zero", _probe(knn_probe, weights="exp", temperature=0.0),
         arg="temperature", words="positive"),
    Case("out_of_range", "knn_probe-knn_backend", _probe(knn_probe, knn_backend="gpu"), arg="backend",
         words="expected one of"),
    Case("flag_type", "knn_probe-k-float", _probe(knn_probe, k=3.0), TypeError, "k", "integer"),
    Case("out_of_range", "linear_probe-kind", _probe(linear_probe, kind="svm"), arg="kind", words="expected one of"),
    Case("out_of_range", "linear_probe-ridge-negative", _probe(linear_probe, kind="lstsq", ridge=-1.0), arg="ridge",
         words="non-negative"),
    Case("out_of_range", "linear_probe-ridge-zero-logistic", _probe(linear_probe, ridge=0.0), arg="ridge",
         words="positive"),
    Case("flag_type", "linear_probe-ridge-string", _probe(linear_probe, ridge="1"), TypeError, "ridge",
         "positive number"),
    Case("non_finite", "knn_probe-nan-labels", lambda: knn_probe(Z, np.where(LABELS == 0, np.nan, 1.0), Z, LABELS,
                                                                 k=3), arg="y_train", words="integer"),
    Case("degenerate", "knn_probe-constant-labels-valid", lambda: knn_probe(Z, np.zeros(24, int), Z,
                                                                            np.zeros(24, int), k=3), None,
         check=lambda acc: acc == 1.0),
]

# --- data generators (no files: the bundled sets are read from the package)
CASES += [
    Case("out_of_range", "ring-n-zero", lambda: data.ring(0), arg="n", words=">= 1"),
    Case("out_of_range", "ring-dim-one", lambda: data.ring(10, dim=1), arg="dim", words=">= 2"),
    Case("out_of_range", "torus-noise-negative", lambda: data.torus(10, noise=-0.1), arg="noise",
         words="non-negative"),
    Case("non_finite", "swiss_roll-noise-nan", lambda: data.swiss_roll(10, noise=float("nan")), arg="noise",
         words="non-negative"),
    Case("flag_type", "ring-n-float", lambda: data.ring(10.0), TypeError, "n", "integer"),
    Case("flag_type", "torus-seed-string", lambda: data.torus(10, seed="0"), TypeError, "seed", "integer"),
    Case("out_of_range", "gaussian_mixture-seed-negative", lambda: data.gaussian_mixture(20, 3, seed=-1), arg="seed",
         words=">= 0"),
    Case("out_of_range", "gaussian_pairs-corr-above-one", lambda: data.gaussian_pairs(50, 3, 2, [1.5]),
         arg="canonical_corrs", words="[0, 1)"),
    Case("non_finite", "gaussian_pairs-cov-nan", lambda: data.gaussian_pairs(50, 2, 2, [0.5],
                                                                             cov_x=[[1.0, np.nan], [np.nan, 1.0]]),
         arg="cov_x", words="non-finite"),
    Case("degenerate", "gaussian_pairs-cov-singular", lambda: data.gaussian_pairs(50, 2, 2, [0.5],
                                                                                  cov_x=np.ones((2, 2))),
         arg="cov_x", words="positive definite"),
    Case("rank_dtype_order", "gaussian_pairs-cov-shape", lambda: data.gaussian_pairs(50, 2, 2, [0.5],
                                                                                     cov_y=np.eye(3)),
         arg="cov_y", words="shape"),
    Case("out_of_range", "digit_comparisons-n-zero", lambda: data.digit_comparisons(0), arg="n", words=">= 1"),
    Case("out_of_range", "mfeat-unknown-view", lambda: data.mfeat("pixels"), arg="views", words="pix"),
]

# --- the deprecated kNN probe of lcc forwards to knn_probe (loo_knn_accuracy's cases are the lcc table's)
CASES += [
    Case("non_finite", "knn_probe_accuracy-nan", lambda: knn_probe_accuracy(_with(Z, np.nan), LABELS, Z, LABELS, k=3),
         arg="Z_train", words="NaN"),
    Case("extreme_scale", "knn_probe_accuracy-scaled", lambda: knn_probe_accuracy(1e300 * Z, LABELS, 1e300 * Z,
                                                                                  LABELS, k=3), None,
         check=_close(lambda: knn_probe_accuracy(Z, LABELS, Z, LABELS, k=3), 1e-12)),
]
