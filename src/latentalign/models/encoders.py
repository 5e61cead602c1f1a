"""Small encoders with stable, named layers: an MLP and two CNNs (digits, MNIST-1D).

Every recordable layer is a top-level sub-module with a meaningful name, so a
user (or :class:`~latentalign.models.LayerRecorder`) picks it with
``model.get_submodule(name)``:

- ``input``: an ``nn.Identity`` on the (reshaped) input, so the raw input can be
  recorded or swapped like any layer;
- ``hidden1``, ``hidden2``, ...: MLP blocks ``Linear -> activation`` (the block's
  output is the activation's output);
- ``conv1``, ``conv2``, ...: conv blocks ``Conv -> activation``; ``pool``; ``flatten``;
- ``penultimate``: the last hidden block (the layer LCC corrects by default);
- ``logits``: the output ``Linear``.

``layer_names(model)`` lists them in forward order.

Examples
--------
>>> import torch
>>> m = MLP(64, (256, 64), 10)
>>> m.layer_names()
['input', 'hidden1', 'penultimate', 'logits']
>>> m(torch.zeros(5, 64)).shape
torch.Size([5, 10])
>>> CNN2d()(torch.zeros(5, 64)).shape   # digits come flat; reshaped to (5, 1, 8, 8)
torch.Size([5, 10])
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from .._validate import check_choice, check_int, check_ints

__all__ = ["MLP", "CNN2d", "CNN1d", "build_model", "layer_names", "ACTIVATIONS"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def _activation(name: str) -> nn.Module:
    check_choice(name, "activation", ACTIVATIONS)
    return ACTIVATIONS[name]()


def _linear_block(d_in: int, d_out: int, activation: str, batch_norm: bool = False) -> nn.Sequential:
    parts = [("linear", nn.Linear(d_in, d_out))] + ([("norm", nn.BatchNorm1d(d_out))] if batch_norm else [])
    return nn.Sequential(OrderedDict(parts + [("act", _activation(activation))]))


def _hidden_names(n: int) -> list[str]:
    """``hidden1 .. hidden{n-1}, penultimate`` (the last hidden block is ``penultimate``)."""
    return [f"hidden{i + 1}" for i in range(n - 1)] + (["penultimate"] if n else [])


class _Named(nn.Module):
    """Base: ``layer_names()`` from the order sub-modules were registered (= forward order)."""

    def layer_names(self) -> list[str]:
        """Recordable layer names in forward order."""
        return [name for name, _ in self.named_children()]


class MLP(_Named):
    """Multilayer perceptron ``in_dim -> *hidden -> out_dim``, ``activation`` after each hidden Linear.

    ``hidden`` is an int or a sequence of ints (empty: a linear model). Hidden blocks
    are named ``hidden1, hidden2, ...`` and the last one ``penultimate``; the output
    ``Linear`` is ``logits``. ``batch_norm`` puts a ``BatchNorm1d`` between each hidden
    Linear and its activation (the SSL encoders, heads and decoders). Inputs with more
    than two dims are flattened.

    >>> MLP(64, [256], 16, batch_norm=True).layer_names()
    ['input', 'penultimate', 'logits']
    """

    def __init__(self, in_dim: int, hidden: int | Sequence[int], out_dim: int, activation: str = "relu",
                 batch_norm: bool = False):
        super().__init__()
        in_dim = check_int(in_dim, "in_dim")
        widths = check_ints(hidden, "hidden", allow_empty=True)
        out_dim = check_int(out_dim, "out_dim")
        check_choice(activation, "activation", ACTIVATIONS)
        self.in_dim, self.hidden, self.out_dim, self.activation = in_dim, widths, out_dim, activation
        self.input = nn.Identity()
        d = in_dim
        for name, w in zip(_hidden_names(len(widths)), widths):
            self.add_module(name, _linear_block(d, w, activation, bool(batch_norm)))
            d = w
        self.logits = nn.Linear(d, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the layers in order.

        Parameters
        ----------
        x : torch.Tensor of shape (B, in_dim) or (B, ...)
            Inputs; extra dimensions are flattened to ``in_dim`` features.

        Returns
        -------
        torch.Tensor of shape (B, out_dim)
            The logits.
        """
        if x.ndim > 2:
            x = x.flatten(1)
        for module in self.children():
            x = module(x)
        return x


