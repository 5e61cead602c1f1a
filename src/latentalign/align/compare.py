r"""Compare two models layer by layer: alignment matrices, stitching errors, bounds and task penalties.

``compare_models(model_a, model_b, loader, layers_a, layers_b, metrics)``:

1. One pass over ``loader`` records the chosen layers of both models (the foundation's
   :class:`~latentalign.models.LayerRecorder` on the pair, rows ordered by sample id).
   With ``loader=(loader_a, loader_b)`` each model gets its own pass and the two
   recordings must hold the same sample ids, else ``ValueError``.
2. Every metric gives an ``La x Lb`` matrix, on ``eval_loader``'s rows when given
   (held-out comparison), else on ``loader``'s.
3. With ``stitch=True``, for every pair ``(i, j)`` and both directions: the ridge stitcher
   fit on ``loader``'s rows (:func:`latentalign.align.stitch`), its in-sample ``e_star``
   and bound, its held-out ``e_test`` on ``eval_loader``; and, when batches carry labels,
   the task penalty: a second pass over the evaluation rows in which a forward hook on
   the target model's layer ``j`` swaps in the stitched activations of the source layer
   ``i``, giving ``delta_ce``, ``delta_acc`` and (for Linear/ReLU heads) the CE bound.

Conv feature maps are flattened (``reduce="flatten"``, stitchable) or mean-pooled over
space (``reduce="mean"``; a pooled map cannot be swapped back, so its penalties are NaN).
A metric undefined on some pair (e.g. a dead, constant layer) gives NaN there and a
line in ``result.undefined``.

Example
-------
>>> import torch
>>> from latentalign.models import MLP
>>> from latentalign.train import make_loader
>>> X = torch.randn(64, 5); y = (X[:, 0] > 0).long()
>>> res = compare_models(MLP(5, 8, 2), MLP(5, 8, 2), make_loader(X, y, batch_size=16), metrics=("cka",), lam=1e-3)
>>> res.metrics["cka"].shape, sorted(res.stitching)
((3, 3), ['a->b', 'b->a'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .._validate import check_choice
from ..models import LayerRecorder, Recording, layer_names
from ..train.data import split_batch
from .head_penalty import head_lipschitz
from .registry import metric as registry_metric
from .stitching import Stitcher
from .stitching import stitch as stitch_both_ways

__all__ = ["compare_models", "CompareResult", "STITCH_FIELDS"]

STITCH_FIELDS = ("e_star", "lower", "upper", "e_train", "e_test", "lam", "delta_ce", "delta_acc", "ce_bound")


@dataclass
class CompareResult:
    """Layer x layer results: ``metrics[name][i, j]`` compares A's layer i with B's layer j;
    ``stitching["a->b"][field][i, j]`` stitches A's layer i into B's layer j, ``"b->a"`` B's
    layer j into A's layer i (same indexing). Fields: :data:`STITCH_FIELDS`."""

    layers_a: list[str]
    layers_b: list[str]
    n_fit: int
    n_eval: int
    metrics: dict[str, np.ndarray]
    stitching: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    undefined: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-able dict (NaN written as null)."""
        clean = lambda a: [[None if not math.isfinite(v) else float(v) for v in row] for row in a]
        return {
            "layers_a": self.layers_a, "layers_b": self.layers_b, "n_fit": self.n_fit, "n_eval": self.n_eval,
            "metrics": {k: clean(v) for k, v in self.metrics.items()},
            "stitching": {d: {k: clean(v) for k, v in f.items()} for d, f in self.stitching.items()},
            "accuracy": self.accuracy, "undefined": self.undefined,
        }


class _Pair(nn.Module):
    """Both models under one root, so one LayerRecorder pass records both."""

    def __init__(self, a: nn.Module, b: nn.Module):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return self.a(x), self.b(x)


def _check_layers(model: nn.Module, layers, name: str) -> list[str]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name}: expected a torch.nn.Module, got {type(model).__name__}")
    return layer_names(model) if layers is None else ([layers] if isinstance(layers, str) else list(layers))


def _record(model_a, model_b, loader, layers_a, layers_b, reduce, device) -> tuple[Recording, Recording]:
    """Recordings of A's and B's layers over the same sample ids (see module doc)."""
    if isinstance(loader, (tuple, list)):
        if len(loader) != 2:
            raise ValueError(f"loader: expected one loader or a pair (loader_a, loader_b), got {len(loader)} items")
        rec_a = LayerRecorder(model_a, layers_a, reduce=reduce).record(loader[0], device=device)
        rec_b = LayerRecorder(model_b, layers_b, reduce=reduce).record(loader[1], device=device)
        if rec_a.n != rec_b.n or not torch.equal(rec_a.ids, rec_b.ids):
            only_a = np.setdiff1d(rec_a.ids.numpy(), rec_b.ids.numpy())[:5].tolist()
            only_b = np.setdiff1d(rec_b.ids.numpy(), rec_a.ids.numpy())[:5].tolist()
            raise ValueError(f"loader: model_a saw {rec_a.n} samples and model_b {rec_b.n}; sample ids differ "
                             f"(only in A e.g. {only_a}, only in B e.g. {only_b}); compare on the same samples")
        return rec_a, rec_b
    if model_a is model_b:
        rec = LayerRecorder(model_a, list(dict.fromkeys(layers_a + layers_b)), reduce=reduce).record(loader,
                                                                                                    device=device)
        pick = lambda names: Recording(rec.ids, {n: rec.activations[n] for n in names}, rec.labels)
        return pick(layers_a), pick(layers_b)
    names = [f"a.{n}" for n in layers_a] + [f"b.{n}" for n in layers_b]
    rec = LayerRecorder(_Pair(model_a, model_b), names, reduce=reduce).record(loader, device=device)
    split = lambda p, layers: Recording(rec.ids, {n: rec.activations[f"{p}.{n}"] for n in layers}, rec.labels)
    return split("a", layers_a), split("b", layers_b)


def _metric_specs(metrics) -> dict[str, dict]:
    if isinstance(metrics, str):
        metrics = [metrics]
    specs = dict(metrics) if isinstance(metrics, Mapping) else {m: {} for m in metrics}
    for name in specs:
        registry_metric(name)
    return specs


def _pairs(pairs, La: int, Lb: int, layers_a, layers_b) -> list[tuple[int, int]]:
    if pairs is None:
        return [(i, j) for i in range(La) for j in range(Lb)]
    out = []
    for pa, pb in pairs:
        i = layers_a.index(pa) if isinstance(pa, str) and pa in layers_a else pa
        j = layers_b.index(pb) if isinstance(pb, str) and pb in layers_b else pb
        if not (isinstance(i, int) and 0 <= i < La and isinstance(j, int) and 0 <= j < Lb):
            raise ValueError(f"pairs: ({pa!r}, {pb!r}) is not a (layer_a, layer_b) pair of names or indices")
        out.append((i, j))
    return out


def _head_after(model: nn.Module, layer: str) -> nn.Module | None:
    """The rest of ``model`` after a top-level layer, as a Sequential, when the model is a chain of its children."""
    names = [n for n, _ in model.named_children()]
    own = getattr(model, "layer_names", None)
    if layer not in names or not callable(own) or own() != names:
        return None
    return nn.Sequential(*[m for n, m in model.named_children()][names.index(layer) + 1:])


def _swap_logits(model: nn.Module, layer: str | None, stitched, ids: torch.Tensor, loader, device):
    """Logits of ``model`` over ``loader``, rows ordered like ``ids``, with ``layer``'s output replaced by
    ``stitched`` rows (matched by sample id); ``layer=None`` gives the native logits."""
    from ..models.recorder import _model_device, _to

    device = _model_device(model) if device is None else torch.device(device)
    current = {}

    def hook(module, inputs, output):
        rows = torch.searchsorted(ids, current["idx"])
        if rows.max() >= ids.shape[0] or not torch.equal(ids[rows], current["idx"]):
            raise ValueError("eval_loader: yielded a sample id that was not recorded; iterate it deterministically")
        new = stitched[rows]
        if new.numel() != output.numel():
            raise _Unswappable
        return new.reshape(output.shape).to(output.dtype)

    flags = {m: m.training for m in model.modules()}
    handle = model.get_submodule(layer).register_forward_hook(hook) if layer is not None else None
    logits, order = [], []
    try:
        model.eval()
        with torch.no_grad():
            for batch in loader:
                x, _, idx = split_batch(batch, require_ids=True)
                current["idx"] = idx.cpu().long()
                logits.append(model(_to(x, device)).detach().double().cpu())
                order.append(current["idx"])
    finally:
        if handle is not None:
            handle.remove()
        for m, f in flags.items():
            m.training = f
    rows = torch.searchsorted(ids, torch.cat(order))
    out = torch.empty(ids.shape[0], logits[0].shape[1], dtype=torch.float64)
    out[rows] = torch.cat(logits)
    return out


class _Unswappable(Exception):
    """A mean-pooled map cannot replace the layer's output."""


