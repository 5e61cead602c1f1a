r"""Every similarity measure under its standardized name (the registry of Cloos, Yang & Cueva 2024).

``measure(name)`` parses a name of the registry (``nacloos/similarity-repository``, grammar in
:mod:`latentalign.align.names`) and returns a :class:`~latentalign.align.registry.MetricInfo`
whose ``fn(X, Y)`` computes it; our own registry names (``"cka"``, ``"mutual_knn"``, ...) are
accepted too. :data:`MEASURES` lists the supported names; a parameter in braces (``{sigma}``,
``{alpha}``, ``{dim}``) takes any value of its range (``sigma=1.0``, ``alpha=0.5``, ``dim=10``).
An unknown or unsupported name is a ``ValueError`` naming the closest supported ones.

Where public implementations disagree on a name, the value is the majority's (each
measure's docstring says which, and where the defining paper differs). The ``euclidean``
distance forms use the Frobenius norms of the column-centred inputs, as the registry's
``standardization.py`` does: they are not scale invariant.

Examples
--------
>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(40, 5)); Y = X + np.random.default_rng(1).normal(size=(40, 5))
>>> info = measure("cka-kernel=linear-hsic=gretton-score")
>>> angular = measure("cka-kernel=linear-hsic=gretton-distance=angular")
>>> info.kind, round(info.fn(X, Y), 6) == round(float(np.cos(angular.fn(X, Y))), 6)
('similarity', True)
>>> measure("procrustes-distance=angular").range
(0.0, 1.5707963267948966)
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from .._validate import MODERATE_EXPONENT, rescale_extreme
from ..moments import centered
from ._common import paired
from .names import StandardName, parse
from .registry import INVERTIBLE, ORTHOGONAL, REGISTRY, SCALING, TRANSLATION, MetricInfo

__all__ = ["measure", "MEASURES", "EXAMPLE_VALUES", "example"]

PERMUTATION = "permutation"
_SCORE_FORMS = ("score", "distance=angular", "distance=euclidean", "distance=squared_euclidean",
                "distance=one_minus_score", "score-negative_log")
_CCA_FORMS = _SCORE_FORMS + ("squared_score",)
_GENERIC = "generic: the measure is recomputed for each permutation"


@dataclass(frozen=True)
class Family:
    """A measure and its grammar: parameters (key -> checker), forms, and how to build ``fn``."""

    build: Callable[[dict, bool], Callable]  # (checked params, squared) -> fn(X, Y) -> float or tensor
    kind: str  # of the plain value (a score family: "similarity" in score_range)
    range: tuple[float, float]
    invariances: tuple[str, ...]
    params: dict
    forms: tuple[str, ...] = ()  # empty: the plain value only
    symmetric: bool = True
    templates: tuple[str, ...] = ()
    note: str = ""
    norms: Callable | None = None  # (params) -> fn(X, Y) -> feature-space norms of the euclidean forms
    flags: tuple[str, ...] = ()  # bare words the name must carry, e.g. "r2"


# ----------------------------------------------------------------------------- parameter checkers
def _number(lo: float, hi: float, *, integer: bool = False, open_lo: bool = False):
    def check(key: str, value):
        try:
            v = int(value) if integer else float(value)
        except (TypeError, ValueError):
            raise ValueError(f"name: {key}={value!r} is not a{'n integer' if integer else ' number'}") from None
        if not (lo < v if open_lo else lo <= v) or v > hi:
            raise ValueError(f"name: {key}={value} is outside [{lo}, {hi}]")
        return v
    return check


def _choice(*choices: str):
    def check(key: str, value):
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"name: {key}={value} is not one of {', '.join(choices)}")
        return value
    return check


def _kernel(key: str, value):
    """``linear`` or a nested ``(rbf-sigma=s)`` / ``(laplace-sigma=s)``."""
    if value == "linear":
        return ("linear", None)
    if isinstance(value, StandardName) and value.measure in ("rbf", "laplace") and set(value.params) == {"sigma"} \
            and not value.form and not value.flags:
        return (value.measure, _number(0.0, math.inf, open_lo=True)("sigma", value.params["sigma"]))
    raise ValueError(f"name: kernel={value} is not linear, (rbf-sigma=<s>) or (laplace-sigma=<s>)")


# ----------------------------------------------------------------------------- builders
def _cka(p: dict, squared: bool):
    from .kernel_estimators import cka_lange, laplace_kernel
    from .kernel_metrics import cka

    kernel, sigma = p["kernel"]
    if p["hsic"] == "lange":
        return lambda X, Y: cka_lange(X, Y, kernel=kernel, sigma=sigma)
    k = laplace_kernel(sigma) if kernel == "laplace" else kernel
    return lambda X, Y: cka(X, Y, kernel=k, sigma=sigma, unbiased=p["hsic"] == "song")


def _cca(p: dict, squared: bool):
    from .subspace_metrics import cca

    return lambda X, Y: cca(X, Y, squared=squared)


def _svcca(p: dict, squared: bool):
    from .subspace_metrics import svcca

    if "var" in p and "dim" in p:
        raise ValueError("name: svcca takes var=<fraction> or dim=<int>, not both")
    if "dim" in p:
        def fn(X, Y):
            for Z, name in ((X, "X"), (Y, "Y")):
                width = Z.shape[-1] if hasattr(Z, "shape") and len(Z.shape) == 2 else p["dim"]
                if p["dim"] > width:  # the data are too narrow for the named measure
                    raise ValueError(f"{name}: svcca-dim={p['dim']} keeps {p['dim']} directions, more than its "
                                     f"{width} features")
            return svcca(X, Y, dims=p["dim"], squared=squared)
        return fn
    return lambda X, Y: svcca(X, Y, keep=p.get("var", 0.99), squared=squared)


def _knn(name: str):
    def build(p: dict, squared: bool):
        from . import neighbor_metrics

        fn = getattr(neighbor_metrics, name)
        return lambda X, Y: fn(X, Y, k=p["topk"])
    return build


def _ridge(p: dict, squared: bool):
    from .regression_measures import ridge_r2

    return lambda X, Y: ridge_r2(X, Y, ridge=p["lambda"])


def _kernel_norms(p: dict):
    """``sqrt(tr HKH)``: the norm of the centred feature map of the family's kernel."""
    from ..kernels import kernel_fn
    from .kernel_estimators import laplace_kernel

    kernel, sigma = p["kernel"]
    if kernel == "linear":
        return _centred_norms

    def norms(X, Y):
        out = []
        for Z in paired(X, Y):
            k = laplace_kernel(sigma) if kernel == "laplace" else kernel_fn(Z, kernel, sigma=sigma)
            K = k(Z, Z)
            out.append(torch.sqrt((K.trace() - K.sum() / K.shape[0]).clamp_min(0.0)))
        return tuple(out)
    return norms


