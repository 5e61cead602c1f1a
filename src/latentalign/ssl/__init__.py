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

Example
-------
>>> from latentalign.ssl import alignment_thresholds
>>> alignment_thresholds([1.0, 2.0], 0.5, 0.5, [3.0]).preferred
'joint_embedding'
"""

from .._extras import lazy_exports
from .augment import Compose, GaussianNoise, RandomFlip, RandomMask, RandomShift, StructuredNoise, TwoViews, random_mask
from .evaluate import KNN_SETTINGS, ProbeResult, embed, knn_accuracy, linear_probe, lstsq_probe_loss, probe_loss_gap
from .linear import (
    JESolution,
    RCSolution,
    joint_embedding_closed_form,
    principal_angles,
    reconstruction_closed_form,
    subspace_overlap,
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
from .noise_model import LinearDataset, LinearNoiseModel, draw_variances, gaussian_signal, make_linear_dataset
from .theory import AlignmentThresholds, alignment_thresholds, retained_components, thresholds_from_model

__all__ = [
    "supervised_closed_form", "reconstruction_closed_form", "joint_embedding_closed_form", "RCSolution",
    "JESolution", "subspace_overlap", "principal_angles",
    "LinearNoiseModel", "LinearDataset", "make_linear_dataset", "gaussian_signal", "draw_variances",
    "AlignmentThresholds", "alignment_thresholds", "thresholds_from_model", "retained_components",
    "VICRegLoss", "NTXentLoss", "BYOLLoss", "EMA", "byol_predictor", "DenoisingLoss",
    "MaskedReconstructionLoss", "LinearJELoss",
    "RandomShift", "GaussianNoise", "StructuredNoise", "RandomMask", "RandomFlip", "Compose", "TwoViews",
    "random_mask",
    "lstsq_probe_loss", "probe_loss_gap", "KNN_SETTINGS", "embed", "ProbeResult",
    "SSLModule", "fit_ssl",
]

# Lightning (the [train] extra) is imported only when training is asked for
__getattr__ = lazy_exports(__name__, module=["SSLModule", "fit_ssl"])
