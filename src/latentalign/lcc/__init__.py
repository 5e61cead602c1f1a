"""Latent Cluster Correction (Ho Thanh, arXiv 2501.11919): correct, deterministic and fast.

The clustering step (:func:`cluster_latents`) turns the latents of a layer into a
kNN graph, seeded Louvain communities, a cluster-to-class matching and the
correctly / misclustered masks; the LCC losses pull misclustered latents toward
correctly clustered latents of their class.

- clustering step: :func:`collect_latents` (over a :class:`SampleIdDataset`) ->
  :class:`Collected`, :func:`cluster_latents` -> :class:`ClusterState`; its pieces live in
  their modules: ``graph`` (``knn_indices``, ``knn_graph``, ``pca_project``), ``communities``
  (``detect_communities``, ``modularity``), ``matching`` (``contingency``, ``match_clusters``,
  ``cluster_masks``), ``state`` (``cluster_options``), ``losses`` (``pack_banks``, ``lcc_distances``);
- losses: :class:`ExactLCCLoss`, :class:`RandomizedLCCLoss`, :func:`lcc_loss`;
- training: :class:`ClusterCorrection` (plain loop), :class:`LCCCallback` (Lightning);
- metrics: :func:`cluster_metrics`, :func:`loo_knn_accuracy` (the test -> train
  kNN probe is :func:`latentalign.train.knn_probe`).

Example (plain loop; ``train_loader`` yields ``(x, y, idx)``, e.g. from
``latentalign.train.make_loader``)::

    corr = lcc.ClusterCorrection(["penultimate"], n_classes=10, weight=1e-2, k=10, seed=0)
    for epoch in range(E):
        corr.update(model, cluster_loader, epoch)
        for x, y, idx in train_loader:
            with corr.capture(model) as lat:
                logits = model(aug(x))
            loss = F.cross_entropy(logits, y) + corr.loss(lat, y, idx)
"""

from .._deprecate import moved_objects
from .._extras import lazy_exports
from .collect import Collected, SampleIdDataset, collect_latents
from .correction import ClusterCorrection
from .losses import ExactLCCLoss, RandomizedLCCLoss, lcc_loss
from .metrics import cluster_metrics, loo_knn_accuracy
from .metrics import knn_probe_accuracy as knn_probe_accuracy  # deprecated itself (removed in 0.3)
from .state import ClusterState, cluster_latents

__all__ = [
    "SampleIdDataset", "collect_latents", "Collected", "cluster_latents", "ClusterState",
    "ExactLCCLoss", "RandomizedLCCLoss", "lcc_loss", "ClusterCorrection", "LCCCallback",
    "cluster_metrics", "loo_knn_accuracy",
]

# The clustering step's pieces left the face in 0.2 (deprecated here, removed in 0.3): import them
# from their modules.
__getattr__ = moved_objects(
    __name__, fallback=lazy_exports(__name__, callback=["LCCCallback"]),
    collect=["MAX_BYTES"],
    graph=["knn_indices", "knn_graph", "pca_project"],
    communities=["detect_communities", "modularity", "relabel_by_size"],
    matching=["contingency", "match_clusters", "cluster_masks", "Masks", "shuffle_communities"],
    state=["cluster_options"],
    losses=["lcc_distances", "pack_banks", "PackedBanks"],
)
