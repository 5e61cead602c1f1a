"""Record the outputs of named sub-modules through forward hooks.

Two ways to use :class:`LayerRecorder`:

- as a context manager around your own forward passes: ``rec.outputs[name]`` holds
  the (reduced) output of the last forward pass, with autograd kept unless
  ``detach=True`` (so a loss can be computed on it);
- ``rec.record(loader)``: one eval-mode, ``no_grad`` pass over a loader whose
  batches carry sample ids; returns a :class:`Recording` whose rows are ordered by
  sample id, whatever order the loader used.

Example
-------
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

from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import torch
from torch import nn

from ..train.data import split_batch

__all__ = ["LayerRecorder", "Recording", "REDUCTIONS", "first_by_id"]

REDUCTIONS = ("flatten", "mean", None)
_MAX_LISTED = 20


class Recording(NamedTuple):
    """Recorded activations, one row per sample, rows ordered by increasing sample id.

    ``ids``: int64 ``(n,)``; ``activations[name]``: float32 ``(n, d)`` (or ``(n, ...)``
    with ``reduce=None``); ``labels``: int64 ``(n,)`` or ``None`` when batches carry none.
    All on CPU.
    """

    ids: torch.Tensor
    activations: dict[str, torch.Tensor]
    labels: torch.Tensor | None

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])


def _hook_tensor(output: Any, name: str) -> torch.Tensor:
    """The Tensor a hook output stands for: a Tensor, ``(Tensor,)`` or ``(Tensor, non-Tensor...)``."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        if not any(isinstance(o, torch.Tensor) for o in output[1:]):
            return output[0]
        n_t = sum(isinstance(o, torch.Tensor) for o in output)
        raise TypeError(
            f"layers: {name!r} returned a {type(output).__name__} of {n_t} tensors; "
            "only a Tensor, a 1-tuple or (Tensor, non-Tensor...) can be recorded; "
            "record a sub-module that returns a single Tensor"
        )
    raise TypeError(
        f"layers: {name!r} returned {type(output).__name__}, not a Tensor; "
        "only a Tensor, a 1-tuple or (Tensor, non-Tensor...) can be recorded"
    )


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


class LayerRecorder:
    """Capture the outputs of named sub-modules of ``model`` via forward hooks.

    Parameters
    ----------
    model : nn.Module
    layers : str or sequence of str
        Names as in ``model.named_modules()`` (e.g. ``"penultimate"``, ``"body.2"``).
    reduce : {"flatten", "mean", None}
        ``"flatten"`` reshapes each output to ``(B, -1)``; ``"mean"`` averages the
        spatial dims (dims 2.. of a channels-first map) to ``(B, C)``; ``None`` keeps it.
    detach : bool
        In context-manager use, store detached outputs (``record`` always detaches).

    A hook output that is a Tensor is kept; a 1-tuple is unwrapped;
    ``(Tensor, non-Tensor...)`` keeps the Tensor; anything else raises ``TypeError``.
    If a module runs several times in one forward pass the last output is kept.
    """

    def __init__(self, model: nn.Module, layers: str | Sequence[str], *, reduce: str | None = "flatten",
                 detach: bool = False):
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
        for name in layers:
            if not isinstance(name, str):
                raise TypeError(f"layers: expected layer names (str), got {type(name).__name__}")
            if name not in modules or name == "":
                valid = [n for n in modules if n]
                shown = ", ".join(repr(n) for n in valid[:_MAX_LISTED])
                more = f", ... ({len(valid) - _MAX_LISTED} more)" if len(valid) > _MAX_LISTED else ""
                raise ValueError(f"layers: unknown layer {name!r}; valid names: [{shown}{more}]")
        if len(set(layers)) != len(layers):
            raise ValueError(f"layers: duplicated layer names in {layers}")
        self.model = model
        self.layers = layers
        if reduce is not None and reduce not in ("flatten", "mean"):
            raise ValueError(f"reduce: expected 'flatten', 'mean' or None, got {reduce!r}")
        self.reduce = reduce
        self.detach = bool(detach)
        self.outputs: dict[str, torch.Tensor] = {}
        self._modules = {name: modules[name] for name in layers}
        self._handles: list = []
        self._force_detach = False

    # -- hooks -----------------------------------------------------------------
    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def attach(self) -> "LayerRecorder":
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

    def _make_hook(self, name: str):
        def hook(module, inputs, output):
            t = _reduce(_hook_tensor(output, name), self.reduce)
            if self.detach or self._force_detach:
                t = t.detach()
            self.outputs[name] = t

        return hook

    def __enter__(self) -> "LayerRecorder":
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.remove()

    # -- one pass over a loader --------------------------------------------------
    def record(
        self,
        loader: Iterable,
        *,
        device: str | torch.device | None = None,
        expected_n: int | None = None,
        allow_missing: bool = False,
        max_bytes: int | None = None,
    ) -> Recording:
        """Run ``model`` over ``loader`` in eval mode under ``no_grad`` and collect the layers.

        Batches are ``(x, y, idx)`` or dicts with ``"x"``, ``"idx"`` (``"y"`` optional).
        Rows are placed by sample id, so the result is ordered by increasing id
        whatever the loader order; a repeated id (``DistributedSampler`` padding)
        keeps its first occurrence. With ``expected_n`` the ids must be
        ``0..expected_n-1``; the rows are written into preallocated buffers, a missing id
        raises ``ValueError`` (unless ``allow_missing``: then only the ids seen are
        returned) and ``max_bytes`` bounds the buffers' size. ``device`` is where
        inputs go (default: the model's device); the model is not moved. Each
        module's ``training`` flag is restored afterwards.
        """
        if expected_n is not None:
            if isinstance(expected_n, bool) or not isinstance(expected_n, int) or expected_n < 1:
                raise ValueError(f"expected_n: expected a positive integer, got {expected_n!r}")
        device = _model_device(self.model) if device is None else torch.device(device)
        flags = {m: m.training for m in self.model.modules()}
        was_attached = self.attached
        self.attach()
        self._force_detach = True
        sink = _Preallocated(expected_n, max_bytes) if expected_n is not None else _Chunks()
        try:
            self.model.eval()
            with torch.no_grad():
                for batch in loader:
                    x, y, idx = split_batch(batch, require_ids=True)
                    self.outputs = {}
                    self.model(_to(x, device))
                    missing = [n for n in self.layers if n not in self.outputs]
                    if missing:
                        raise ValueError(f"layers: {missing} produced no output in the forward pass")
                    acts = {n: self.outputs[n].detach().to("cpu", torch.float32) for n in self.layers}
                    for n, a in acts.items():
                        if a.shape[0] != idx.shape[0]:
                            raise ValueError(
                                f"layers: {n!r} gave {a.shape[0]} rows for a batch of {idx.shape[0]} ids; "
                                "the first dim of a recorded output must be the batch"
                            )
                    y = None if y is None else y.detach().to("cpu").long().reshape(-1)
                    sink.add(idx.cpu(), acts, y)
        finally:
            self._force_detach = False
            self.outputs = {}
            if not was_attached:
                self.remove()
            for m, flag in flags.items():
                m.training = flag
        return sink.result(allow_missing)


