"""Encoders with named layers, a forward-hook recorder, and what any model (transformers included) needs
to be recorded: batches, calls, outputs (``batches``), token pooling (``pooling``), offline loading
(``pretrained``).

>>> from latentalign.models import build_model, layer_names
>>> layer_names(build_model("mlp", in_dim=64, n_classes=10))
['input', 'hidden1', 'penultimate', 'logits']
"""

from .encoders import ACTIVATIONS, MLP, CNN1d, CNN2d, build_model, layer_names
from .pooling import POOLS, pool_tokens
from .pretrained import bundled_minilm_path, load_pretrained, text_batches
from .recorder import LayerRecorder, Recording

__all__ = ["MLP", "CNN2d", "CNN1d", "build_model", "layer_names", "ACTIVATIONS", "LayerRecorder", "Recording",
           "pool_tokens", "POOLS", "load_pretrained", "text_batches", "bundled_minilm_path"]