def _shape_norms(p: dict):
    from .shape_metrics import whitened_norms

    return lambda X, Y: whitened_norms(X, Y, alpha=p["alpha"])


def _pca_norms(p: dict):
    """Norms of the centred inputs projected on their kept principal directions (svcca's preprocessing)."""
    from .subspace_metrics import orthonormal_basis

    def norms(X, Y):
        out = []
        for Z in paired(X, Y):
            Q = orthonormal_basis(Z, keep=None if "dim" in p else p.get("var", 0.99), dims=p.get("dim"))
            out.append(torch.linalg.matrix_norm(Q.T @ centered(Z)))
        return tuple(out)
    return norms


def _lazy(module: str, attr: str, **kwargs):
    """Builder of ``module.attr(X, Y, **params, **kwargs)`` imported on first use."""
    def build(p: dict, squared: bool):
        import importlib

        fn = getattr(importlib.import_module(f".{module}", __package__), attr)
        return lambda X, Y: fn(X, Y, **kwargs, **p)
    return build


_TRANSLATION_ORTHO_SCALE = (ORTHOGONAL, SCALING, TRANSLATION)
_RDMS = ("squared_euclidean", "mahalanobis", "euclidean", "cosine", "correlation", "poisson", "gaussian")
_COMPARES = ("pearson", "spearman", "kendall", "tau_b", "tau_a", "rho_a", "cosine", "euclidean", "cosine_cov",
             "corr_cov", "bures", "bures_metric")


