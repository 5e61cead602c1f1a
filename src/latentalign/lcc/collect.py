"""Collect latents of named sub-modules over a loader, placed by sample id.

``collect_latents(model, loader, layers)`` runs ``model`` in eval mode under
``no_grad`` (through :class:`~latentalign.models.LayerRecorder`), and writes
``Z[idx] = z``, ``Y[idx] = y`` into preallocated buffers with a fill mask. The
loader order never matters: labels and clusters are joined only through ``idx``.
A repeated id (``DistributedSampler`` padding) keeps its first row; a missing id
raises unless ``allow_missing=True`` (its label is then ``-1``: ignored).

The example is :func:`collect_latents`'s.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import torch
from torch import nn

from ..models import LayerRecorder
from ..train import IndexedDataset

__all__ = ["SampleIdDataset", "Collected", "collect_latents", "check_labels", "MAX_BYTES"]

SampleIdDataset = IndexedDataset
"""Wrap data (or a map-style ``Dataset``) so that items are ``(x, y, idx)``; ``idx`` is the sample id."""

MAX_BYTES = 2 * 2**30
"""Largest latent buffer (bytes, float32) collected by default: 2 GiB."""


class Collected(NamedTuple):
    """The latents and labels of every sample id, collected by :func:`collect_latents`.

    Attributes
    ----------
    latents : dict of str to torch.Tensor of shape (N, D)
        float32 latents per layer; row ``i`` is sample id ``i``.
    labels : torch.Tensor of shape (N,)
        int64 labels (``-1``: ignored).
    present : torch.Tensor of shape (N,)
        bool: which ids the loader delivered.
    """

    latents: dict[str, torch.Tensor]
    labels: torch.Tensor
    present: torch.Tensor

    @property
    def n(self) -> int:
        """Number of collected rows."""
        return int(self.labels.shape[0])


def _dataset_size(loader) -> int:
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError) as exc:
        raise ValueError(
            "n_samples: the loader has no sized .dataset; pass n_samples (the number of sample ids)"
        ) from exc


def check_labels(labels: torch.Tensor, n_classes: int, name: str = "labels") -> torch.Tensor:
    """Integer labels ``< n_classes`` as int64; negative labels mean "ignored"."""
    if not isinstance(labels, torch.Tensor):
        labels = torch.as_tensor(labels)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{name}: expected integer class labels, got dtype {labels.dtype}")
    labels = labels.reshape(-1).long()
    if labels.numel() and int(labels.max()) >= n_classes:
        raise ValueError(
            f"{name}: labels must be < n_classes={n_classes} (negative means ignored), got {int(labels.max())}"
        )
    return labels


def collect_latents(
    model: nn.Module,
    loader: Iterable,
    layers: str | Sequence[str],
    *,
    n_samples: int | None = None,
    reduce: str = "flatten",
    pool: str = "mean",
    forward=None,
    sample_ids=None,
    allow_missing: bool = False,
    max_bytes: int = MAX_BYTES,
    device: str | torch.device | None = None,
) -> Collected:
    """Latents of ``layers`` and labels for every sample id ``0..n_samples-1``.

    Batches are ``(x, y, idx)`` or dicts with ``"x"``, ``"y"``, ``"idx"``
    (:data:`SampleIdDataset` adds the ids), or ``transformers`` style dicts (``input_ids``,
    ``attention_mask``, ``labels``, ``idx``); ``sample_ids``: the rows' ids in loader order for
    batches without ids; ``forward(model, inputs)``: an unusual call (see
    :mod:`latentalign.models.batches`). ``n_samples`` defaults to
    ``len(loader.dataset)``. ``reduce``: ``"flatten"`` (default) or ``"mean"``
    over spatial dims; ``pool``: how a token sequence becomes one row ("mean", "cls",
    "last", "max", over the attention mask; see
    :func:`latentalign.models.pooling.pool_tokens`). Raises ``ValueError`` if the buffers would exceed
    ``max_bytes`` (float32), if an id is missing (unless ``allow_missing``), or if
    the batches carry no labels. ``training`` flags are restored.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier; its ``training`` flags are restored afterwards.
    loader : iterable of batches
        ``(x, y, idx)``, dicts with ``"x"``, ``"y"``, ``"idx"``, or ``transformers`` dicts.
    layers : str or sequence of str
        Sub-module names, as in ``model.named_modules()``.
    n_samples : int, optional
        Ids run over ``0..n_samples-1`` (default ``len(loader.dataset)``).
    reduce : {"flatten", "mean"}, default "flatten"
        How spatial dimensions become one row.
    pool : {"mean", "cls", "last", "max"}, default "mean"
        How a token sequence becomes one row, over the attention mask.
    forward : callable, optional
        ``forward(model, inputs)`` for an unusual call.
    sample_ids : array-like, optional
        The rows' ids in loader order, for batches without ids.
    allow_missing : bool, default False
        Accept ids the loader never delivered (``present`` says which).
    max_bytes : int, default 2 GiB
        Limit on the float32 buffers.
    device : str or torch.device, optional
        Where the model runs (default: its own device).

    Returns
    -------
    Collected
        ``latents[layer]`` ``(N, D)``, ``labels`` ``(N,)``, ``present`` ``(N,)``, row ``i`` = sample id ``i``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 2))
    >>> x = torch.eye(2)
    >>> batches = [{"x": x[1:], "y": torch.tensor([7]), "idx": torch.tensor([1])},
    ...            {"x": x[:1], "y": torch.tensor([3]), "idx": torch.tensor([0])}]
    >>> col = collect_latents(model, batches, "0", n_samples=2)
    >>> col.labels.tolist(), torch.allclose(col.latents["0"], model(x))
    ([3, 7], True)
    """
    if n_samples is None:
        n_samples = _dataset_size(loader)
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples: expected a positive integer, got {n_samples!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, numbers.Integral) or max_bytes < 1:
        raise ValueError(f"max_bytes: expected a positive integer, got {max_bytes!r}")
    if pool is None:
        raise ValueError("pool: LCC clusters one latent row per sample; pick 'mean', 'cls', 'last' or 'max'")
    recorder = LayerRecorder(model, layers, reduce=reduce, pool=pool)
    rec = recorder.record(loader, device=device, expected_n=int(n_samples), allow_missing=allow_missing,
                          max_bytes=int(max_bytes), forward=forward, sample_ids=sample_ids)
    if rec.labels is None:
        raise ValueError("loader: batches carry no labels; LCC needs (x, y, idx) batches with class labels")
    if rec.n == n_samples:
        return Collected(rec.activations, rec.labels, torch.ones(n_samples, dtype=torch.bool))
    present = torch.zeros(n_samples, dtype=torch.bool)
    present[rec.ids] = True
    labels = torch.full((n_samples,), -1, dtype=torch.long)
    labels[rec.ids] = rec.labels
    latents = {}
    for name, a in rec.activations.items():
        full = torch.zeros((n_samples, *a.shape[1:]), dtype=a.dtype)
        full[rec.ids] = a
        latents[name] = full
    return Collected(latents, labels, present)
