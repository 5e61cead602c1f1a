r"""Train two encoders on a named pair and evaluate them: the recipe shared by the CLI and the study.

Encoders (spec §10b): MLPs ``d -> hidden -> embed_dim``; caption alternatives
(``digits:captions``) get a trainable linear head ``384 -> embed_dim`` on the cached
MiniLM embeddings. AdamW (lr 1e-3, weight decay 1e-4), batch 128 with ``drop_last``,
Lightning on CPU, seeded.

Examples
--------
>>> from latentalign.contrastive import ClipLoss
>>> from latentalign.contrastive.pairs import load_pair
>>> data = load_pair("mfeat:pix,zer")
>>> module = train_pair(data, ClipLoss(), epochs=1)
>>> sorted(evaluate_pair(module, data))
['class_match@1', 'recall', 'scale']
"""

from __future__ import annotations

import os

import numpy as np
import torch

from .._validate import check_int, check_seed
from ..models import MLP
from ..train import fit_classifier
from .module import ContrastiveModule, pair_loader
from .pairs import PairData
from .retrieval import class_match_at_k, recall_at_k, zero_shot

__all__ = ["build_encoders", "train_pair", "evaluate_pair", "encode_prompts"]


def build_encoders(data: PairData, *, embed_dim: int = 64, hidden: int = 256) -> tuple[MLP, MLP]:
    """``(encoder_u, encoder_v)``: MLPs with one hidden layer (``hidden = 0``: linear); caption
    alternatives (3-D ``v``) get a linear head.
    """
    embed_dim = check_int(embed_dim, "embed_dim")
    hidden = check_int(hidden, "hidden", minimum=0)
    widths = (hidden,) if hidden else ()
    d_u, d_v = data.dims
    encoder_v = MLP(d_v, (), embed_dim) if data.v_train.ndim == 3 else MLP(d_v, widths, embed_dim)
    return MLP(d_u, widths, embed_dim), encoder_v


def train_pair(data: PairData, loss, *, epochs: int = 100, batch_size: int = 128, lr: float = 1e-3,
               weight_decay: float = 1e-4, embed_dim: int = 64, hidden: int = 256, seed: int = 0,
               ckpt_dir: str | os.PathLike | None = None, resume: bool = False, run_config: dict | None = None,
               progress: bool = False) -> ContrastiveModule:
    """Train encoders for ``data`` with ``loss`` for ``epochs`` epochs (checkpoint in ``ckpt_dir``, which
    stores ``run_config``; ``resume`` refuses a checkpoint of another architecture or ``run_config``).
    """
    seed = check_seed(seed)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    if batch_size > data.u_train.shape[0]:
        raise ValueError(f"batch_size: {batch_size} exceeds the {data.u_train.shape[0]} training pairs")
    torch.manual_seed(seed)  # the encoders' initialisation
    encoder_u, encoder_v = build_encoders(data, embed_dim=embed_dim, hidden=hidden)
    module = ContrastiveModule(encoder_u, encoder_v, loss, lr=lr, weight_decay=weight_decay)
    loader = pair_loader(data.u_train, data.v_train, data.y_train, batch_size=batch_size, shuffle=True, seed=seed,
                         drop_last=True)
    fit_classifier(module, loader, epochs=epochs, seed=seed, ckpt_dir=ckpt_dir, resume=resume,
                   run_config=run_config, progress=progress)
    return module


def encode_prompts(module: ContrastiveModule, prompts) -> torch.Tensor:
    """Class embeddings ``(C, e)`` from prompt inputs ``(C, T, d_v)`` (the module's prompt ensemble)."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return module.encode_v(torch.as_tensor(np.asarray(prompts), dtype=torch.float32))
    finally:
        module.train(was_training)


def evaluate_pair(module: ContrastiveModule, data: PairData, *, ks=(1, 5)) -> dict:
    """Test-split metrics: recall@k both ways, class-match@1, the learned scale ``1/tau``, and
    zero-shot accuracy on the class prompts when the pair has them.
    """
    z_u, z_v, y = module.embed(pair_loader(data.u_test, data.v_test, data.y_test, batch_size=512))
    S = module.scores(z_u, z_v)
    scale = float(module.loss.scale().detach())
    out = {"recall": recall_at_k(S, ks), "class_match@1": class_match_at_k(S, y, y, 1), "scale": scale}
    if data.class_prompts is not None:
        pred = zero_shot(z_u, encode_prompts(module, data.class_prompts), tilt=module.loss.tilt, scale=scale)
        out["zero_shot"] = float((pred == y).double().mean())
    return out
