"""Contrastive learning as fitting an exponential tilting of the product of marginals.

Baptista, Stuart, Tran, *A Mathematical Perspective On Contrastive Learning*,
arXiv 2505.24134 (2025); the math is in ``docs/contrastive.md``.

- tilts and temperature: :func:`scores`, :class:`Temperature`;
- losses: :class:`ClipLoss`, :class:`ConditionalLoss`, :class:`JointLoss`,
  :class:`SigLipLoss` (also plain functions of a score matrix), exact under
  ``torch.distributed`` (local rows against gathered features);
- :mod:`latentalign.contrastive.gaussian`: closed-form optima for Gaussian pairs;
  :func:`~latentalign.contrastive.recovery.fit_linear` trains linear encoders on them;
- retrieval: :func:`recall_at_k`, :func:`class_match_at_k`, :func:`zero_shot`, and
  sampling from the learned conditionals (:func:`conditional`, :func:`sample`, :func:`diversity`);
- training: :class:`ContrastiveModule` (Lightning, imported on first use), :func:`pair_loader`,
  named pairs in :mod:`latentalign.contrastive.pairs`; the CLI is :mod:`latentalign.contrastive.cli`.

Example
-------
>>> import torch
>>> from latentalign.contrastive import ClipLoss
>>> loss = ClipLoss()  # cosine tilt, learnable temperature initialised at 0.07
>>> loss(torch.eye(4), torch.eye(4)).item() < 0.01
True
"""

from .._extras import lazy_exports
from . import gaussian
from .losses import (
    NEGATIVES,
    ClipLoss,
    ConditionalLoss,
    JointLoss,
    SigLipLoss,
    build_loss,
    clip_loss,
    conditional_loss,
    joint_loss,
    siglip_loss,
)
from .retrieval import (
    class_match_at_k,
    conditional,
    diversity,
    prompt_ensemble,
    recall_at_k,
    sample,
    zero_shot,
)
from .tilts import TILTS, Temperature, scores

__all__ = [
    "TILTS",
    "NEGATIVES",
    "Temperature",
    "scores",
    "ClipLoss",
    "ConditionalLoss",
    "JointLoss",
    "SigLipLoss",
    "clip_loss",
    "conditional_loss",
    "joint_loss",
    "siglip_loss",
    "build_loss",
    "gaussian",
    "recall_at_k",
    "class_match_at_k",
    "prompt_ensemble",
    "zero_shot",
    "conditional",
    "sample",
    "diversity",
    "ContrastiveModule",
    "PairDataset",
    "pair_loader",
]

# Lightning (the [train] extra) is imported only when training is asked for
__getattr__ = lazy_exports(__name__, module=["ContrastiveModule", "PairDataset", "pair_loader"])
