r"""Record the outputs of named sub-modules through forward hooks.

Two ways to use :class:`LayerRecorder`:

- as a context manager around your own forward passes: ``rec.outputs[name]`` holds
  the (reduced) output of the last forward pass, with autograd kept unless
  ``detach=True`` (so a loss can be computed on it);
- ``rec.record(loader)``: one eval-mode, ``no_grad`` pass over a loader whose
  batches carry sample ids; returns a :class:`Recording` whose rows are ordered by
  sample id, whatever order the loader used.

Batches, calls and outputs follow :mod:`latentalign.models.batches`: tuples or dicts
(``transformers`` style ``input_ids``/``attention_mask`` included), ``forward=`` for an
unusual call, outputs that are tensors, tuples or ``ModelOutput``\ s. The layer name
``"hidden_states"`` records every block of a ``transformers`` model (its
``hidden_states`` output, embeddings first, named ``hidden_states.0``, ``hidden_states.1``,
...; ``"hidden_states.3"`` picks one; ``"<module>.hidden_states"`` reads a sub-module's
output). In a token batch, sequence outputs ``(B, T, D)`` are pooled over the batch's
attention mask (:func:`~latentalign.models.pooling.pool_tokens`).

Examples
--------
>>> import torch
>>> from latentalign.models import MLP
>>> from latentalign.train import make_loader
>>> model = MLP(4, (8, 3), 2)
>>> X = torch.randn(10, 4)
>>> rec = LayerRecorder(model, ["penultimate"]).record(make_loader(X, None, shuffle=True, batch_size=3))
>>> rec.ids.tolist() == list(range(10)), tuple(rec.activations["penultimate"].shape)
(True, (10, 3))
>>> torch.allclose(rec.activations["penultimate"], model.penultimate(model.hidden1(X)))
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

from .._validate import check_bool
from .batches import Batch, SampleIds, call_model, hidden_states, output_tensor, unpack_batch
from .pooling import POOLS, check_mask, pool_tokens

__all__ = ["LayerRecorder", "Recording", "REDUCTIONS", "first_by_id"]

REDUCTIONS = ("flatten", "mean", None)
_MAX_LISTED = 20


class Recording(NamedTuple):
    """Recorded activations, one row per sample, rows ordered by increasing sample id.

    ``ids``: int64 ``(n,)``; ``activations[name]``: float32 ``(n, d)`` (or ``(n, ...)``
    with ``reduce=None``); ``labels``: int64 ``(n,)`` or ``None`` when batches carry none.
    With ``pool=None`` a sequence layer keeps its tokens, ``(n, T, d)`` with zeros at every
    padding position (``T``: the longest batch), and ``mask`` ``(n, T)`` (bool) marks the
    valid ones. All on CPU.
    """

    ids: torch.Tensor
    activations: dict[str, torch.Tensor]
    labels: torch.Tensor | None
    mask: torch.Tensor | None = None

    @property
    def n(self) -> int:
        """Number of recorded rows."""
        return int(self.ids.shape[0])


def _reduce(t: torch.Tensor, reduce: str | None) -> torch.Tensor:
    if reduce == "flatten":
        return t.reshape(t.shape[0], -1) if t.ndim != 2 else t
    if reduce == "mean":
        if t.ndim > 2:
            return t.mean(dim=tuple(range(2, t.ndim)))
        return t.reshape(t.shape[0], -1) if t.ndim == 1 else t
    return t


def first_by_id(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted unique ids and, for each, the position of its first occurrence in ``ids``."""
    uniq, inverse = torch.unique(ids, sorted=True, return_inverse=True)
    pos = torch.arange(ids.shape[0], device=ids.device)
    first = torch.full((uniq.shape[0],), ids.shape[0], dtype=torch.long, device=ids.device)
    first.scatter_reduce_(0, inverse, pos, reduce="amin")
    return uniq, first


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def _to(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (tuple, list)):
        return type(x)(_to(v, device) for v in x)
    if isinstance(x, Mapping):
        return {k: _to(v, device) for k, v in x.items()}
    return x


