"""Latent Cluster Correction (Ho Thanh, arXiv 2501.11919): correct, deterministic and fast.

The clustering step (:func:`cluster_latents`) turns the latents of a layer into a
kNN graph, seeded Louvain communities, a cluster-to-class matching and the
correctly / misclustered masks; the LCC losses pull misclustered latents toward
correctly clustered latents of their class.

- clustering step: :func:`collect_latents`, :func:`cluster_latents` -> :class:`ClusterState`
  (pieces: :func:`knn_indices`, :func:`knn_graph`, :func:`pca_project`,
  :func:`detect_communities`, :func:`contingency`, :func:`match_clusters`, :func:`cluster_masks`);
- losses: :class:`ExactLCCLoss`, :class:`RandomizedLCCLoss`, :func:`lcc_loss`;
- training: :class:`ClusterCorrection` (plain loop), :class:`LCCCallback` (Lightning);
- metrics: :func:`cluster_metrics`, :func:`modularity`, :func:`loo_knn_accuracy` (the test -> train
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

from .._extras import lazy_exports
from .collect import MAX_BYTES, Collected, SampleIdDataset, collect_latents
from .communities import detect_communities, modularity, relabel_by_size
from .correction import ClusterCorrection
from .graph import knn_graph, knn_indices, pca_project
from .losses import ExactLCCLoss, PackedBanks, RandomizedLCCLoss, lcc_distances, lcc_loss, pack_banks
from .matching import Masks, cluster_masks, contingency, match_clusters, shuffle_communities
from .metrics import cluster_metrics, knn_probe_accuracy, loo_knn_accuracy
from .state import ClusterState, cluster_latents, cluster_options

__all__ = [
    "SampleIdDataset", "Collected", "collect_latents", "MAX_BYTES",
    "knn_indices", "knn_graph", "pca_project",
    "detect_communities", "modularity", "relabel_by_size",
    "contingency", "match_clusters", "cluster_masks", "Masks", "shuffle_communities",
    "ClusterState", "cluster_latents", "cluster_options",
    "ExactLCCLoss", "RandomizedLCCLoss", "lcc_loss", "lcc_distances", "pack_banks", "PackedBanks",
    "ClusterCorrection", "LCCCallback",
    "cluster_metrics", "loo_knn_accuracy",
]

# Lightning (the [train] extra) is imported only when the callback is asked for
__getattr__ = lazy_exports(__name__, callback=["LCCCallback"])
