"""Alignment of two representations: metrics, linear stitching and its bound, significance,
streaming (DDP-ready) accumulation and layer-by-layer comparison of two models.

Math: ``docs/align.md`` (Insulla, Huang, Rosasco, *Towards a Learning
Theory of Representation Alignment*, arXiv 2502.14047).

Modules: ``kernel_metrics`` (KA, CKA, MMD alignment; HSIC is the core's), ``moments`` (linear HSIC from
sample sums), ``rsa`` (RDM comparisons, distance correlation), ``neighbor_metrics`` (mutual
kNN, cycle kNN, CKNNA), ``subspace_metrics`` (CCA, SVCCA, Procrustes), ``spectral``
(eigen-pair contributions to KA), ``task`` (KTA, cumulative power, KARE), ``registry``
(``metric(name)``), ``measures`` + ``names`` (``measure(name)``: the standardized names of Cloos et
al. 2024, with ``kernel_estimators``, ``shape_metrics``, ``cca_metrics``, ``rdm_measures``,
``neighborhood_measures``, ``geometry_measures``, ``regression_measures``, ``topology_measures``),
``stitching`` (ridge stitchers, e*, the bound), ``head_penalty``
(frozen-head dCE and its bound), ``permutation`` + ``significance`` (p-values, bootstrap,
calibration), ``streaming`` (torchmetrics ``LinearCKA``, ``LayerCKA``; the ``[train]`` extra),
``compare`` (``compare_models``), ``cli`` (``latentalign align``, ``compare-models``); the
last three are imported on first use.

Examples
--------
>>> import numpy as np
>>> from latentalign import align
>>> X = np.random.default_rng(0).normal(size=(200, 8)); Y = X @ np.random.default_rng(1).normal(size=(8, 5))
>>> round(align.cka(X, Y), 3) > 0.5, align.metric("mutual_knn").kind
(True, 'similarity')
"""

from .._deprecate import moved_objects
from .._extras import lazy_exports
from .head_penalty import TaskPenalty, head_lipschitz, task_penalty
from .kernel_metrics import cka, hsic, ka, mmd_alignment
from .measures import MEASURES, measure
from .neighbor_metrics import cknna, cycle_knn, mutual_knn
from .registry import METRIC_NAMES, MetricInfo, metric
from .rsa import dcor, rsa
from .significance import (
    SignificanceResult,
    bootstrap_ci,
    permutation_test,
    significance,
)
from .spectral import SpectralAlignment, spectral
from .stitching import (
    StitchDirection,
    Stitcher,
    StitchResult,
    fit_stitcher,
    loo_curve,
    stitch,
)
from .subspace_metrics import cca, procrustes, procrustes_similarity, svcca
from .task import cumulative_power, kare, kta

__all__ = [
    "ka", "cka", "hsic", "mmd_alignment", "dcor", "rsa", "mutual_knn", "cycle_knn", "cknna",
    "cca", "svcca", "procrustes", "procrustes_similarity",
    "spectral", "SpectralAlignment", "kta", "cumulative_power", "kare", "metric", "MetricInfo", "METRIC_NAMES",
    "measure", "MEASURES",
    "stitch", "fit_stitcher", "loo_curve", "Stitcher", "StitchDirection", "StitchResult", "TaskPenalty",
    "head_lipschitz", "task_penalty", "significance", "permutation_test", "bootstrap_ci", "SignificanceResult",
    "compare_models", "CompareResult", "streaming", "LinearCKA", "LayerCKA",
]

# imported on first use: streaming needs torchmetrics (the [train] extra), compare the shared
# layer (models, train); the metrics above need only the core's libraries
# Three building blocks left the face in 0.2 (deprecated here, removed in 0.3): import them from their modules.
__getattr__ = moved_objects(
    __name__,
    fallback=lazy_exports(__name__, streaming=["LinearCKA", "LayerCKA"], compare=["compare_models", "CompareResult"]),
    rsa=["dissimilarity_matrix"], neighbor_metrics=["knn_adjacency"], subspace_metrics=["canonical_correlations"],
)
