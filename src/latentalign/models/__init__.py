"""Encoders with named layers and a forward-hook recorder.

>>> from latentalign.models import build_model, layer_names
>>> layer_names(build_model("mlp", in_dim=64, n_classes=10))
['input', 'hidden1', 'penultimate', 'logits']
"""

from .encoders import ACTIVATIONS, CNN1d, CNN2d, MLP, build_model, layer_names
from .recorder import LayerRecorder, Recording

__all__ = ["MLP", "CNN2d", "CNN1d", "build_model", "layer_names", "ACTIVATIONS", "LayerRecorder", "Recording"]