_HIDDEN = re.compile(r"^(?:(?P<module>.+)\.)?hidden_states(?:\.(?P<index>\d+))?$")


class _Hidden(NamedTuple):
    """A ``hidden_states`` layer spec: the module whose output carries them ('' = root), one index or all."""

    module: str
    index: int | None

    def names(self, count: int, spec: str) -> list[str]:
        prefix = f"{self.module}.hidden_states" if self.module else "hidden_states"
        if self.index is None:
            return [f"{prefix}.{i}" for i in range(count)]
        if self.index >= count:
            raise ValueError(f"layers: {spec!r} asked, but the model gave {count} hidden states (0..{count - 1})")
        return [f"{prefix}.{self.index}"]


def _unknown_layer(name: str, modules: Mapping[str, nn.Module]) -> ValueError:
    valid = [n for n in modules if n]
    shown = ", ".join(repr(n) for n in valid[:_MAX_LISTED])
    more = f", ... ({len(valid) - _MAX_LISTED} more)" if len(valid) > _MAX_LISTED else ""
    return ValueError(f"layers: unknown layer {name!r}; valid names: [{shown}{more}], "
                      "or 'hidden_states' for a transformers model's blocks")


class LayerRecorder:
    """Capture the outputs of named sub-modules of ``model`` via forward hooks.

    Parameters
    ----------
    model : nn.Module
    layers : str or sequence of str
        Names as in ``model.named_modules()`` (e.g. ``"penultimate"``, ``"encoder.layer.3"``),
        or ``"hidden_states"`` (every block of a ``transformers`` model; see the module doc).
    reduce : {"flatten", "mean", None}
        ``"flatten"`` reshapes each output to ``(B, -1)``; ``"mean"`` averages the
        spatial dims (dims 2.. of a channels-first map) to ``(B, C)``; ``None`` keeps it.
    pool : {"mean", "cls", "last", "max", None}
        In a token batch (dict inputs or an ``attention_mask``: see
        :class:`~latentalign.models.batches.Batch`), how a sequence output ``(B, T, ...)`` becomes
        one row per sample, over the valid tokens only; ``None`` keeps the tokens
        (:attr:`Recording.mask` marks them). :meth:`record` reads the mask from each batch; in
        context-manager use, set ``rec.mask`` to the batch's ``(B, T)`` attention mask before the
        forward pass and sequence outputs are pooled over it (with autograd, e.g. for a loss).
    detach : bool
        In context-manager use, store detached outputs (``record`` always detaches).

    A hook output is read by :func:`~latentalign.models.batches.output_tensor` (a Tensor, a
    tuple's first element, a ``ModelOutput``'s ``last_hidden_state``). If a module runs
    several times in one forward pass the last output is kept.
    """

    def __init__(self, model: nn.Module, layers: str | Sequence[str], *, reduce: str | None = "flatten",
                 pool: str | None = "mean", detach: bool = False):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        if isinstance(layers, str):
            layers = [layers]
        if not isinstance(layers, Iterable):
            raise TypeError(f"layers: expected a layer name or a list of names, got {type(layers).__name__}")
        layers = list(layers)
        if not layers:
            raise ValueError("layers: expected at least one layer name")
        modules = dict(model.named_modules())
        self._hidden: dict[str, _Hidden] = {}
        for name in layers:
            if not isinstance(name, str):
                raise TypeError(f"layers: expected layer names (str), got {type(name).__name__}")
            if name in modules and name != "":
                continue
            match = _HIDDEN.match(name)
            if match is None or (match["module"] or "") not in modules:
                raise _unknown_layer(name, modules)
            self._hidden[name] = _Hidden(match["module"] or "", None if match["index"] is None else int(match["index"]))
        if len(set(layers)) != len(layers):
            raise ValueError(f"layers: duplicated layer names in {layers}")
        self.model = model
        self.layers = layers
        if reduce is not None and reduce not in ("flatten", "mean"):
            raise ValueError(f"reduce: expected 'flatten', 'mean' or None, got {reduce!r}")
        if pool not in POOLS:
            raise ValueError(f"pool: expected one of {', '.join(map(repr, POOLS))}, got {pool!r}")
        self.reduce, self.pool = reduce, pool
        self.detach = check_bool(detach, "detach")
        self.outputs: dict[str, torch.Tensor] = {}
        self.mask: torch.Tensor | None = None
        self.expanded: dict[str, list[str]] = {n: [n] for n in layers if n not in self._hidden}
        self._modules = {name: modules[name] for name in layers if name not in self._hidden}
        self._modules.update({name: modules[h.module] for name, h in self._hidden.items()})
        self._handles: list = []
        self._recording = False

    @property
    def names(self) -> list[str]:
        """Recorded names in order, ``hidden_states`` expanded (known after the first forward pass)."""
        missing = [n for n in self.layers if n not in self.expanded]
        if missing:
            raise ValueError(f"layers: {missing} produced no output in the forward pass")
        return [name for n in self.layers for name in self.expanded[n]]

    # -- hooks -----------------------------------------------------------------
    @property
    def attached(self) -> bool:
        """Whether the forward hooks are attached."""
        return bool(self._handles)

    def attach(self) -> LayerRecorder:
        """Register the forward hooks (idempotent)."""
        if not self._handles:
            for name, module in self._modules.items():
                self._handles.append(module.register_forward_hook(self._make_hook(name)))
        return self

    def remove(self) -> None:
        """Remove the forward hooks and forget the stored outputs."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self.outputs = {}

    def clear(self) -> None:
        """Forget the outputs stored so far (hooks stay)."""
        self.outputs = {}

    def _store(self, name: str, t: torch.Tensor) -> None:
        if self._recording:  # record() pools or reduces with the batch's mask
            self.outputs[name] = t.detach()
            return
        if self.mask is not None and t.ndim >= 3 and self.pool is not None:
            t = pool_tokens(t, check_mask(self.mask, tuple(t.shape), "mask"), self.pool)
        t = _reduce(t, self.reduce)
        self.outputs[name] = t.detach() if self.detach else t

    def _make_hook(self, name: str):
        spec = self._hidden.get(name)

        def hook(module, inputs, output):
            if spec is None:
                self._store(name, output_tensor(output, name))
                return
            states = hidden_states(output, name)
            picked = states if spec.index is None or spec.index >= len(states) else states[spec.index:spec.index + 1]
            self.expanded[name] = spec.names(len(states), name)
            for key, t in zip(self.expanded[name], picked):
                self._store(key, t)

        return hook

    def __enter__(self) -> LayerRecorder:
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.remove()

    # -- one pass over a loader --------------------------------------------------
    def _rows(self, t: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, bool]:
        """One batch's output as rows (pooled or reduced) and whether it kept its tokens."""
        if not batch.tokens or t.ndim < 3:
            return _reduce(t, self.reduce), False
        mask = None if batch.mask is None else check_mask(batch.mask, tuple(t.shape), "attention_mask")
        if self.pool is not None:
            return _reduce(pool_tokens(t, mask, self.pool), self.reduce), False
        if mask is None:
            return t, True
        keep = mask.to(t.device).reshape(*mask.shape, *(1,) * (t.ndim - 2))
        return torch.where(keep, t, torch.zeros((), dtype=t.dtype, device=t.device)), True  # padding reads 0

    def record(
        self,
        loader: Iterable,
        *,
        device: str | torch.device | None = None,
        expected_n: int | None = None,
        allow_missing: bool = False,
        max_bytes: int | None = None,
        forward: Callable | None = None,
        sample_ids=None,
    ) -> Recording:
        """Run ``model`` over ``loader`` in eval mode under ``no_grad`` and collect the layers.

        Batches are tuples ``(x, y, idx)`` or dicts (``"x"`` or model inputs such as
        ``input_ids``/``attention_mask``, with ``"idx"``/``"sample_id"`` and optional labels;
        see :func:`~latentalign.models.batches.unpack_batch`). ``sample_ids``: the ids of the
        rows in loader order, for batches without ids. ``forward(model, inputs)`` replaces the
        call ``model(**inputs)`` / ``model(inputs)``. Rows are placed by sample id, so the
        result is ordered by increasing id whatever the loader order; a repeated id
        (``DistributedSampler`` padding) keeps its first occurrence. With ``expected_n`` the
        ids must be ``0..expected_n-1``; the rows are written into preallocated buffers, a
        missing id raises ``ValueError`` (unless ``allow_missing``: then only the ids seen are
        returned) and ``max_bytes`` bounds the buffers' size. ``device`` is where inputs go
        (default: the model's device); the model is not moved. Each module's ``training``
        flag is restored afterwards.
        """
        if expected_n is not None:
            if isinstance(expected_n, bool) or not isinstance(expected_n, int) or expected_n < 1:
                raise ValueError(f"expected_n: expected a positive integer, got {expected_n!r}")
        if forward is not None and not callable(forward):
            raise TypeError(f"forward: expected a callable forward(model, inputs), got {type(forward).__name__}")
        feed = SampleIds(sample_ids)
        device = _model_device(self.model) if device is None else torch.device(device)
        kwargs = {"output_hidden_states": True} if any(not h.module for h in self._hidden.values()) else {}
        flags = {m: m.training for m in self.model.modules()}
        was_attached = self.attached
        self.attach()
        self._recording = True
        sink = _Preallocated(expected_n, max_bytes) if expected_n is not None else _Chunks()
        try:
            self.model.eval()
            with torch.no_grad():
                for batch in loader:
                    batch = feed.take(unpack_batch(batch, require_ids=feed.required))
                    self.outputs = {}
                    call_model(self.model, _to(batch.inputs, device), forward, **kwargs)
                    acts, tokens = {}, set()
                    for n in self.names:
                        if n not in self.outputs:
                            raise ValueError(f"layers: {[n]} produced no output in the forward pass")
                        rows, kept = self._rows(self.outputs[n], batch)
                        acts[n] = rows.detach().to("cpu", torch.float32)
                        if kept:
                            tokens.add(n)
                        if acts[n].shape[0] != batch.ids.shape[0]:
                            raise ValueError(
                                f"layers: {n!r} gave {acts[n].shape[0]} rows for a batch of {batch.ids.shape[0]} "
                                "ids; the first dim of a recorded output must be the batch"
                            )
                    mask = None
                    if tokens:
                        T = next(iter(acts[n] for n in tokens)).shape[1]
                        mask = (torch.ones(batch.ids.shape[0], T, dtype=torch.bool) if batch.mask is None
                                else batch.mask.to("cpu") != 0)
                    y = None if batch.labels is None else batch.labels.detach().to("cpu").long().reshape(-1)
                    sink.add(batch.ids.cpu(), acts, y, _Tokens(tokens, mask))
            feed.finish()
        finally:
            self._recording = False
            self.outputs = {}
            if not was_attached:
                self.remove()
            for m, flag in flags.items():
                m.training = flag
        return sink.result(allow_missing)


