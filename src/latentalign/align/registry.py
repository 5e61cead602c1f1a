"""One registry of alignment metrics, each with its conventions.

``metric(name)`` returns a :class:`MetricInfo`: the function ``fn(X, Y, **options)``,
whether a larger value means more aligned (``kind="similarity"``) or less
(``"distance"``), the range of its default form, whether it is symmetric, what
transformations of an input leave it unchanged, and how the permutation test
evaluates it without recomputing everything (``perm_fast_path``).

Examples
--------
>>> info = metric("cka")
>>> info.kind, info.range, info.symmetric
('similarity', (0.0, 1.0), True)
>>> sorted(METRIC_NAMES)[:3]
['cca', 'cka', 'cknna']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .._validate import check_choice
from .kernel_metrics import cka, hsic, ka, mmd_alignment
from .neighbor_metrics import cknna, cycle_knn, mutual_knn
from .rsa import dcor, rsa
from .subspace_metrics import cca, procrustes, svcca
from .task import kta

__all__ = ["MetricInfo", "metric", "METRIC_NAMES", "REGISTRY", "lookup"]

ORTHOGONAL, SCALING, TRANSLATION = "orthogonal", "isotropic scaling", "translation"
INVERTIBLE = "invertible linear"


@dataclass(frozen=True)
class MetricInfo:
    """What a registered metric computes and how to read it.

    Attributes
    ----------
    name : str
        The registry name.
    fn : callable
        ``fn(X, Y, **options)``.
    kind : {"similarity", "distance"}
        Larger means more aligned for a similarity, less for a distance.
    range : tuple of float
        The values of the default options.
    symmetric : bool
        Whether ``fn(X, Y) == fn(Y, X)``.
    invariances : tuple of str
        The transformations of either input the value is invariant to.
    perm_fast_path : str
        How permutation tests reuse work.
    options : tuple of str
        Keyword options ``fn`` accepts.
    null_mean : str
        The known expectation under independence, if any.
    note : str
        Anything else a reader of the value should know.
    """

    name: str
    fn: Callable
    kind: str  # "similarity" (larger = more aligned) or "distance"
    range: tuple[float, float]  # of the default options
    symmetric: bool
    invariances: tuple[str, ...]
    perm_fast_path: str
    options: tuple[str, ...]  # keyword options fn accepts
    null_mean: str = ""  # known expectation under independence, if any
    note: str = ""

    @property
    def scale_invariant(self) -> bool:
        """Unchanged when an input is multiplied by a constant (isotropic scaling, or any invertible linear map)."""
        return SCALING in self.invariances or INVERTIBLE in self.invariances

    @property
    def best(self) -> float:
        """The value of perfect alignment (top of the range for a similarity, bottom for a distance)."""
        return self.range[1] if self.kind == "similarity" else self.range[0]


_GRAM = "cross term only: ||Xc^T Yc[pi]||^2 (O(n d1 d2)) or <K, L[pi,pi]> (O(n^2)), whichever is cheaper; " \
        "self-terms and row sums computed once"
_KNN = "neighbour lists computed once; N_Y relabelled through pi in O(n k)"
_SVD = "bases computed once; batched singular values of Qx^T Qy[pi]"
_KERNEL_OPTS = ("kernel", "sigma", "path", "seed", "block_size")

REGISTRY: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("ka", ka, "similarity", (0.0, 1.0), True, (ORTHOGONAL, SCALING), _GRAM, _KERNEL_OPTS,
                   note="uncentred: not translation invariant; linear-kernel KA >= 0"),
        MetricInfo("cka", cka, "similarity", (0.0, 1.0), True, (ORTHOGONAL, SCALING, TRANSLATION), _GRAM,
                   _KERNEL_OPTS + ("unbiased",), null_mean="unbiased: 0",
                   note="unbiased CKA may be slightly negative; "
                        "rbf is invariant to scaling through the median bandwidth"),
        MetricInfo("hsic", hsic, "similarity", (0.0, math.inf), True, (ORTHOGONAL, TRANSLATION), _GRAM,
                   _KERNEL_OPTS + ("unbiased",), null_mean="unbiased: 0", note="unnormalised; unbiased may be < 0"),
        MetricInfo("mmd_alignment", mmd_alignment, "similarity", (0.0, math.inf), True, (ORTHOGONAL, TRANSLATION),
                   _GRAM, _KERNEL_OPTS, note="MMD^2 between the joint and the product of marginals = ((n-1)/n)^2 "
                   "HSIC_b; normalised by its self-terms it is CKA_b"),
        MetricInfo("dcor", dcor, "similarity", (0.0, 1.0), True, (ORTHOGONAL, SCALING, TRANSLATION), _GRAM,
                   ("block_size",), note="0 in the population iff independent"),
        MetricInfo("rsa", rsa, "similarity", (-1.0, 1.0), True, (ORTHOGONAL, SCALING, TRANSLATION),
                   "RDMs computed once (n <= 8192); cross term <A, B[pi,pi]> in O(n^2)",
                   ("rdm", "compare", "block_size"),
                   note="invariances of the default euclidean RDM; 'centered' lies in [0, 1]"),
        MetricInfo("mutual_knn", mutual_knn, "similarity", (0.0, 1.0), True, (ORTHOGONAL, SCALING), _KNN,
                   ("k", "metric", "knn_backend"), null_mean="k/(n-1)",
                   note="cosine neighbours are not translation invariant; euclidean ones are"),
        MetricInfo("cycle_knn", cycle_knn, "similarity", (0.0, 1.0), False, (ORTHOGONAL, SCALING), _KNN,
                   ("k", "metric", "knn_backend")),
        MetricInfo("cknna", cknna, "similarity", (-math.inf, math.inf), False, (ORTHOGONAL, SCALING), _KNN,
                   ("k", "metric", "knn_backend"),
                   note="usually in [-1, 1] but unbounded: the three masks differ, so no Cauchy-Schwarz; the "
                        "(A^T 1).(B 1) term makes it asymmetric; k = n-1 gives unbiased CKA of row-normalised "
                        "features"),
        MetricInfo("cca", cca, "similarity", (0.0, 1.0), True, (INVERTIBLE, TRANSLATION), _SVD, ("squared",),
                   note="needs rank X + rank Y < n"),
        MetricInfo("svcca", svcca, "similarity", (0.0, 1.0), True, (ORTHOGONAL, SCALING, TRANSLATION), _SVD,
                   ("keep", "dims", "squared")),
        MetricInfo("procrustes", procrustes, "distance", (0.0, math.pi / 2), True, (ORTHOGONAL, SCALING, TRANSLATION),
                   "normalised centred data computed once; batched nuclear norms of Xb^T Yb[pi]", ("distance",),
                   note="angular; distance='euclidean' gives sqrt(2 - 2P) in [0, sqrt 2]"),
        MetricInfo("kta", kta, "similarity", (0.0, 1.0), False, (ORTHOGONAL, SCALING, TRANSLATION), _GRAM, (),
                   note="Y is the task: 1-D integer labels (one-hot encoded) or a target matrix"),
    )
}
METRIC_NAMES = tuple(REGISTRY)


def metric(name: str) -> MetricInfo:
    """The registered metric ``name``.

    Parameters
    ----------
    name : str
        One of :data:`METRIC_NAMES`, or a standardized name of :func:`latentalign.align.measures.measure`.

    Returns
    -------
    MetricInfo
        What the metric computes and how to read it; a ``ValueError`` naming ``name`` when unknown.

    Examples
    --------
    >>> metric("cka").kind, metric("cka").range
    ('similarity', (0.0, 1.0))
    """
    if isinstance(name, str) and name not in REGISTRY:
        from .measures import measure

        return measure(name)
    check_choice(name, "name", REGISTRY)
    return REGISTRY[name]


def lookup(name, options: dict, arg: str) -> MetricInfo:
    """:func:`metric` for a function whose argument ``arg`` names the metric (errors name ``arg``), with
    the keyword ``options`` it will be called with checked against the metric's (a ``TypeError``
    naming the first unknown one).

    >>> lookup("cka", {"unbiased": True}, "metric").name
    'cka'
    >>> lookup("cka", {"k": 5}, "metric")
    Traceback (most recent call last):
    ...
    TypeError: k: cka takes no option 'k' (options: kernel, sigma, path, seed, block_size, unbiased)
    """
    if isinstance(name, MetricInfo):
        info = name
    elif not isinstance(name, str):
        raise TypeError(f"{arg}: expected a metric name (str) or a MetricInfo, got {type(name).__name__}")
    else:
        try:
            info = metric(name)
        except ValueError as err:
            message = str(err)
            raise ValueError(f"{arg}:{message[len('name:'):]}" if message.startswith("name:") else message) from None
    old_names = getattr(info.fn, "renamed_kwargs", {})  # deprecated spellings still accepted (with a warning)
    unknown = [key for key in options if key not in info.options and key not in old_names]
    if unknown:
        raise TypeError(f"{unknown[0]}: {info.name} takes no option {unknown[0]!r} "
                        f"(options: {', '.join(info.options) or 'none'})")
    return info