def _penalty(model, layer, stitcher: Stitcher, source_eval, target_eval, ids, labels, eval_loader, device, native):
    """(delta_ce, delta_acc, ce_bound) of swapping stitched activations into ``model``'s ``layer``."""
    ce = torch.nn.functional.cross_entropy
    stitched = stitcher(source_eval.double())
    try:
        logits = _swap_logits(model, layer, stitched.float(), ids, eval_loader, device)
    except _Unswappable:
        return math.nan, math.nan, math.nan
    d_ce = float(ce(logits, labels) - ce(native, labels))
    d_acc = float((native.argmax(1) == labels).double().mean() - (logits.argmax(1) == labels).double().mean())
    head = _head_after(model, layer)
    lip = None if head is None else head_lipschitz(head)
    e_abs = float((target_eval.double() - stitched).square().sum(1).mean())
    return d_ce, d_acc, (math.nan if lip is None else math.sqrt(2.0) * lip * math.sqrt(e_abs))


def compare_models(
    model_a: nn.Module,
    model_b: nn.Module,
    loader: Iterable | tuple,
    layers_a: Sequence[str] | None = None,
    layers_b: Sequence[str] | None = None,
    metrics: Sequence[str] | Mapping[str, dict] = ("cka", "mutual_knn"),
    *,
    reduce: str = "flatten",
    stitch: bool = True,
    eval_loader: Iterable | None = None,
    pairs: Sequence[tuple] | None = None,
    lam: float | str = "gcv",
    device=None,
    progress=None,
) -> CompareResult:
    """Layer x layer comparison of two models (see the module doc).

    ``layers_*``: layer names (default: every layer of the model's ``layer_names``).
    ``metrics``: registry names, or ``{name: options}`` (e.g. ``{"mutual_knn": {"k": 10}}``).
    ``pairs``: restrict the work to these ``(layer_a, layer_b)`` pairs (names or indices);
    other entries are NaN. ``lam``: the stitchers' ridge (``"gcv"`` or a number).
    ``progress(done, total)`` is called after each unit of work.
    """
    check_choice(reduce, "reduce", ("flatten", "mean"))
    layers_a, layers_b = _check_layers(model_a, layers_a, "model_a"), _check_layers(model_b, layers_b, "model_b")
    specs = _metric_specs(metrics)
    fit_a, fit_b = _record(model_a, model_b, loader, layers_a, layers_b, reduce, device)
    if eval_loader is None:
        eval_a, eval_b = fit_a, fit_b
    else:
        eval_a, eval_b = _record(model_a, model_b, eval_loader, layers_a, layers_b, reduce, device)
    La, Lb = len(layers_a), len(layers_b)
    todo = _pairs(pairs, La, Lb, layers_a, layers_b)
    labels = eval_a.labels if eval_a.labels is not None and bool((eval_a.labels >= 0).all()) else None
    total = len(todo) * (len(specs) + (2 if stitch else 0))
    done = 0
    result = CompareResult(layers_a, layers_b, fit_a.n, eval_a.n, {})
    for name, options in specs.items():
        fn = registry_metric(name).fn
        mat = np.full((La, Lb), np.nan)
        for i, j in todo:
            try:
                mat[i, j] = float(fn(eval_a.activations[layers_a[i]], eval_b.activations[layers_b[j]], **options))
            except ValueError as err:
                result.undefined.append(f"{name}({layers_a[i]}, {layers_b[j]}): {err}")
            done += 1
            if progress is not None:
                progress(done, total)
        result.metrics[name] = mat
    if not stitch:
        return result
    eval_target = eval_loader if eval_loader is not None else (loader[0] if isinstance(loader, (tuple, list)) else loader)
    natives = {}
    if labels is not None:
        natives = {key: _swap_logits(m, None, None, eval_a.ids, eval_target, device)
                   for key, m in (("a", model_a), ("b", model_b))}
        result.accuracy = {k: float((v.argmax(1) == labels).double().mean()) for k, v in natives.items()}
    result.stitching = {d: {f: np.full((La, Lb), np.nan) for f in STITCH_FIELDS} for d in ("a->b", "b->a")}
    for i, j in todo:
        la, lb = layers_a[i], layers_b[j]
        fit = (fit_a.activations[la], fit_b.activations[lb])
        held = (eval_a.activations[la], eval_b.activations[lb])
        try:
            st = stitch_pair(fit, held, lam)
        except ValueError as err:
            result.undefined.append(f"stitch({la}, {lb}): {err}")
            done += 2
            continue
        for key, d, (model, layer, src, dst) in (
            ("a->b", st.forward, (model_b, lb, held[0], held[1])),
            ("b->a", st.backward, (model_a, la, held[1], held[0])),
        ):
            out = result.stitching[key]
            for f in ("e_star", "lower", "upper", "e_train", "e_test"):
                out[f][i, j] = getattr(d, f)
            out["lam"][i, j] = d.stitcher.lam
            if labels is not None:
                target_model = "b" if key == "a->b" else "a"
                out["delta_ce"][i, j], out["delta_acc"][i, j], out["ce_bound"][i, j] = _penalty(
                    model, layer, d.stitcher, src, dst, eval_a.ids, labels, eval_target, device, natives[target_model])
            done += 1
            if progress is not None:
                progress(done, total)
    return result


def stitch_pair(fit, held, lam):
    """Both stitchers between two recorded layers, fit on ``fit`` rows, ``e_test`` on ``held`` rows."""
    return stitch_both_ways(fit[0], fit[1], lam=lam, X1_test=held[0], X2_test=held[1])
