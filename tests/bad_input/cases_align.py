"""The alignment API (``latentalign.align``) on every family of bad input (issue 13).

Each pair metric is described once (``Spec``: how to call it, whether it is scale invariant,
how a constant input is judged, its flags and options); the families are then built from
those descriptions, every case with its own expected outcome. Scale-invariant metrics must
give the value of the unscaled data at 1e-300 and 1e300; the others refuse with a message
naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from latentalign import align
from latentalign.align import measures, stitching, subspace_metrics, task
from latentalign.align.geometry_measures import aligned_cosine
from latentalign.align.head_penalty import task_penalty

from .harness import Case

_rng = np.random.default_rng(0)
X = _rng.normal(size=(30, 4))
Y = X @ _rng.normal(size=(4, 3)) + 0.5 * _rng.normal(size=(30, 3))
LABELS = np.arange(30) % 3


def _with(A: np.ndarray, value: float, at=(3, 1)) -> np.ndarray:
    A = A.copy()
    A[at] = value
    return A


def _scalar(v) -> float:
    """One number from a metric's answer (a float, a 0-d tensor, an array, a result object)."""
    for attr in ("alignment", "total", "value"):
        if hasattr(v, attr):
            v = getattr(v, attr)
    if hasattr(v, "stitcher"):
        v = v.e_star
    arr = np.asarray(v.detach() if isinstance(v, torch.Tensor) else v, dtype=float)
    return float(arr.mean())


def _close_to(reference: Callable[[], object], rel: float = 1e-9) -> Callable[[object], bool]:
    """A check: the value equals ``reference()`` (the same call on ordinary data) to ``rel``."""
    return lambda v: math.isclose(_scalar(v), _scalar(reference()), rel_tol=rel, abs_tol=rel)


@dataclass(frozen=True)
class Spec:
    """One public pair callable ``fn(X, Y, **kw)`` and how it must behave."""

    name: str
    fn: Callable
    kw: dict = field(default_factory=dict)
    invariant: bool = True  # f(cX, cY) == f(X, Y)
    constant: str | None = "identical"  # words of the error on a constant X; None: a valid value
    min_n: int = 2  # a 1-row input is refused naming X
    flags: tuple[str, ...] = ()  # keyword flags (bool)
    options: tuple[tuple[str, object, type, str, str], ...] = ()  # (keyword, bad value, error, arg, words)

    def call(self, A, B, **extra):
        return lambda: self.fn(A, B, **{**self.kw, **extra})


