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

Examples
--------
>>> import torch
>>> from latentalign.contrastive import ClipLoss
>>> loss = ClipLoss()  # cosine tilt, learnable temperature initialised at 0.07
>>> loss(torch.eye(4), torch.eye(4)).item() < 0.01
True
"""

from .._deprecate import renamed_objects
from .._extras import lazy_exports
from . import gaussian
from .losses import (
    ClipLoss,
    ConditionalLoss,
    JointLoss,
    SigLipLoss,
    clip_loss,
    conditional_loss,
    joint_loss,
    siglip_loss,
)
from .retrieval import class_match_at_k, conditional, diversity, recall_at_k, sample, zero_shot
from .tilts import Temperature, scores

__all__ = [
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
    "gaussian",
    "recall_at_k",
    "class_match_at_k",
    "zero_shot",
    "conditional",
    "sample",
    "diversity",
    "ContrastiveModule",
    "PairDataset",
    "pair_loader",
]

# Left the face in 0.2 (deprecated here, removed in 0.3): the CLI's loss-name parser, the
# lists of valid words and a zero-shot helper.
__getattr__ = renamed_objects(__name__, {
    "build_loss": "latentalign.contrastive.cli:parse_loss",
    "TILTS": "latentalign.contrastive.tilts:TILTS",
    "NEGATIVES": "latentalign.contrastive.losses:NEGATIVES",
    "prompt_ensemble": "latentalign.contrastive.retrieval:prompt_ensemble",
}, fallback=lazy_exports(__name__, module=["ContrastiveModule", "PairDataset", "pair_loader"]))
