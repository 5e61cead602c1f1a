"""What a batch holds, how a model is called on it, and which tensor its output stands for.

One place for the conventions every recorder of the library follows (``LayerRecorder``,
``align.compare_models``, ``lcc.collect_latents``):

- :func:`unpack_batch` reads a batch into :class:`Batch` ``(inputs, labels, ids, mask)``.
  Tuples ``(x, y, idx)``, ``(x, y)`` or ``x``; dicts with ``"x"`` (and ``"y"``, ``"idx"``);
  or dicts in the ``transformers`` convention (``input_ids``, ``attention_mask``, ...), whose
  remaining keys are the model's keyword inputs. Sample ids come from ``"idx"`` or
  ``"sample_id"``, labels from ``"y"``, ``"labels"`` or ``"label"``; the token mask is the
  inputs' ``"attention_mask"``.
- :func:`call_model` calls ``model(**inputs)`` for dict inputs, ``model(inputs)`` otherwise,
  or a ``forward(model, inputs)`` callable for models whose call is unusual.
- :func:`output_tensor` takes the tensor an output stands for: a Tensor; a ``ModelOutput``
  or any mapping (its ``last_hidden_state``, else its first tensor); a tuple (its first
  element, the convention of ``transformers`` and ``torch.nn``). :func:`hidden_states`
  reads the per-block states of an output computed with ``output_hidden_states=True``.
- :class:`SampleIds` hands out ids from a ``sample_ids=`` argument, batch after batch.

Nothing here imports ``transformers``: its outputs are recognised by their fields.

Examples
--------
>>> import torch
>>> b = unpack_batch({"input_ids": torch.ones(2, 3, dtype=torch.long),
...                   "attention_mask": torch.tensor([[1, 1, 0], [1, 1, 1]]), "idx": torch.tensor([4, 2])})
>>> sorted(b.inputs), b.ids.tolist(), b.mask.sum(1).tolist(), b.tokens
(['attention_mask', 'input_ids'], [4, 2], [2, 3], True)
>>> output_tensor((torch.zeros(2, 3), torch.ones(2, 3, 3)), "block").shape
torch.Size([2, 3])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

__all__ = ["Batch", "unpack_batch", "call_model", "output_tensor", "hidden_states", "SampleIds",
           "ID_KEYS", "LABEL_KEYS"]

ID_KEYS = ("idx", "sample_id")
LABEL_KEYS = ("y", "labels", "label")

_NEEDS_IDS = (
    "batches need sample ids, as (x, y, idx), a dict with an 'idx' or 'sample_id' key, or a sample_ids= "
    "argument; got {what}. Wrap your dataset in latentalign.train.IndexedDataset (or use make_loader) to add them"
)


class Batch(NamedTuple):
    """``inputs``: what the model is called on (a dict: keyword inputs); ``labels``, ``ids``:
    tensors or ``None``; ``mask``: the inputs' ``attention_mask`` ``(B, T)`` or ``None``.
    """

    inputs: Any
    labels: torch.Tensor | None
    ids: torch.Tensor | None
    mask: torch.Tensor | None

    @property
    def tokens(self) -> bool:
        """Token batch (``transformers`` style dict inputs or a mask): sequence outputs are pooled."""
        return self.mask is not None or isinstance(self.inputs, Mapping)

    @property
    def size(self) -> int | None:
        """Number of samples: from the ids, the mask or the first tensor of the inputs."""
        for t in (self.ids, self.mask):
            if t is not None:
                return int(t.shape[0])
        values = self.inputs.values() if isinstance(self.inputs, Mapping) else (self.inputs,)
        for v in values:
            if isinstance(v, torch.Tensor) and v.ndim:
                return int(v.shape[0])
        return None


def _one_of(batch: Mapping, keys: Sequence[str], what: str):
    present = [k for k in keys if k in batch]
    if len(present) > 1:
        raise ValueError(f"batch: holds {what} under several keys {present}; keep one")
    return batch[present[0]] if present else None


def _check_ids(idx) -> torch.Tensor:
    idx = torch.as_tensor(idx)
    if idx.ndim != 1 or idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
        raise ValueError(f"batch: sample ids (idx) must be a 1-D integer tensor, got {idx.dtype} {tuple(idx.shape)}")
    if idx.numel() and int(idx.min()) < 0:
        raise ValueError(f"batch: sample ids (idx) must be >= 0, got {int(idx.min())}")
    return idx.long()


def unpack_batch(batch, *, require_ids: bool = False) -> Batch:
    """``Batch(inputs, labels, ids, mask)`` from a tuple or dict batch (see the module doc).

    With ``require_ids`` a batch without ids raises ``ValueError``. Ids are checked to be
    a 1-D non-negative integer tensor.
    """
    if isinstance(batch, Mapping):
        idx = _one_of(batch, ID_KEYS, "sample ids")
        y = _one_of(batch, LABEL_KEYS, "labels")
        if "x" in batch:
            x = batch["x"]
        else:
            x = {k: v for k, v in batch.items() if k not in ID_KEYS + LABEL_KEYS}
            if not x:
                raise ValueError(f"batch: dict batches need an 'x' key or model inputs, got {sorted(batch)}")
    elif isinstance(batch, (tuple, list)):
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"batch: expected (x, y, idx), (x, y) or x, got a {len(batch)}-tuple")
        x, y, idx = (*batch, None, None)[:3]
    else:
        x, y, idx = batch, None, None
    if idx is None:
        if require_ids:
            what = f"a {len(batch)}-tuple" if isinstance(batch, (tuple, list)) else \
                (f"dict with keys {sorted(batch)}" if isinstance(batch, Mapping) else type(batch).__name__)
            raise ValueError("batch: " + _NEEDS_IDS.format(what=what))
    else:
        idx = _check_ids(idx)
    if y is not None and not isinstance(y, torch.Tensor):
        y = torch.as_tensor(y)
    mask = x.get("attention_mask") if isinstance(x, Mapping) else None
    if mask is not None:
        mask = torch.as_tensor(mask)
        if mask.ndim != 2:
            raise ValueError(f"attention_mask: expected a (batch, tokens) mask, got shape {tuple(mask.shape)}")
        if idx is not None and mask.shape[0] != idx.shape[0]:
            raise ValueError(f"attention_mask: has {mask.shape[0]} rows for a batch of {idx.shape[0]} sample ids")
    return Batch(x, y, idx, mask)


def call_model(model: nn.Module, inputs, forward: Callable | None = None, **kwargs):
    """``forward(model, inputs)`` when given, else ``model(**inputs, **kwargs)`` for dict inputs or
    ``model(inputs, **kwargs)``. A ``forward`` callable gets no ``kwargs``: it passes what it needs
    (e.g. ``output_hidden_states=True``) itself.
    """
    if forward is not None:
        return forward(model, inputs)
    if isinstance(inputs, Mapping):
        return model(**inputs, **kwargs)
    return model(inputs, **kwargs)


def _field(out, key: str):
    if isinstance(out, Mapping):
        return out.get(key)
    return getattr(out, key, None) if not isinstance(out, (tuple, list, torch.Tensor)) else None


def output_tensor(out, name: str) -> torch.Tensor:
    """The tensor an output of layer ``name`` stands for (see the module doc); ``TypeError`` otherwise."""
    if isinstance(out, torch.Tensor):
        return out
    last = _field(out, "last_hidden_state")
    if isinstance(last, torch.Tensor):
        return last
    if isinstance(out, Mapping):
        for value in out.values():
            if isinstance(value, torch.Tensor):
                return value
    elif isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise TypeError(f"layers: {name!r} returned {type(out).__name__}, not a Tensor; a Tensor, a tuple whose first "
                    "element is a Tensor or a ModelOutput/mapping holding tensors can be recorded")


def hidden_states(out, name: str) -> tuple[torch.Tensor, ...]:
    """The per-block hidden states (embeddings first) of an output computed with ``output_hidden_states=True``."""
    states = _field(out, "hidden_states")
    if not isinstance(states, (tuple, list)) or not states or not all(isinstance(s, torch.Tensor) for s in states):
        raise ValueError(f"layers: {name!r} needs a model output carrying hidden_states (a transformers ModelOutput "
                         f"computed with output_hidden_states=True), got {type(out).__name__}; a forward= callable "
                         "must pass output_hidden_states=True itself")
    return tuple(states)


class SampleIds:
    """Ids of the rows in loader order, taken batch after batch from a ``sample_ids=`` argument.

    ``None`` means the batches carry their own ids (:attr:`required` from
    :func:`unpack_batch`). Given ids and ids in the batches raise ``ValueError``; so do too
    few ids, or ids left over (:meth:`finish`).
    """

    def __init__(self, sample_ids=None):
        self.ids = None if sample_ids is None else _named_ids(sample_ids)
        self.used = 0

    @property
    def required(self) -> bool:
        """Whether the batches themselves must carry ids."""
        return self.ids is None

    def take(self, batch: Batch) -> Batch:
        """``batch`` with its ids: its own, or the next ``sample_ids``."""
        if self.ids is None:
            return batch
        if batch.ids is not None:
            raise ValueError("sample_ids: given, but the batches carry their own ids ('idx'/'sample_id'); "
                             "use one or the other")
        n = batch.size
        if n is None:
            raise ValueError("sample_ids: cannot tell the batch size of a batch with no tensor inputs")
        if self.used + n > self.ids.shape[0]:
            raise ValueError(f"sample_ids: has {self.ids.shape[0]} ids but the loader yielded more rows")
        ids = self.ids[self.used:self.used + n]
        self.used += n
        return batch._replace(ids=ids)

    def finish(self) -> None:
        """Check that the loader yielded exactly as many rows as there are ids."""
        if self.ids is not None and self.used != self.ids.shape[0]:
            raise ValueError(f"sample_ids: has {self.ids.shape[0]} ids but the loader yielded {self.used} rows")


def _named_ids(sample_ids) -> torch.Tensor:
    try:
        return _check_ids(sample_ids)
    except (ValueError, TypeError, RuntimeError) as err:
        raise ValueError(f"sample_ids: expected a 1-D sequence of non-negative integer ids ({err})") from None