class _Tokens(NamedTuple):
    """Which layers of a batch kept their tokens, and the batch's ``(B, T)`` mask of them."""

    layers: set
    mask: torch.Tensor | None


def _pad_tokens(t: torch.Tensor, T: int) -> torch.Tensor:
    """``t`` ``(B, T0, ...)`` zero-padded along dim 1 to ``T >= T0``."""
    if t.shape[1] == T:
        return t
    return torch.cat([t, t.new_zeros((t.shape[0], T - t.shape[1], *t.shape[2:]))], 1)


class _Chunks:
    """Collect batches in loader order; dedupe and sort by id at the end."""

    def __init__(self):
        self.ids, self.acts, self.ys, self.masks = [], {}, [], []
        self.tokens: set = set()

    def add(self, idx, acts, y, tokens: _Tokens):
        self.ids.append(idx)
        for n, a in acts.items():
            self.acts.setdefault(n, []).append(a)
        self.ys.append(y)
        self.tokens |= tokens.layers
        self.masks.append(tokens.mask)

    def result(self, allow_missing: bool) -> Recording:
        if not self.ids:
            raise ValueError("loader: yielded no batches")
        ids = torch.cat(self.ids)
        uniq, first = first_by_id(ids)
        mask = None
        if self.tokens:
            T = max(m.shape[1] for m in self.masks)
            mask = torch.cat([_pad_tokens(m, T) for m in self.masks])[first]
            self.acts.update({n: [_pad_tokens(a, T) for a in self.acts[n]] for n in self.tokens})
        acts = {n: torch.cat(chunks)[first] for n, chunks in self.acts.items()}
        labels = None
        if all(y is not None for y in self.ys):
            labels = torch.cat(self.ys)[first]
        return Recording(uniq, acts, labels, mask)