def _kernels_templates():
    for kernel in ("linear", "(rbf-sigma={sigma})", "(laplace-sigma={sigma})"):
        for hsic in ("gretton", "song", "lange"):
            yield f"cka-kernel={kernel}-hsic={hsic}"


FAMILIES: dict[str, Family] = {
    "cka": Family(_cka, "similarity", (-1.0, 1.0), _TRANSLATION_ORTHO_SCALE,
                  {"kernel": _kernel, "hsic": _choice("gretton", "song", "lange")}, _SCORE_FORMS,
                  templates=tuple(_kernels_templates()), norms=_kernel_norms,
                  note="hsic: gretton (biased, in [0, 1]), song (unbiased), lange (centred Grams without their "
                       "diagonal); rbf/laplace sigma absolute (O(n^2) Gram path); laplace exp(-d/(sqrt2 sigma))"),
    "cca": Family(_cca, "similarity", (0.0, 1.0), (INVERTIBLE, TRANSLATION), {}, _CCA_FORMS, templates=("cca",),
                  note="needs rank X + rank Y < n"),
    "svcca": Family(_svcca, "similarity", (0.0, 1.0), _TRANSLATION_ORTHO_SCALE,
                    {"var": _number(0.0, 1.0, open_lo=True), "dim": _number(1, 10 ** 9, integer=True)}, _CCA_FORMS,
                    templates=("svcca", "svcca-var={var}", "svcca-dim={dim}"), norms=_pca_norms,
                    note="top principal directions (var: fraction of variance, default 0.99; dim: count), then CCA; "
                         "needs kept X + kept Y < n"),
    "pwcca": Family(_lazy("cca_metrics", "pwcca"), "similarity", (0.0, 1.0), (PERMUTATION, SCALING, TRANSLATION), {},
                    _SCORE_FORMS, symmetric=False, templates=("pwcca",),
                    note="Morcos et al. 2018 weights from X; needs rank X + rank Y < n"),
    "procrustes": Family(_lazy("shape_metrics", "shape_score", alpha=1.0), "similarity", (0.0, 1.0),
                         _TRANSLATION_ORTHO_SCALE, {}, _SCORE_FORMS, templates=("procrustes",),
                         note="score ||Xc^T Yc||_* / (||Xc|| ||Yc||); angular = Williams et al. 2021"),
    "nbs": Family(_lazy("shape_metrics", "shape_score", alpha=1.0), "similarity", (0.0, 1.0),
                  _TRANSLATION_ORTHO_SCALE, {}, _SCORE_FORMS, templates=("nbs",),
                  note="normalised Bures similarity (Tang et al. 2020) = the Procrustes score (Harvey et al. 2023)"),
    "shape_metric": Family(_lazy("shape_metrics", "shape_score"), "similarity", (0.0, 1.0),
                           _TRANSLATION_ORTHO_SCALE, {"alpha": _number(0.0, 1.0)}, _SCORE_FORMS,
                           templates=("shape_metric-alpha={alpha}",), norms=_shape_norms,
                           note="netrep partial whitening; alpha=1 Procrustes, alpha=0 CCA"),
    "permutation_metric": Family(_lazy("shape_metrics", "permutation_score"), "similarity", (-1.0, 1.0),
                                 (PERMUTATION, SCALING, TRANSLATION), {}, _SCORE_FORMS,
                                 templates=("permutation_metric",), note="Hungarian matching of the columns"),
    "ridge": Family(_ridge, "similarity", (-math.inf, 1.0), (ORTHOGONAL,), {"lambda": _number(0.0, math.inf)},
                    symmetric=False, templates=("ridge-lambda={lambda}-r2",), flags=("r2",),
                    note="in-sample R^2 of the ridge map X -> Y (lambda absolute, no intercept), mean over Y's "
                         "columns"),
    "kernel_ridge": Family(_ridge, "similarity", (-math.inf, 1.0), (ORTHOGONAL,), {"lambda": _number(0.0, math.inf)},
                           symmetric=False, templates=("kernel_ridge-lambda={lambda}-r2",), flags=("r2",),
                           note="the ridge map in its kernel form: the same value as ridge"),
    **{name: Family(_knn(name), "similarity", (0.0, 1.0) if name != "cknna" else
                    (-math.inf, math.inf), (ORTHOGONAL, SCALING), {"topk": _number(1, 10 ** 9, integer=True)},
                    symmetric=name == "mutual_knn", templates=(f"{name}-topk={{topk}}",),
                    note="platonic's name of our registry's metric, k = topk cosine neighbours")
       for name in ("mutual_knn", "cycle_knn", "cknna")},
    "rsa": Family(_lazy("rdm_measures", "rsa_compare"), "similarity", (-1.0, 1.0), (ORTHOGONAL, TRANSLATION),
                  {"rdm": _choice(*_RDMS), "compare": _choice(*_COMPARES)},
                  templates=tuple(f"rsa-rdm={r}-compare={c}" for r in _RDMS for c in _COMPARES),
                  note="O(n^2) memory (full RDMs); compare=euclidean and bures_metric are distances; "
                       "invariances of the euclidean RDMs (correlation/cosine/poisson/gaussian differ)"),
}
_DISTANCE_COMPARES = ("euclidean", "bures_metric")
# transformations of the inputs that leave each RDM unchanged, up to a positive factor
_RDM_INVARIANCES = {"squared_euclidean": (ORTHOGONAL, TRANSLATION), "mahalanobis": (ORTHOGONAL, TRANSLATION),
                    "euclidean": (ORTHOGONAL, TRANSLATION), "gaussian": (ORTHOGONAL, SCALING, TRANSLATION),
                    "cosine": (ORTHOGONAL, SCALING), "correlation": (SCALING,), "poisson": ()}