SPECS = (
    Spec("cka", align.cka, flags=("unbiased",), options=(
        ("kernel", "poly", ValueError, "kernel", "expected one of"),
        ("block_size", 0, ValueError, "block_size", ">= 1"),
        ("path", "diagonal", ValueError, "path", "expected one of"),
        ("sigma", 0.0, ValueError, "sigma", "positive"))),
    Spec("cka-rbf", align.cka, {"kernel": "rbf"}, options=(("seed", -1, ValueError, "seed", ">= 0"),)),
    Spec("cka-rbf-sigma", align.cka, {"kernel": "rbf", "sigma": 2.0}, invariant=False),
    Spec("cka-cosine", align.cka, {"kernel": "cosine"}, constant="identical"),
    Spec("ka", align.ka, constant=None, options=(("path", "sideways", ValueError, "path", "expected one of"),)),
    Spec("hsic", align.hsic, invariant=False, constant=None, flags=("unbiased",),
         options=(("block_size", -3, ValueError, "block_size", ">= 1"),)),
    Spec("mmd_alignment", align.mmd_alignment, invariant=False, constant=None,
         options=(("block_size", 0, ValueError, "block_size", ">= 1"), ("path", "diagonal", ValueError, "path",
                                                                         "expected one of"))),
    Spec("mmd_alignment-rbf", align.mmd_alignment, {"kernel": "rbf"}, invariant=False,
         constant="median pairwise distance is 0",
         options=(("seed", -1, ValueError, "seed", ">= 0"),)),
    Spec("dcor", align.dcor, options=(("block_size", 0, ValueError, "block_size", ">= 1"),)),
    Spec("rsa", align.rsa, options=(("rdm", "manhattan", ValueError, "rdm", "expected one of"),
                                    ("compare", "kendall", ValueError, "compare", "expected one of"))),
    Spec("rsa-cosine-spearman", align.rsa, {"rdm": "cosine", "compare": "spearman"}, min_n=3),
    Spec("mutual_knn", align.mutual_knn, {"k": 5}, options=(
        ("k", 0, ValueError, "k", ">= 1"), ("k", 30, ValueError, "k", "< n_samples"),
        ("metric", "manhattan", ValueError, "metric", "expected one of"),
        ("knn_backend", "gpu", ValueError, "knn_backend", "expected one of"))),
    Spec("mutual_knn-euclidean", align.mutual_knn, {"k": 5, "metric": "euclidean"}),
    Spec("cycle_knn", align.cycle_knn, {"k": 5}, options=(("k", 2.0, TypeError, "k", "integer"),)),
    Spec("cknna", align.cknna, {"k": 5}, min_n=4, options=(("k", 1, ValueError, "k", ">= 2"),)),
    Spec("cca", align.cca, min_n=3, flags=("squared",)),
    Spec("svcca", align.svcca, min_n=3, flags=("squared",), options=(
        ("dims", 100, ValueError, "dims", "features"), ("dims", 0, ValueError, "dims", ">= 1"),
        ("dims", (2,), ValueError, "dims", "(dims_x, dims_y)"), ("keep", 1.5, ValueError, "keep", "(0, 1]"))),
    Spec("canonical_correlations", align.canonical_correlations, min_n=3),
    Spec("procrustes", align.procrustes, options=(("distance", "cosine", ValueError, "distance", "expected one of"),)),
    Spec("procrustes_similarity", align.procrustes_similarity),
    Spec("spectral", align.spectral, invariant=False, flags=("center",)),
    Spec("stitch", align.stitch, invariant=False, flags=("center",), options=(
        ("ridge", -1.0, ValueError, "ridge", "non-negative"), ("direction", "up", ValueError, "direction", "one of"))),
    Spec("loo_curve", align.loo_curve, invariant=False, flags=("center",),
         options=(("grid", [1.0, -1.0], ValueError, "grid", "non-negative"),)),
    Spec("aligned_cosine", aligned_cosine, invariant=False, flags=("centered_columns",)),
)
_NAMES = {"stitch": ("X1", "X2"), "loo_curve": ("X1", "X2")}


def _arg(spec: Spec, i: int) -> str:
    return _NAMES.get(spec.name, ("X", "Y"))[i]


def _cases_for(s: Spec) -> list[Case]:
    a, b = _arg(s, 0), _arg(s, 1)
    out = [
        Case("non_finite", f"{s.name}-nan-x", s.call(_with(X, np.nan), Y), arg=a, words="NaN"),
        Case("non_finite", f"{s.name}-inf-y", s.call(X, _with(Y, -np.inf)), arg=b, words="Inf"),
        Case("rank_dtype_order", f"{s.name}-1d-x", s.call(X[:, 0], Y), arg=a, words="2-D"),
        Case("rank_dtype_order", f"{s.name}-rows-differ", s.call(X, Y[:-1]), arg=b, words="same number of samples"),
        Case("rank_dtype_order", f"{s.name}-complex-y", s.call(X, Y.astype(complex)), TypeError, b, "real"),
        Case("rank_dtype_order", f"{s.name}-big-endian", s.call(X.astype(">f8"), Y.astype(">f8")), None,
             check=_close_to(s.call(X, Y), 1e-12)),
        Case("degenerate", f"{s.name}-one-row", s.call(X[:1], Y[:1]), arg=a, words="at least"),
    ]
    for c in (1e-300, 1e300):
        big = c > 1
        if s.invariant:
            out.append(Case("extreme_scale", f"{s.name}-scaled-{c:.0e}", s.call(c * X, c * Y), None,
                            check=_close_to(s.call(X, Y), 1e-9)))
        else:
            out.append(Case("extreme_scale", f"{s.name}-scaled-{c:.0e}", s.call(c * X, c * Y), arg=a,
                            words="too large" if big else "too small"))
    if s.constant is None:
        out.append(Case("degenerate", f"{s.name}-constant-x", s.call(np.ones_like(X), Y), None,
                        check=lambda v: math.isfinite(_scalar(v))))
    else:
        out.append(Case("degenerate", f"{s.name}-constant-x", s.call(np.ones_like(X), Y), arg=a, words=s.constant))
    for flag in s.flags:
        out.append(Case("flag_type", f"{s.name}-{flag}-none", s.call(X, Y, **{flag: None}), TypeError, flag,
                        "True or False"))
        out.append(Case("flag_type", f"{s.name}-{flag}-string", s.call(X, Y, **{flag: "no"}), TypeError, flag,
                        "True or False"))
    for i, (key, value, exc, arg, words) in enumerate(s.options):
        family = "flag_type" if exc is TypeError else "out_of_range"
        out.append(Case(family, f"{s.name}-{key}-{i}", s.call(X, Y, **{key: value}), exc, arg, words))
    return out