class _Preallocated:
    """Write rows at their id into ``(expected_n, ...)`` buffers with a fill mask
    (token buffers grow along the token dim when a longer batch comes).
    """

    def __init__(self, n: int, max_bytes: int | None):
        self.n, self.max_bytes = n, max_bytes
        self.filled = torch.zeros(n, dtype=torch.bool)
        self.acts: dict[str, torch.Tensor] = {}
        self.labels: torch.Tensor | None = None
        self.mask: torch.Tensor | None = None
        self.has_labels = True
        self.started = False

    def _start(self, acts, y, tokens: _Tokens):
        self.started = True
        total = sum(self.n * a[0].numel() * 4 for a in acts.values())
        if self.max_bytes is not None and total > self.max_bytes:
            raise ValueError(
                f"max_bytes: recording {self.n} samples needs {total / 2**30:.2f} GiB "
                f"(> {self.max_bytes / 2**30:.2f} GiB); use reduce='mean', fewer samples or a PCA first"
            )
        self.acts = {n: torch.zeros((self.n, *a.shape[1:]), dtype=torch.float32) for n, a in acts.items()}
        if tokens.mask is not None:
            self.mask = torch.zeros((self.n, tokens.mask.shape[1]), dtype=torch.bool)
        self.has_labels = y is not None
        if self.has_labels:
            self.labels = torch.full((self.n,), -1, dtype=torch.long)

    def add(self, idx, acts, y, tokens: _Tokens):
        if idx.numel() and int(idx.max()) >= self.n:
            raise ValueError(f"batch: sample id {int(idx.max())} >= expected_n={self.n}")
        if not self.started:
            self._start(acts, y, tokens)
        if tokens.mask is not None:
            T = max(self.mask.shape[1], tokens.mask.shape[1])
            self.mask = _pad_tokens(self.mask, T)
            acts = dict(acts, **{n: _pad_tokens(acts[n], T) for n in tokens.layers})
            self.acts.update({n: _pad_tokens(self.acts[n], T) for n in tokens.layers})
            tokens = _Tokens(tokens.layers, _pad_tokens(tokens.mask, T))
        uniq, first = first_by_id(idx)
        new = ~self.filled[uniq]
        rows, pos = uniq[new], first[new]
        for n, a in acts.items():
            if tuple(a.shape[1:]) != tuple(self.acts[n].shape[1:]):
                raise ValueError(f"layers: {n!r} changed shape between batches: {tuple(a.shape[1:])} vs "
                                 f"{tuple(self.acts[n].shape[1:])}")
            self.acts[n][rows] = a[pos]
        if tokens.mask is not None:
            self.mask[rows] = tokens.mask[pos]
        if self.has_labels:
            if y is None:
                self.has_labels, self.labels = False, None
            else:
                self.labels[rows] = y[pos]
        self.filled[rows] = True

    def result(self, allow_missing: bool) -> Recording:
        if not self.started:
            raise ValueError("loader: yielded no batches")
        n_missing = int((~self.filled).sum())
        if n_missing == 0:
            return Recording(torch.arange(self.n), self.acts, self.labels, self.mask)
        if not allow_missing:
            some = torch.nonzero(~self.filled).flatten()[:10].tolist()
            raise ValueError(
                f"expected_n: {n_missing} of {self.n} sample ids never appeared (e.g. {some}); "
                "check the loader covers the dataset, or pass allow_missing=True"
            )
        ids = torch.nonzero(self.filled).flatten()
        acts = {n: a[ids] for n, a in self.acts.items()}
        return Recording(ids, acts, None if self.labels is None else self.labels[ids],
                         None if self.mask is None else self.mask[ids])