def _invariances(fam_name: str, fam: Family, params: dict, form: str) -> tuple[str, ...]:
    """The family's invariances, less those its parameters or form break."""
    if fam_name == "rsa":
        inv = _RDM_INVARIANCES[params["rdm"]]
        # a scale-free comparison ignores the factor c^2 (or c) a scaling puts on a Euclidean RDM
        if params["compare"] not in _DISTANCE_COMPARES and params["rdm"] in ("squared_euclidean", "mahalanobis",
                                                                              "euclidean"):
            inv = inv + (SCALING,)
        return inv
    inv = fam.invariances
    if (fam_name == "cka" and params["kernel"][0] != "linear") or (fam_name == "shape_metric" and
                                                                   0.0 < params["alpha"] < 1.0):
        inv = tuple(i for i in inv if i != SCALING)  # an absolute bandwidth, a mix of I and lam^{-1/2}
    if "euclidean" in form:  # the norms of the inputs enter: only maps that keep them stay
        inv = tuple(ORTHOGONAL if i == INVERTIBLE else i for i in inv if i != SCALING)
    return inv


# ----------------------------------------------------------------------------- forms
def _centred_norms(X, Y) -> tuple[torch.Tensor, torch.Tensor]:
    Xt, Yt = paired(X, Y)
    return torch.linalg.matrix_norm(centered(Xt)), torch.linalg.matrix_norm(centered(Yt))


def _as_tensor(v) -> torch.Tensor:
    return v if isinstance(v, torch.Tensor) else torch.tensor(float(v), dtype=torch.float64)


def _with_form(score: Callable, form: str, norms: Callable = None) -> Callable:
    """``fn(X, Y)`` reporting ``score`` in ``form`` (transforms of the registry's standardization.py)."""
    if form in ("", "score", "squared_score"):
        return score

    def fn(X, Y):
        s = _as_tensor(score(X, Y))
        if form == "distance=angular":
            v = torch.arccos(s.clamp(-1.0, 1.0))
        elif form == "distance=one_minus_score":
            v = 1.0 - s
        elif form == "score-negative_log":
            if float(s) <= 0:
                raise ValueError(f"X: the score is {float(s):.3g} <= 0, so -log(score) is undefined")
            v = -torch.log(s)
        else:  # euclidean forms: the law of cosines with the centred inputs' norms
            a, b = (norms or _centred_norms)(X, Y)
            v = (a * a + b * b - 2.0 * a * b * s).clamp_min(0.0)
            v = v if form == "distance=squared_euclidean" else v.sqrt()
        return v if isinstance(X, torch.Tensor) or isinstance(Y, torch.Tensor) else float(v)
    return fn