def _wrong_shape_kernel(A, B):
    return A @ B.T[:, :1]


class _Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, z):
        return self.fc(z)


_HEAD = _Head()
_MEASURE_NAMES = sorted({measures.example(t) for t in measures.MEASURES})
_INVARIANT = [n for n in _MEASURE_NAMES if measures.measure(n).scale_invariant
              and not n.startswith(("cosine", "rsa-rdm=poisson"))]
_NOT_INVARIANT = [n for n in _MEASURE_NAMES if not measures.measure(n).scale_invariant
                  and not n.startswith(("cosine", "rsa-rdm=poisson"))]


XM = _rng.normal(size=(40, 12))  # wide enough for the examples' dim=10
YM = XM[:, :11] + 0.5 * _rng.normal(size=(40, 11))


def _measure(name: str, A, B):
    return lambda: measures.measure(name).fn(A, B)


CASES = [case for spec in SPECS for case in _cases_for(spec)] + [
    # the issue's own numbers: the same neighbours and the same shape distance at 1e+-300
    Case("extreme_scale", "mutual_knn-cosine-1e300-one-input", lambda: align.mutual_knn(1e300 * X, Y, k=5), None,
         check=_close_to(lambda: align.mutual_knn(X, Y, k=5), 1e-12)),
    Case("extreme_scale", "procrustes-mixed-scales", lambda: align.procrustes(1e-300 * X, 1e300 * Y), None,
         check=_close_to(lambda: align.procrustes(X, Y), 1e-9)),
    Case("extreme_scale", "hsic-linear-moderate-scale-exact", lambda: align.hsic(1e40 * X, 1e-40 * Y), None,
         check=_close_to(lambda: align.hsic(X, Y), 1e-9)),
    Case("extreme_scale", "hsic-rbf-median-invariant", lambda: align.hsic(1e300 * X, Y, kernel="rbf"), None,
         check=_close_to(lambda: align.hsic(X, Y, kernel="rbf"), 1e-9)),
    Case("extreme_scale", "hsic-gram-overflow", lambda: align.hsic(1e200 * X, 1e200 * Y, path="gram"),
         arg="X", words="too large"),
    Case("extreme_scale", "kta-scaled", lambda: align.kta(1e300 * X, LABELS), None,
         check=_close_to(lambda: align.kta(X, LABELS), 1e-9)),
    Case("extreme_scale", "cumulative_power-scaled", lambda: align.cumulative_power(1e-300 * X, LABELS), None,
         check=_close_to(lambda: align.cumulative_power(X, LABELS), 1e-9)),
    Case("extreme_scale", "kare-refuses-tiny", lambda: align.kare(1e-300 * X, LABELS, 0.1), arg="X",
         words="too small"),
    Case("extreme_scale", "permutation_test-cka-scaled",
         lambda: align.permutation_test(1e300 * X, 1e300 * Y, "cka", seed=0, permutations=20), None,
         check=_close_to(lambda: align.permutation_test(X, Y, "cka", seed=0, permutations=20), 1e-9)),
    Case("extreme_scale", "permutation_test-mutual_knn-scaled",
         lambda: align.permutation_test(1e-300 * X, Y, "mutual_knn", seed=0, permutations=20, k=5), None,
         check=lambda r: r.p_value == align.permutation_test(X, Y, "mutual_knn", seed=0, permutations=20,
                                                                     k=5).p_value),
    Case("extreme_scale", "bootstrap_ci-procrustes-scaled",
         lambda: align.bootstrap_ci(1e300 * X, Y, "procrustes", seed=0, resamples=20).ci[0], None,
         check=_close_to(lambda: align.bootstrap_ci(X, Y, "procrustes", seed=0, resamples=20).ci[0], 1e-9)),
    # degenerate inputs the issue lists
    Case("degenerate", "mutual_knn-identical-rows", lambda: align.mutual_knn(np.ones((20, 3)), X[:20], k=3),
         arg="X", words="identical"),
    Case("degenerate", "cknna-constant-y", lambda: align.cknna(X, np.full((30, 3), 2.0), k=5), arg="Y",
         words="identical"),
    Case("degenerate", "cka-unbiased-three-rows", lambda: align.cka(X[:3], Y[:3], unbiased=True), arg="X",
         words="at least 4"),
    Case("degenerate", "cca-ranks-fill-n", lambda: align.cca(X[:6], Y[:6]), arg="X", words="intersect"),
    Case("degenerate", "kta-one-class", lambda: align.kta(X, np.zeros(30, dtype=int)), arg="y",
         words="2 distinct labels"),
    Case("degenerate", "stitch-constant-x2", lambda: align.stitch(X, np.ones((30, 3))), arg="X2",
         words="identical"),
    # kernel callables and flags of the other public callables
    Case("out_of_range", "cka-kernel-wrong-shape", lambda: align.cka(X, Y, kernel=_wrong_shape_kernel, path="gram"),
         arg="kernel", words="shape"),
    Case("out_of_range", "hsic-kernel-not-a-tensor",
         lambda: align.hsic(X, Y, kernel=lambda A, B: (A @ B.T).numpy(), path="gram"), arg="kernel", words="shape"),
    Case("non_finite", "cka-kernel-returns-nan",
         lambda: align.cka(X, Y, kernel=lambda A, B: torch.full((A.shape[0], B.shape[0]), float("nan")),
                           path="gram"), arg="kernel", words="non-finite"),
    Case("flag_type", "cumulative_power-center-string", lambda: align.cumulative_power(X, LABELS, center="no"),
         TypeError, "center", "True or False"),
    Case("flag_type", "kare-center-int", lambda: align.kare(X, LABELS, 0.1, center=1), TypeError, "center",
         "True or False"),
    Case("flag_type", "fit_stitcher-center-none", lambda: align.fit_stitcher(X, Y, center=None), TypeError, "center",
         "True or False"),
    Case("flag_type", "compare_models-stitch-string",
         lambda: align.compare_models(nn.Linear(3, 3), nn.Linear(3, 3), [], stitch="no"), TypeError, "stitch",
         "True or False"),
    Case("flag_type", "permutation_test-permutations-float",
         lambda: align.permutation_test(X, Y, "cka", seed=0, permutations=10.0), TypeError, "permutations",
         "integer"),
    Case("flag_type", "significance-seed-string", lambda: align.significance(X, Y, "cka", seed="0"), TypeError,
         "seed", "integer"),
    Case("out_of_range", "permutation_test-zero", lambda: align.permutation_test(X, Y, "cka", seed=0,
                                                                                permutations=0),
         arg="permutations", words=">= 1"),
    Case("out_of_range", "bootstrap_ci-confidence", lambda: align.bootstrap_ci(X, Y, "cka", seed=0, confidence=1.5),
         arg="confidence", words="(0, 1)"),
    Case("out_of_range", "significance-seed-negative", lambda: align.significance(X, Y, "cka", seed=-1),
         arg="seed", words=">= 0"),
    Case("out_of_range", "permutation_test-unknown-metric", lambda: align.permutation_test(X, Y, "ckaa", seed=0),
         arg="metric", words="closest supported: cka"),
    Case("flag_type", "significance-metric-not-a-name", lambda: align.significance(X, Y, {"cka": {}}, seed=0),
         TypeError, "metric", "metric name"),
    Case("out_of_range", "permutation_test-unknown-option",
         lambda: align.permutation_test(X, Y, "cka", seed=0, permutations=5, k=3), TypeError, "k", "no option"),
    Case("out_of_range", "bootstrap_ci-measure-takes-no-option",
         lambda: align.bootstrap_ci(X, Y, "procrustes-score", seed=0, resamples=5, unbiased=True), TypeError,
         "unbiased", "options: none"),
    Case("out_of_range", "compare_models-unknown-metric",
         lambda: align.compare_models(nn.Linear(3, 3), nn.Linear(3, 3), [], metrics=("nope",)), arg="metrics",
         words="unknown measure"),
    Case("out_of_range", "compare_models-unknown-option",
         lambda: align.compare_models(nn.Linear(3, 3), nn.Linear(3, 3), [], metrics={"cka": {"k": 3}}), TypeError,
         "k", "no option"),
    Case("out_of_range", "metric-unknown-name", lambda: align.metric("ckaa"), arg="name", words="closest"),
    Case("out_of_range", "measure-svcca-dim-above-features", _measure("svcca-dim=10-score", X, Y), arg="X",
         words="more than its 4 features"),
    Case("out_of_range", "measure-shape-alpha-out-of-range", lambda: align.measure("shape_metric-alpha=2-score"),
         arg="name", words="outside"),
    Case("out_of_range", "kare-ridge-zero", lambda: align.kare(X, LABELS, 0.0), arg="ridge", words="positive"),
    Case("out_of_range", "svcca-dims-pair-above-y", lambda: align.svcca(X, Y, dims=(2, 4)), arg="dims",
         words="features of Y"),
    # task_penalty (the frozen-head dCE) on bad stitched data
    Case("non_finite", "task_penalty-nan-stitched", lambda: task_penalty(_HEAD, Y, _with(Y, np.nan), LABELS),
         arg="stitched", words="NaN"),
    Case("non_finite", "task_penalty-inf-native", lambda: task_penalty(_HEAD, _with(Y, np.inf), Y, LABELS),
         arg="native", words="Inf"),
    Case("rank_dtype_order", "task_penalty-width-differs", lambda: task_penalty(_HEAD, Y, X, LABELS),
         arg="stitched", words="features"),
    Case("rank_dtype_order", "task_penalty-head-width", lambda: task_penalty(_HEAD, X, X, LABELS), arg="head",
         words="cannot be applied"),
    Case("rank_dtype_order", "task_penalty-labels-2d", lambda: task_penalty(_HEAD, Y, Y, LABELS[:, None]),
         arg="y", words="1-D"),
    Case("extreme_scale", "task_penalty-huge", lambda: task_penalty(_HEAD, 1e300 * Y, Y, LABELS), arg="native",
         words="too large"),
    Case("rank_dtype_order", "stitch-test-width", lambda: align.stitch(X, Y, X1_test=Y, X2_test=Y), arg="X1_test",
         words="features"),
    Case("non_finite", "stitch-test-nan", lambda: align.stitch(X, Y, X1_test=_with(X, np.nan), X2_test=Y),
         arg="X1_test", words="NaN"),
    Case("rank_dtype_order", "stitcher-call-width", lambda: align.fit_stitcher(X, Y)(Y), arg="X", words="features"),
    Case("rank_dtype_order", "dissimilarity_matrix-3d",
         lambda: align.dissimilarity_matrix(np.ones((2, 2, 2))), arg="X", words="2-D"),
    Case("non_finite", "kta-nan-labels", lambda: align.kta(X, np.where(LABELS == 0, np.nan, LABELS)), arg="y",
         words="integer"),
    Case("rank_dtype_order", "knn_adjacency-object", lambda: align.knn_adjacency(np.array([[1, "a"]], dtype=object)),
         TypeError, "X", "numeric"),
    Case("extreme_scale", "knn_adjacency-scaled", lambda: align.knn_adjacency(1e-300 * X, 4).to_dense(), None,
         check=lambda A: torch.equal(A, align.knn_adjacency(X, 4).to_dense())),
    Case("extreme_scale", "spectral-moderate-scale", lambda: align.spectral(1e30 * X, Y).total, None,
         check=_close_to(lambda: align.spectral(X, Y).total, 1e-9)),
    Case("extreme_scale", "subspace-ranked-basis-scaled",
         lambda: subspace_metrics.canonical_correlations(1e300 * X, 1e-300 * Y), None,
         check=_close_to(lambda: subspace_metrics.canonical_correlations(X, Y), 1e-9)),
    Case("degenerate", "targets-wrong-rows", lambda: task.targets(np.ones((5, 2)), 30), arg="y", words="30 rows"),
    Case("out_of_range", "stitching-loo-grid-string", lambda: stitching.loo_curve(X, Y, grid=["a"]), TypeError,
         "grid", "non-negative number"),
]
# every standardized measure: the scale-invariant ones give the same value at 1e+-150 and 1e+-300
# (checked against the unscaled data), the others refuse 1e300 naming X
CASES += [
    Case("extreme_scale", f"measure-{name}-1e300", _measure(name, 1e300 * XM, 1e300 * YM), None,
         check=_close_to(_measure(name, XM, YM), 1e-9))
    for name in _INVARIANT[::3]
] + [
    Case("extreme_scale", f"measure-{name}-1e300", _measure(name, 1e300 * XM, 1e300 * YM), arg="X",
         words="too large")
    for name in _NOT_INVARIANT[::4] if not name.startswith("hsic")
]


