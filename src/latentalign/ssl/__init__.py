"""Joint-embedding vs reconstruction self-supervised learning (Van Assel et al., arXiv 2505.12477).

- :mod:`~latentalign.ssl.linear`: closed-form optima of linear reconstruction (Thm 3.1),
  joint embedding under ``W S Wᵀ = I`` (Thm 3.2) and supervised ridge (Lemma B.1).
- :mod:`~latentalign.ssl.noise_model`: signal + structured noise + aligned augmentations
  (Sec. 4.1), and the real-data linear experiment (:func:`make_linear_dataset`).
- :mod:`~latentalign.ssl.theory`: the alignment thresholds ``α²_RC``, ``α²_JE`` and Corollary 4.5.
- :mod:`~latentalign.ssl.losses`: VICReg, NT-Xent, BYOL (+ EMA), denoising and masked
  reconstruction as ``nn.Module`` losses with their terms as functions.
- :mod:`~latentalign.ssl.augment`: plain-torch batched augmentations.
- :mod:`~latentalign.ssl.evaluate`: the lstsq probe loss and the probe-loss gap; the probes
  themselves are :func:`latentalign.train.linear_probe` and :func:`latentalign.train.knn_probe`
  (with :data:`KNN_SETTINGS`).
- :mod:`~latentalign.ssl.module`: Lightning ``SSLModule`` (online probe, DDP) and ``fit_ssl``.

Examples
--------
>>> from latentalign.ssl import alignment_thresholds
>>> alignment_thresholds([1.0, 2.0], 0.5, 0.5, [3.0]).preferred
'joint_embedding'
"""

from .._deprecate import moved_objects
from .._extras import lazy_exports
from . import augment
from .evaluate import KNN_SETTINGS, lstsq_probe_loss, probe_loss_gap
from .evaluate import knn_accuracy as knn_accuracy  # deprecated themselves (removed in 0.3)
from .evaluate import linear_probe as linear_probe
from .linear import (
    JESolution,
    RCSolution,
    joint_embedding_closed_form,
    reconstruction_closed_form,
    supervised_closed_form,
)
from .losses import (
    EMA,
    BYOLLoss,
    DenoisingLoss,
    LinearJELoss,
    MaskedReconstructionLoss,
    NTXentLoss,
    VICRegLoss,
    byol_predictor,
)
from .noise_model import LinearDataset, LinearNoiseModel, draw_variances, make_linear_dataset
from .theory import AlignmentThresholds, alignment_thresholds, retained_components, thresholds_from_model

__all__ = [
    "supervised_closed_form", "reconstruction_closed_form", "joint_embedding_closed_form", "RCSolution",
    "JESolution", "LinearNoiseModel", "LinearDataset", "make_linear_dataset", "draw_variances",
    "AlignmentThresholds", "alignment_thresholds", "thresholds_from_model", "retained_components",
    "VICRegLoss", "NTXentLoss", "BYOLLoss", "EMA", "byol_predictor", "DenoisingLoss",
    "MaskedReconstructionLoss", "LinearJELoss", "augment",
    "lstsq_probe_loss", "probe_loss_gap", "KNN_SETTINGS",
    "SSLModule", "fit_ssl",
]

# Helpers and the augmentations left the face in 0.2 (deprecated here, removed in 0.3): the
# augmentations are ``latentalign.ssl.augment``'s, the rest is in the modules named below.
__getattr__ = moved_objects(
    __name__, fallback=lazy_exports(__name__, module=["SSLModule", "fit_ssl"]),
    augment=["RandomShift", "GaussianNoise", "StructuredNoise", "RandomMask", "RandomFlip", "Compose", "TwoViews",
             "random_mask"],
    evaluate=["embed", "ProbeResult"],
    linear=["subspace_overlap", "principal_angles"],
    noise_model=["gaussian_signal"],
)