class _Chunks:
    """Collect batches in loader order; dedupe and sort by id at the end."""

    def __init__(self):
        self.ids, self.acts, self.ys = [], {}, []

    def add(self, idx, acts, y):
        self.ids.append(idx)
        for n, a in acts.items():
            self.acts.setdefault(n, []).append(a)
        self.ys.append(y)

    def result(self, allow_missing: bool) -> Recording:
        if not self.ids:
            raise ValueError("loader: yielded no batches")
        ids = torch.cat(self.ids)
        uniq, first = first_by_id(ids)
        acts = {n: torch.cat(chunks)[first] for n, chunks in self.acts.items()}
        labels = None
        if all(y is not None for y in self.ys):
            labels = torch.cat(self.ys)[first]
        return Recording(uniq, acts, labels)


class _Preallocated:
    """Write rows at their id into ``(expected_n, ...)`` buffers with a fill mask."""

    def __init__(self, n: int, max_bytes: int | None):
        self.n, self.max_bytes = n, max_bytes
        self.filled = torch.zeros(n, dtype=torch.bool)
        self.acts: dict[str, torch.Tensor] = {}
        self.labels: torch.Tensor | None = None
        self.has_labels = True
        self.started = False

    def add(self, idx, acts, y):
        if idx.numel() and int(idx.max()) >= self.n:
            raise ValueError(f"batch: sample id {int(idx.max())} >= expected_n={self.n}")
        if not self.started:
            self.started = True
            total = sum(self.n * a[0].numel() * 4 for a in acts.values())
            if self.max_bytes is not None and total > self.max_bytes:
                raise ValueError(
                    f"max_bytes: recording {self.n} samples needs {total / 2**30:.2f} GiB "
                    f"(> {self.max_bytes / 2**30:.2f} GiB); use reduce='mean', fewer samples or a PCA first"
                )
            self.acts = {n: torch.zeros((self.n, *a.shape[1:]), dtype=torch.float32) for n, a in acts.items()}
            self.has_labels = y is not None
            if self.has_labels:
                self.labels = torch.full((self.n,), -1, dtype=torch.long)
        uniq, first = first_by_id(idx)
        new = ~self.filled[uniq]
        rows, pos = uniq[new], first[new]
        for n, a in acts.items():
            if tuple(a.shape[1:]) != tuple(self.acts[n].shape[1:]):
                raise ValueError(f"layers: {n!r} changed shape between batches: {tuple(a.shape[1:])} vs "
                                 f"{tuple(self.acts[n].shape[1:])}")
            self.acts[n][rows] = a[pos]
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
            return Recording(torch.arange(self.n), self.acts, self.labels)
        if not allow_missing:
            some = torch.nonzero(~self.filled).flatten()[:10].tolist()
            raise ValueError(
                f"expected_n: {n_missing} of {self.n} sample ids never appeared (e.g. {some}); "
                "check the loader covers the dataset, or pass allow_missing=True"
            )
        ids = torch.nonzero(self.filled).flatten()
        acts = {n: a[ids] for n, a in self.acts.items()}
        return Recording(ids, acts, None if self.labels is None else self.labels[ids])