# --- streaming (torchmetrics states): each update is validated, compute refuses undefined scores
def _stream(*batches, **kw):
    def run():
        metric = align.LinearCKA(**kw)
        for A, B in batches:
            metric.update(A, B)
        return metric.compute()
    return run


def _layers(**kw):
    return lambda: align.LayerCKA([4], [3], **kw)


CASES += [
    Case("flag_type", "LinearCKA-unbiased-string", _stream(unbiased="no"), TypeError, "unbiased", "True or False"),
    Case("flag_type", "LayerCKA-unbiased-int", _layers(unbiased=1), TypeError, "unbiased", "True or False"),
    Case("flag_type", "LayerCKA-dims-float", lambda: align.LayerCKA([4.0], [3]), TypeError, "dims_a", "integer"),
    Case("out_of_range", "LayerCKA-mode", _layers(mode="fast"), arg="mode", words="expected one of"),
    Case("out_of_range", "LayerCKA-dims-zero", lambda: align.LayerCKA([0], [3]), arg="dims_a", words=">= 1"),
    Case("non_finite", "LinearCKA-nan-batch", _stream((X[:15], Y[:15]), (_with(X[15:], np.nan), Y[15:])), arg="X",
         words="NaN"),
    Case("extreme_scale", "LinearCKA-huge-batch", _stream((1e300 * X, Y)), arg="X", words="too large"),
    Case("extreme_scale", "LinearCKA-tiny-batch", _stream((X, 1e-300 * Y)), arg="Y", words="too small"),
    Case("rank_dtype_order", "LinearCKA-width-changes", _stream((X[:15], Y[:15]), (X[15:, :3], Y[15:])), arg="X",
         words="4 features"),
    Case("rank_dtype_order", "LinearCKA-rows-differ", _stream((X, Y[:-2])), arg="Y", words="same number of samples"),
    Case("rank_dtype_order", "LinearCKA-big-endian", _stream((X[:15].astype(">f8"), Y[:15]), (X[15:], Y[15:])), None,
         check=_close_to(lambda: align.cka(X, Y), 1e-10)),
    Case("degenerate", "LinearCKA-one-row", _stream((X[:1], Y[:1])), arg="X", words="at least 2"),
    Case("degenerate", "LinearCKA-constant-x", _stream((np.ones_like(X), Y)), arg="X", words="self-HSIC"),
    # every entry point converts big-endian and longdouble data (no torch byte-order error)
    Case("rank_dtype_order", "task_penalty-big-endian", lambda: task_penalty(_HEAD, Y.astype(">f8"), Y, LABELS), None,
         check=lambda r: r.delta_ce == 0.0 and r.delta_acc == 0.0),
    Case("rank_dtype_order", "kta-big-endian-labels", lambda: align.kta(X, LABELS.astype(">i8")), None,
         check=_close_to(lambda: align.kta(X, LABELS), 1e-12)),
    Case("rank_dtype_order", "stitcher-call-longdouble",
         lambda: align.fit_stitcher(X, Y, ridge=0.1)(X.astype(np.longdouble)), None,
         check=lambda out: np.allclose(out, align.fit_stitcher(X, Y, ridge=0.1)(X), rtol=1e-12)),
    Case("rank_dtype_order", "permutation_test-big-endian",
         lambda: align.permutation_test(X.astype(">f8"), Y, "cka", seed=0, permutations=10).p_value, None,
         check=_close_to(lambda: align.permutation_test(X, Y, "cka", seed=0, permutations=10).p_value, 1e-12)),
]