def _as_batch(x: torch.Tensor, shape: tuple[int, ...], cls: str) -> torch.Tensor:
    """Reshape flat ``(B, prod(shape))`` input to ``(B, *shape)``; check a shaped one."""
    want = math.prod(shape)
    if x.ndim == 2 and x.shape[1] == want:
        return x.reshape(x.shape[0], *shape)
    if x.ndim == len(shape) + 1 and tuple(x.shape[1:]) == shape:
        return x
    if x.ndim == len(shape) and len(shape) >= 2 and shape[0] == 1 and tuple(x.shape[1:]) == shape[1:]:
        return x.unsqueeze(1)
    raise ValueError(
        f"x: {cls} expects input of shape (B, {want}) or (B, {', '.join(map(str, shape))}), "
        f"got {tuple(x.shape)}"
    )


class CNN2d(_Named):
    """Image CNN: ``conv(c1,3)-conv(c2,3)-...-maxpool2 -> flatten -> hidden -> n_classes``.

    Convolutions use padding 1 (size kept), so for digits (``in_shape=(1, 8, 8)``,
    ``channels=(32, 64)``) the flattened map has 64*4*4 = 1024 features. Accepts
    flat ``(B, C*H*W)`` input (digits come flat). Layers: ``input, conv1, conv2, ...,
    pool, flatten, penultimate, logits``.
    """

    def __init__(
        self,
        in_shape: Sequence[int] = (1, 8, 8),
        channels: int | Sequence[int] = (32, 64),
        hidden: int = 64,
        n_classes: int = 10,
        *,
        kernel_size: int = 3,
        activation: str = "relu",
    ):
        super().__init__()
        in_shape = check_ints(in_shape, "in_shape")
        if len(in_shape) != 3:
            raise ValueError(f"in_shape: expected (channels, height, width), got {in_shape}")
        if in_shape[1] < 2 or in_shape[2] < 2:
            raise ValueError(f"in_shape: height and width must be >= 2 for the 2x2 max-pool, got {in_shape}")
        channels = check_ints(channels, "channels")
        hidden = check_int(hidden, "hidden")
        n_classes = check_int(n_classes, "n_classes")
        kernel_size = check_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: must be odd (padding keeps the size), got {kernel_size}")
        check_choice(activation, "activation", ACTIVATIONS)
        self.in_shape, self.channels, self.n_classes = in_shape, channels, n_classes
        self.input = nn.Identity()
        c = in_shape[0]
        for i, c_out in enumerate(channels):
            conv = nn.Conv2d(c, c_out, kernel_size, padding=kernel_size // 2)
            self.add_module(f"conv{i + 1}", nn.Sequential(OrderedDict(conv=conv, act=_activation(activation))))
            c = c_out
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.flat_dim = c * (in_shape[1] // 2) * (in_shape[2] // 2)
        self.penultimate = _linear_block(self.flat_dim, hidden, activation)
        self.logits = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the layers in order.

        Parameters
        ----------
        x : torch.Tensor of shape (B, C, H, W) or (B, C * H * W)
            Images, or their flat rows.

        Returns
        -------
        torch.Tensor of shape (B, n_classes)
            The logits.
        """
        x = _as_batch(x, self.in_shape, "CNN2d")
        for module in self.children():
            x = module(x)
        return x


class CNN1d(_Named):
    """Sequence CNN (MNIST-1D): ``len(kernels)`` conv1d of stride ``stride`` -> flatten -> hidden -> n_classes.

    Padding is ``k // 2``; with the defaults (length 40, kernels 5/3/3, stride 2,
    32 channels) the lengths are 20, 10, 5 and the flattened map has 160 features.
    ``channels`` is one int for every conv or one per kernel. Accepts flat ``(B, L)``
    input. Layers: ``input, conv1, conv2, conv3, flatten, penultimate, logits``.
    """

    def __init__(
        self,
        length: int = 40,
        channels: int | Sequence[int] = 32,
        kernels: Sequence[int] = (5, 3, 3),
        stride: int = 2,
        hidden: int = 64,
        n_classes: int = 10,
        *,
        in_channels: int = 1,
        activation: str = "relu",
    ):
        super().__init__()
        length = check_int(length, "length")
        kernels = check_ints(kernels, "kernels")
        channels = check_ints(channels, "channels")
        if len(channels) == 1:
            channels = channels * len(kernels)
        if len(channels) != len(kernels):
            raise ValueError(
                f"channels: expected one value or one per kernel ({len(kernels)}), got {len(channels)}"
            )
        stride = check_int(stride, "stride")
        hidden = check_int(hidden, "hidden")
        n_classes = check_int(n_classes, "n_classes")
        in_channels = check_int(in_channels, "in_channels")
        check_choice(activation, "activation", ACTIVATIONS)
        self.length, self.in_channels, self.n_classes = length, in_channels, n_classes
        self.input = nn.Identity()
        c, L = in_channels, length
        for i, (c_out, k) in enumerate(zip(channels, kernels)):
            L_out = (L + 2 * (k // 2) - k) // stride + 1
            if L_out < 1:
                raise ValueError(f"length: {length} is too short for kernels {kernels} with stride {stride}")
            conv = nn.Conv1d(c, c_out, k, stride=stride, padding=k // 2)
            self.add_module(f"conv{i + 1}", nn.Sequential(OrderedDict(conv=conv, act=_activation(activation))))
            c, L = c_out, L_out
        self.flatten = nn.Flatten()
        self.flat_dim = c * L
        self.penultimate = _linear_block(self.flat_dim, hidden, activation)
        self.logits = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the layers in order.

        Parameters
        ----------
        x : torch.Tensor of shape (B, in_channels, length) or (B, in_channels * length)
            Sequences, or their flat rows.

        Returns
        -------
        torch.Tensor of shape (B, n_classes)
            The logits.
        """
        x = _as_batch(x, (self.in_channels, self.length), "CNN1d")
        for module in self.children():
            x = module(x)
        return x


def layer_names(model: nn.Module) -> list[str]:
    """Recordable layer names of ``model`` in forward order.

    The encoders of this module know their forward order. For any other module
    this falls back on every named sub-module (``named_modules()`` minus the root),
    in registration order, which is usually but not necessarily the forward order.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    own = getattr(model, "layer_names", None)
    if callable(own):
        return list(own())
    return [name for name, _ in model.named_modules() if name]


MODELS = ("mlp", "cnn", "cnn1d", "cnn2d")


def build_model(
    name: str,
    *,
    n_classes: int,
    in_dim: int | None = None,
    in_shape: Sequence[int] | None = None,
    hidden=None,
    activation: str = "relu",
    **kwargs,
) -> nn.Module:
    """Build an encoder by name (used by the CLI and the studies).

    - ``"mlp"``: ``MLP(in_dim, hidden, n_classes)``; ``hidden`` defaults to ``(256, 64)``;
      ``in_dim`` may be given as ``in_shape`` (its product).
    - ``"cnn"``: ``CNN2d`` for ``in_shape=(C, H, W)``, ``CNN1d`` for ``in_shape=(C, L)``;
      ``"cnn2d"``/``"cnn1d"`` pick one explicitly (``cnn1d`` also takes ``in_dim`` as the length).
      ``hidden`` (default 64) is the width of ``penultimate``.

    Extra ``kwargs`` go to the model's constructor (e.g. ``channels=``).

    >>> build_model("cnn", in_shape=(1, 8, 8), n_classes=10).flat_dim
    1024
    """
    check_choice(name, "name", MODELS)
    n_classes = check_int(n_classes, "n_classes")
    if in_shape is not None:
        in_shape = check_ints(in_shape, "in_shape")
    if in_dim is not None:
        in_dim = check_int(in_dim, "in_dim")
    if name == "mlp":
        if in_dim is None:
            if in_shape is None:
                raise ValueError("in_dim: 'mlp' needs in_dim (or in_shape)")
            in_dim = math.prod(in_shape)
        elif in_shape is not None and math.prod(in_shape) != in_dim:
            raise ValueError(f"in_shape: {in_shape} does not match in_dim={in_dim}")
        return MLP(in_dim, (256, 64) if hidden is None else hidden, n_classes, activation=activation, **kwargs)
    hidden = 64 if hidden is None else hidden
    if name == "cnn":
        if in_shape is None or len(in_shape) not in (2, 3):
            raise ValueError(
                f"in_shape: 'cnn' needs in_shape=(C, H, W) for images or (C, L) for sequences, got {in_shape}"
            )
        name = "cnn2d" if len(in_shape) == 3 else "cnn1d"
    if name == "cnn2d":
        if in_shape is None:
            raise ValueError("in_shape: 'cnn2d' needs in_shape=(C, H, W)")
        return CNN2d(in_shape, hidden=hidden, n_classes=n_classes, activation=activation, **kwargs)
    if in_shape is not None:
        if len(in_shape) != 2:
            raise ValueError(f"in_shape: 'cnn1d' needs in_shape=(C, L), got {in_shape}")
        in_channels, length = in_shape
    elif in_dim is not None:
        in_channels, length = 1, in_dim
    else:
        raise ValueError("in_shape: 'cnn1d' needs in_shape=(C, L) or in_dim=L")
    return CNN1d(length, hidden=hidden, n_classes=n_classes, in_channels=in_channels, activation=activation, **kwargs)