def _form_kind_range(fam: Family, form: str, base: tuple[float, float]) -> tuple[str, tuple[float, float]]:
    lo, hi = base
    if form in ("", "score", "squared_score"):
        return fam.kind, base
    if form == "distance=angular":
        return "distance", (math.acos(min(hi, 1.0)), math.acos(max(lo, -1.0)))
    if form == "distance=one_minus_score":
        return "distance", (1.0 - hi, 1.0 - lo)
    return "distance", (0.0, math.inf)


def _unit_like(Z):
    """A float array or tensor of extreme magnitude rescaled by a power of two to ``max|z|`` in [0.5, 1),
    same type (else ``Z``).
    """
    if isinstance(Z, torch.Tensor):
        return rescale_extreme(Z) if Z.is_floating_point() and bool(torch.isfinite(Z.detach()).all()) else Z
    if isinstance(Z, np.ndarray) and Z.dtype.kind == "f" and Z.size and bool(np.isfinite(Z).all()):
        e = int(np.frexp(np.abs(Z).max())[1])
        return Z if abs(e) <= MODERATE_EXPONENT else np.ldexp(Z, -e)
    return Z


def _scale_free(fn: Callable) -> Callable:
    """``fn`` of a measure invariant to rescaling each input, called on inputs rescaled by powers of two,
    so ``f(c X, c Y) == f(X, Y)`` for any finite ``c`` (no square overflows or underflows).
    """
    return lambda X, Y: fn(_unit_like(X), _unit_like(Y))


# ----------------------------------------------------------------------------- plain measures
def _plain(module: str, attr: str, kind: str, range_: tuple[float, float], invariances: tuple[str, ...], *,
           symmetric: bool = True, note: str = "", **kwargs) -> Family:
    return Family(_lazy(module, attr, **kwargs), kind, range_, invariances, {}, symmetric=symmetric, note=note)


