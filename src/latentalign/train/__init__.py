"""Shared training engine: indexed data, seeding, Lightning classifier training, probes.

>>> from latentalign.train import make_loader, fit_classifier, linear_probe, knn_probe, seed_everything
"""

from .._extras import lazy_exports
from .data import NO_LABEL, EpochSampler, IndexedDataset, make_loader, split_batch
from .probes import knn_probe, linear_probe
from .seed import epoch_seed, seed_everything, torch_generator

__all__ = [
    "IndexedDataset",
    "EpochSampler",
    "make_loader",
    "NO_LABEL",
    "seed_everything",
    "torch_generator",
    "epoch_seed",
    "ClassifierModule",
    "LastCheckpoint",
    "fit_classifier",
    "predict_logits",
    "evaluate_classifier",
    "split_batch",
    "quiet_lightning",
    "linear_probe",
    "knn_probe",
]

# Lightning (the [train] extra) is imported only when training is asked for
__getattr__ = lazy_exports(__name__, classifier=[
    "ClassifierModule", "LastCheckpoint", "evaluate_classifier", "fit_classifier", "predict_logits", "quiet_lightning",
])
