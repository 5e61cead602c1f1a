"""A pretrained ``transformers`` encoder under a linear head: ``logits = W pool(encoder(tokens)) + b``.

The pooled row (``pool`` over the attention mask, :func:`~latentalign.models.pool_tokens`)
is the classifier's penultimate representation; record or correct it as the sub-module
``"encoder"`` with the same pooling (e.g. ``ClusterCorrection("encoder", ..., pool="mean")``
and ``corr.capture(model, mask=batch["attention_mask"])``). :meth:`TextClassifier.save_pretrained`
writes the encoder (``save_pretrained``), the tokenizer and the head (``head.pt``), so
:func:`~latentalign.models.load_pretrained` and ``latentalign compare-models`` read the
fine-tuned encoder like any model directory.

Examples
--------
>>> import torch
>>> from transformers import BertConfig, BertModel
>>> encoder = BertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
...                                intermediate_size=16))
>>> model = TextClassifier(encoder, n_classes=3)
>>> ids, mask = torch.tensor([[1, 5, 2, 0], [1, 7, 8, 2]]), torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
>>> model(input_ids=ids, attention_mask=mask).shape
torch.Size([2, 3])
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .._validate import check_choice, check_int
from .batches import output_tensor
from .pooling import POOLS, pool_tokens

__all__ = ["TextClassifier"]


class TextClassifier(nn.Module):
    """``head(pool_tokens(encoder(**inputs), attention_mask, pool))`` with ``head`` a fresh ``nn.Linear``
    from the encoder's ``config.hidden_size`` to ``n_classes``.
    """

    def __init__(self, encoder: nn.Module, n_classes: int, *, pool: str = "mean"):
        super().__init__()
        hidden = getattr(getattr(encoder, "config", None), "hidden_size", None)
        if not isinstance(hidden, int):
            raise TypeError("encoder: expected a transformers model with config.hidden_size")
        self.encoder = encoder
        self.pool = check_choice(pool, "pool", POOLS[:-1])
        self.head = nn.Linear(hidden, check_int(n_classes, "n_classes", minimum=2))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **inputs) -> torch.Tensor:
        """Encode, pool the tokens over the attention mask, and classify.

        Parameters
        ----------
        input_ids : torch.Tensor of shape (B, T)
            Token ids.
        attention_mask : torch.Tensor of shape (B, T)
            1 for tokens, 0 for padding.
        **inputs
            Other inputs of the encoder (e.g. ``token_type_ids``).

        Returns
        -------
        torch.Tensor of shape (B, n_classes)
            The logits.
        """
        tokens = output_tensor(self.encoder(input_ids=input_ids, attention_mask=attention_mask, **inputs), "encoder")
        return self.head(pool_tokens(tokens, attention_mask, self.pool))

    def save_pretrained(self, path: str | os.PathLike, tokenizer=None) -> Path:
        """Write the encoder (``save_pretrained``), ``tokenizer`` if given, and ``head.pt`` into ``path``."""
        path = Path(path)
        self.encoder.save_pretrained(path)
        if tokenizer is not None:
            tokenizer.save_pretrained(path)
        torch.save({"state_dict": self.head.state_dict(), "pool": self.pool}, path / "head.pt")
        return path