_INF = (0.0, math.inf)
PLAIN: dict[str, Family] = {
    "euclidean": _plain("geometry_measures", "gram_euclidean", "distance", _INF, (ORTHOGONAL,),
                        note="||X X^T - Y Y^T||_F of the uncentred linear Grams (nn_similarity_index)"),
    "cosine": _plain("geometry_measures", "flat_cosine", "similarity", (-1.0, 1.0), (SCALING,),
                     note="cosine of the flattened inputs (same shapes)"),
    "rsm_norm_difference": _plain("geometry_measures", "rsm_norm_difference", "distance", _INF,
                                  (ORTHOGONAL, TRANSLATION), note="llm_repsim's: Euclidean distances of the pairs "
                                  "i < j; O(n^2) time, O(block n) memory"),
    "magnitude_difference": _plain("geometry_measures", "magnitude_difference", "distance", _INF, (ORTHOGONAL,)),
    "concentricity_difference": _plain("geometry_measures", "concentricity_difference", "distance", (0.0, 2.0),
                                       (ORTHOGONAL, SCALING)),
    "uniformity_difference": _plain("geometry_measures", "uniformity_difference", "distance", _INF,
                                    (ORTHOGONAL, TRANSLATION), note="O(n^2) time"),
    "eigenspace_overlap_score": _plain("geometry_measures", "eigenspace_overlap", "similarity", (0.0, 1.0),
                                       (INVERTIBLE,), note="uncentred, as resi; d x d route"),
    "hard_correlation_match": _plain("geometry_measures", "hard_correlation_match", "similarity", (-1.0, 1.0),
                                     (PERMUTATION, SCALING, TRANSLATION)),
    "soft_correlation_match": _plain("geometry_measures", "soft_correlation_match", "similarity", (-1.0, 1.0),
                                     (PERMUTATION, SCALING, TRANSLATION), note="resi's (both directions averaged)"),
    "permutation_procrustes": _plain("geometry_measures", "permutation_procrustes", "distance", _INF,
                                     (PERMUTATION,), note="resi's: uncentred"),
    "aligned_cosine_similarity": _plain("geometry_measures", "aligned_cosine", "similarity", (-1.0, 1.0),
                                        (ORTHOGONAL, SCALING), note="resi's: raw inputs"),
    "aligned_cossim": _plain("geometry_measures", "aligned_cosine", "similarity", (-1.0, 1.0),
                             (ORTHOGONAL, SCALING, TRANSLATION), centered_columns=True,
                             note="llm_repsim's: centred columns"),
    "orthogonal_procrustes_centered_and_normalized": _plain("subspace_metrics", "procrustes", "distance",
                                                            (0.0, math.sqrt(2.0)), _TRANSLATION_ORTHO_SCALE,
                                                            distance="euclidean", note="sqrt(2 - 2 P) (resi)"),
    "linear_regression": _plain("regression_measures", "linear_regression", "similarity", (0.0, 1.0),
                                (ORTHOGONAL, SCALING, TRANSLATION), symmetric=False,
                                note="share of X's variance explained by a linear map of Y (resi)"),
    "pls": _plain("regression_measures", "pls", "similarity", _INF, (ORTHOGONAL, TRANSLATION),
                  note="mean singular value of the cross-covariance (Google svcca)"),
    "gulp": _plain("regression_measures", "gulp", "distance", _INF, (INVERTIBLE, TRANSLATION),
                   note="lambda = 0: rank X + rank Y - 2 sum rho^2"),
    "ensd": _plain("regression_measures", "ensd", "similarity", _INF, _TRANSLATION_ORTHO_SCALE),
    "ensd-distance=angular_normalized": _plain("regression_measures", "ensd_angle", "distance", (0.0, 1.0),
                                               _TRANSLATION_ORTHO_SCALE, note="(2/pi) arccos(linear CKA)"),
    "distance_correlation": _plain("rsa", "dcor", "similarity", (0.0, 1.0), _TRANSLATION_ORTHO_SCALE,
                                   note="Szekely et al. 2007; O(n^2) time (our registry's dcor)"),
    "rtd": _plain("topology_measures", "rtd", "distance", _INF, _TRANSLATION_ORTHO_SCALE,
                  note="Barannikov et al. 2022, the authors' defaults (10 subsets of 500 rows); needs ripser "
                       "(latentalign[topology]); O(subsample^2) memory, seconds per barcode"),
    "jaccard_similarity": _plain("neighborhood_measures", "jaccard_knn", "similarity", (0.0, 1.0),
                                 (ORTHOGONAL, SCALING), note="k = 10 cosine neighbours"),
    "rank_similarity": _plain("neighborhood_measures", "rank_similarity", "similarity", (0.0, 1.0),
                              (ORTHOGONAL, SCALING), note="k = 10 cosine neighbours"),
    "second_order_cosine_similarity": _plain("neighborhood_measures", "second_order_cosine", "similarity",
                                             (-1.0, 1.0), (ORTHOGONAL, SCALING), note="k = 10 cosine neighbours"),
}
# registry names that are another name under the registry's own standardization
ALIASES = {
    "bures_distance": "procrustes-distance=euclidean",
    "orthogonal_angular_shape_metric_centered": "procrustes-distance=angular",
    "feature_space_linear_cka": "cka-kernel=linear-hsic=gretton-score",
    "feature_space_linear_cka-debiased_True": "cka-kernel=linear-hsic=song-score",
}


# ----------------------------------------------------------------------------- lookup
def _templates() -> tuple[str, ...]:
    out = []
    for fam_name, fam in FAMILIES.items():
        for t in fam.templates:
            if not fam.forms:
                out.append(t)
            else:
                out.extend(f"{t}-{form}" for form in fam.forms if form != "squared_score" or fam_name in
                           ("cca", "svcca"))
    out.extend(PLAIN)
    out.extend(ALIASES)
    return tuple(out)


def _suggest(text: str) -> str:
    pool = list(MEASURES) + list(REGISTRY)
    close = difflib.get_close_matches(text, pool, n=3, cutoff=0.5)
    return f"; closest supported: {', '.join(close)}" if close else "; see latentalign.align.MEASURES"


def measure(name: str) -> MetricInfo:
    """The measure called ``name`` (a standardized name or one of our registry's) as a :class:`MetricInfo`.

    Parameters
    ----------
    name : str
        A standardized name (Cloos et al. 2024, e.g. ``"cka-kernel=linear-hsic=gretton-score"``) or a registry name.

    Returns
    -------
    MetricInfo
        The measure; a ``ValueError`` naming the closest supported names when unknown.

    Examples
    --------
    >>> measure("rsa-rdm=correlation-compare=kendall").kind
    'similarity'
    >>> measure("svcca-dim=10-squared_score").name
    'svcca-dim=10-squared_score'
    """
    if isinstance(name, str) and name in REGISTRY:
        return REGISTRY[name]
    if isinstance(name, str) and name in PLAIN:
        fam = PLAIN[name]
        fn = fam.build({}, False)
        info = MetricInfo(name, fn, fam.kind, fam.range, fam.symmetric, fam.invariances, _GENERIC, (), note=fam.note)
        return replace(info, fn=_scale_free(fn)) if info.scale_invariant else info
    if isinstance(name, str) and name in ALIASES:
        return replace(measure(ALIASES[name]), name=name)
    try:
        parsed = parse(name, "name")
    except ValueError as err:
        raise ValueError(f"{err}{_suggest(name) if isinstance(name, str) else ''}") from None
    fam = FAMILIES.get(parsed.measure)
    if fam is None or parsed.flags != fam.flags:
        raise ValueError(f"name: unknown measure {name!r}{_suggest(name)}")
    unknown = set(parsed.params) - set(fam.params)
    if unknown:
        raise ValueError(f"name: {parsed.measure} takes no parameter {', '.join(sorted(unknown))} "
                         f"(parameters: {', '.join(fam.params) or 'none'}){_suggest(name)}")
    missing = {"rdm", "compare", "kernel", "hsic", "alpha"} & set(fam.params) - set(parsed.params)
    if missing:
        raise ValueError(f"name: {parsed.measure} needs {', '.join(sorted(missing))}{_suggest(name)}")
    if parsed.form not in (fam.forms or ("",)) or (parsed.form == "squared_score" and
                                                    parsed.measure not in ("cca", "svcca")):
        allowed = ", ".join(fam.forms) if fam.forms else "no form (the measure's own value)"
        raise ValueError(f"name: {parsed.measure} has no form {parsed.form or '(none)'!r}; forms: {allowed}"
                         f"{_suggest(name)}")
    try:
        params = {key: fam.params[key](key, value) for key, value in parsed.params.items()}
    except ValueError as err:
        raise ValueError(f"{err}{_suggest(name)}") from None
    norms = fam.norms(params) if fam.norms is not None else None
    fn = _with_form(fam.build(params, parsed.form == "squared_score"), parsed.form, norms)
    gretton = parsed.measure == "cka" and params["hsic"] == "gretton"  # the biased CKA is >= 0
    kind, rng = _form_kind_range(fam, parsed.form, (0.0, 1.0) if gretton else fam.range)
    if parsed.measure == "rsa" and params["compare"] in _DISTANCE_COMPARES:
        kind, rng = "distance", (0.0, math.inf)
    invariances = _invariances(parsed.measure, fam, params, parsed.form)
    fn = _scale_free(fn) if SCALING in invariances or INVERTIBLE in invariances else fn
    return MetricInfo(str(parsed), fn, kind, rng, fam.symmetric, invariances, _GENERIC, (), note=fam.note)


MEASURES: tuple[str, ...] = _templates()
# a value for each free parameter of a template (sigma=1.0 as in the registry's plotting.py)
EXAMPLE_VALUES = {"{sigma}": "1.0", "{alpha}": "0.5", "{dim}": "10", "{var}": "0.99", "{topk}": "10", "{lambda}": "1"}


def example(template: str) -> str:
    """``template`` with each free parameter set to its :data:`EXAMPLE_VALUES` entry.

    >>> example("shape_metric-alpha={alpha}-distance=angular")
    'shape_metric-alpha=0.5-distance=angular'
    """
    for key, value in EXAMPLE_VALUES.items():
        template = template.replace(key, value)
    return template
