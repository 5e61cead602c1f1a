r"""Compare two models layer by layer: alignment matrices, stitching errors, bounds and task penalties.

``compare_models(model_a, model_b, loader, layers_a, layers_b, metrics)``:

1. One pass over ``loader`` records the chosen layers of both models (the foundation's
   :class:`~latentalign.models.LayerRecorder` on the pair, rows ordered by sample id).
   With a tuple ``loader=(loader_a, loader_b)`` each model gets its own pass (e.g. its own
   tokenizer's batches) and the two recordings must hold the same sample ids, else
   ``ValueError``. Batches may be ``transformers`` dicts; token sequences are pooled over
   the attention mask (``pool``), or with ``pool=None`` every valid token is a row.
2. Every metric gives an ``La x Lb`` matrix, on ``eval_loader``'s rows when given
   (held-out comparison), else on ``loader``'s; with ``permutations`` also a matrix of
   permutation p-values.
3. With ``stitch=True``, for every pair ``(i, j)`` and both directions: the ridge stitcher
   fit on ``loader``'s rows (:func:`latentalign.align.stitch`), its in-sample ``e_star``
   and bound, its held-out ``e_test`` on ``eval_loader``; and, when batches carry labels and
   both models output class logits, the task penalty: a second pass over the evaluation rows in which a forward hook on
   the target model's layer ``j`` swaps in the stitched activations of the source layer
   ``i``, giving ``delta_ce``, ``delta_acc`` and (for Linear/ReLU heads) the CE bound.

Conv feature maps are flattened (``reduce="flatten"``, stitchable) or mean-pooled over
space (``reduce="mean"``; a pooled map cannot be swapped back, so its penalties are NaN).
A metric undefined on some pair (e.g. a dead, constant layer) gives NaN there and a
line in ``result.undefined``.

The example is :func:`compare_models`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .._deprecate import renamed_kwargs
from .._validate import check_bool, check_choice, check_int, check_seed
from ..models import LayerRecorder, Recording, layer_names
from ..models.batches import SampleIds, call_model, output_tensor, unpack_batch
from ..models.pooling import POOLS
from .head_penalty import head_lipschitz
from .registry import lookup
from .registry import metric as registry_metric
from .significance import permutation_test
from .stitching import Stitcher
from .stitching import stitch as stitch_both_ways

__all__ = ["compare_models", "CompareResult", "STITCH_FIELDS"]

STITCH_FIELDS = ("e_star", "lower", "upper", "e_train", "e_test", "ridge", "delta_ce", "delta_acc", "ce_bound")


@dataclass
class CompareResult:
    """Layer x layer results of :func:`compare_models`.

    Attributes
    ----------
    layers_a, layers_b : list of str
        The compared layers of A (rows) and B (columns).
    n_fit, n_eval : int
        Rows the stitchers were fit on and rows everything was evaluated on.
    metrics : dict of str to numpy.ndarray of shape (La, Lb)
        ``metrics[name][i, j]`` compares A's layer i with B's layer j.
    stitching : dict of str to dict of str to numpy.ndarray of shape (La, Lb)
        ``stitching["a->b"][field][i, j]`` stitches A's layer i into B's layer j, ``"b->a"``
        B's layer j into A's layer i (same indexing); fields: :data:`STITCH_FIELDS`.
    accuracy : dict of str to float
        Each model's accuracy on the evaluation rows (when batches carry labels).
    undefined : list of str
        One line per metric entry that was undefined (NaN in the matrix).
    p_values : dict of str to numpy.ndarray of shape (La, Lb)
        Permutation p-values (with ``permutations > 0``).
    """

    layers_a: list[str]
    layers_b: list[str]
    n_fit: int
    n_eval: int
    metrics: dict[str, np.ndarray]
    stitching: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    undefined: list[str] = field(default_factory=list)
    p_values: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain JSON-able dict (NaN written as null)."""
        clean = lambda a: [[None if not math.isfinite(v) else float(v) for v in row] for row in a]
        return {
            "layers_a": self.layers_a, "layers_b": self.layers_b, "n_fit": self.n_fit, "n_eval": self.n_eval,
            "metrics": {k: clean(v) for k, v in self.metrics.items()},
            "stitching": {d: {k: clean(v) for k, v in f.items()} for d, f in self.stitching.items()},
            "accuracy": self.accuracy, "undefined": self.undefined,
            "p_values": {k: clean(v) for k, v in self.p_values.items()},
        }


class _Pair(nn.Module):
    """Both models under one root, so one LayerRecorder pass records both; each is called its own way
    (``forwards``), with ``output_hidden_states=True`` where its layers need it (``hidden``).
    """

    def __init__(self, a: nn.Module, b: nn.Module, forwards=(None, None), hidden=(False, False)):
        super().__init__()
        self.a, self.b = a, b
        self.forwards, self.hidden = forwards, hidden

    def forward(self, inputs):
        return tuple(call_model(m, inputs, f, **({"output_hidden_states": True} if h else {}))
                     for m, f, h in zip((self.a, self.b), self.forwards, self.hidden))


def _is_transformer(model: nn.Module) -> bool:
    return hasattr(getattr(model, "config", None), "output_hidden_states")


def _check_layers(model: nn.Module, layers, name: str) -> list[str]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name}: expected a torch.nn.Module, got {type(model).__name__}")
    if layers is None:
        own = callable(getattr(model, "layer_names", None))
        return ["hidden_states"] if _is_transformer(model) and not own else layer_names(model)
    return [layers] if isinstance(layers, str) else list(layers)


def _forwards(forward) -> tuple:
    """``forward=``: one callable for both models, or a pair ``(forward_a, forward_b)``."""
    pair = tuple(forward) if isinstance(forward, (tuple, list)) else (forward, forward)
    if len(pair) != 2 or not all(f is None or callable(f) for f in pair):
        raise TypeError("forward: expected a callable forward(model, inputs), or a pair of them (A's, B's)")
    return pair


class _Recorded(NamedTuple):
    """One model's recording and its recorded layer names (``hidden_states`` expanded)."""

    rec: Recording
    names: list[str]


def _pick(rec: Recording, names: list[str], prefix: str = "") -> Recording:
    return rec._replace(activations={n: rec.activations[prefix + n] for n in names})


def _same_ids(rec_a: Recording, rec_b: Recording) -> None:
    if rec_a.n != rec_b.n or not torch.equal(rec_a.ids, rec_b.ids):
        only_a = np.setdiff1d(rec_a.ids.numpy(), rec_b.ids.numpy())[:5].tolist()
        only_b = np.setdiff1d(rec_b.ids.numpy(), rec_a.ids.numpy())[:5].tolist()
        raise ValueError(f"loader: model_a saw {rec_a.n} samples and model_b {rec_b.n}; sample ids differ "
                         f"(only in A e.g. {only_a}, only in B e.g. {only_b}); compare on the same samples")


def _is_pair(loader) -> bool:
    """A tuple of loaders ``(loader_a, loader_b)``; a list (of batches, say) is one loader."""
    return isinstance(loader, tuple) and not any(isinstance(x, (Mapping, torch.Tensor)) for x in loader)


def _record(model_a, model_b, loader, layers_a, layers_b, how: dict) -> tuple[_Recorded, _Recorded]:
    """Recordings of A's and B's layers over the same sample ids (see module doc). ``how``: the
    recorder's ``reduce``/``pool`` and the pass's ``forward`` (a pair), ``sample_ids``, ``device``.
    """
    shape = {"reduce": how["reduce"], "pool": how["pool"]}
    fa, fb = how["forward"]
    run = {"device": how["device"], "sample_ids": how["sample_ids"]}
    if _is_pair(loader):
        if len(loader) != 2:
            raise ValueError(f"loader: expected one loader or a pair (loader_a, loader_b), got {len(loader)} items")
        ra, rb = LayerRecorder(model_a, layers_a, **shape), LayerRecorder(model_b, layers_b, **shape)
        rec_a, rec_b = ra.record(loader[0], forward=fa, **run), rb.record(loader[1], forward=fb, **run)
        _same_ids(rec_a, rec_b)
        return _Recorded(rec_a, ra.names), _Recorded(rec_b, rb.names)
    if model_a is model_b:
        if fa is not fb:
            raise ValueError("forward: one model called two ways cannot be recorded in one pass; "
                             "pass loader=(loader_a, loader_b)")
        both = LayerRecorder(model_a, list(dict.fromkeys(layers_a + layers_b)), **shape)
        rec = both.record(loader, forward=fa, **run)
        names = lambda layers: [n for layer in layers for n in both.expanded[layer]]
        return _Recorded(_pick(rec, names(layers_a)), names(layers_a)), \
            _Recorded(_pick(rec, names(layers_b)), names(layers_b))
    needs_hidden = lambda layers: any("hidden_states" in layer.split(".") for layer in layers)
    pair = _Pair(model_a, model_b, (fa, fb), (needs_hidden(layers_a), needs_hidden(layers_b)))
    recorder = LayerRecorder(pair, [f"a.{n}" for n in layers_a] + [f"b.{n}" for n in layers_b], **shape)
    rec = recorder.record(loader, forward=lambda m, inputs: m(inputs), **run)
    names = lambda p, layers: [n[len(p) + 1:] for layer in layers for n in recorder.expanded[f"{p}.{layer}"]]
    na, nb = names("a", layers_a), names("b", layers_b)
    return _Recorded(_pick(rec, na, "a."), na), _Recorded(_pick(rec, nb, "b."), nb)


def _token_rows(a: Recording, b: Recording) -> tuple[Recording, Recording]:
    """With ``pool=None``: every valid token a row, in both recordings, which must tokenize alike."""
    if a.mask is None and b.mask is None:
        return a, b
    if a.mask is None or b.mask is None:
        raise ValueError("pool: None compares tokens, but only one model gave token sequences; pick layers that "
                         "both return (batch, tokens, dim)")
    T = max(a.mask.shape[1], b.mask.shape[1])
    pad = lambda m: torch.cat([m, m.new_zeros(m.shape[0], T - m.shape[1])], 1)
    if not torch.equal(pad(a.mask), pad(b.mask)):
        raise ValueError("pool: None compares tokens, so both models need the same attention masks; the two "
                         "recordings' masks differ (different tokenizers?); pool the tokens instead")

    def rows(rec: Recording) -> Recording:
        acts = {}
        for name, v in rec.activations.items():
            if tuple(v.shape[:2]) != tuple(rec.mask.shape):
                raise ValueError(f"pool: None compares tokens, but layer {name!r} gave shape {tuple(v.shape[1:])} "
                                 "per sample, not tokens; pool it, or record sequence layers only")
            acts[name] = v[rec.mask]
        return Recording(torch.arange(int(rec.mask.sum())), acts, None)

    return rows(a), rows(b)


def _metric_specs(metrics) -> dict[str, dict]:
    if isinstance(metrics, str):
        metrics = [metrics]
    specs = dict(metrics) if isinstance(metrics, Mapping) else {m: {} for m in metrics}
    for name, options in specs.items():
        lookup(name, options, "metrics")
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


def _swap_logits(model: nn.Module, layer: str | None, stitched, ids: torch.Tensor, loader, how: dict):
    """Outputs of ``model`` over ``loader``, rows ordered like ``ids``, with ``layer``'s output replaced by
    ``stitched`` rows (matched by sample id); ``layer=None`` gives the native outputs. ``None`` when the
    model's outputs are not logits ``(B, C)``. ``how``: ``forward``, ``sample_ids``, ``device``.
    """
    from ..models.recorder import _model_device, _to

    device = _model_device(model) if how["device"] is None else torch.device(how["device"])
    current = {}

    def hook(module, inputs, output):
        rows = torch.searchsorted(ids, current["idx"])
        if rows.max() >= ids.shape[0] or not torch.equal(ids[rows], current["idx"]):
            raise ValueError("eval_loader: yielded a sample id that was not recorded; iterate it deterministically")
        new = stitched[rows]
        if not isinstance(output, torch.Tensor) or new.numel() != output.numel():
            raise _Unswappable
        return new.reshape(output.shape).to(output.dtype)

    if layer is not None and layer not in dict(model.named_modules()):
        raise _Unswappable  # hidden_states.i: not a module a hook can replace
    flags = {m: m.training for m in model.modules()}
    handle = model.get_submodule(layer).register_forward_hook(hook) if layer is not None else None
    feed = SampleIds(how["sample_ids"])
    logits, order = [], []
    try:
        model.eval()
        with torch.no_grad():
            for batch in loader:
                batch = feed.take(unpack_batch(batch, require_ids=feed.required))
                current["idx"] = batch.ids.cpu().long()
                out = output_tensor(call_model(model, _to(batch.inputs, device), how["forward"]), "model")
                if out.ndim != 2:
                    return None
                logits.append(out.detach().double().cpu())
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
    """A pooled map, or a layer that is no module, cannot replace the layer's output."""


def _penalty(model, layer, stitcher: Stitcher, source_eval, target_eval, ids, labels, eval_loader, how, native):
    """(delta_ce, delta_acc, ce_bound) of swapping stitched activations into ``model``'s ``layer``."""
    ce = torch.nn.functional.cross_entropy
    stitched = stitcher(source_eval.double())
    try:
        logits = _swap_logits(model, layer, stitched.float(), ids, eval_loader, how)
    except _Unswappable:
        return math.nan, math.nan, math.nan
    d_ce = float(ce(logits, labels) - ce(native, labels))
    d_acc = float((native.argmax(1) == labels).double().mean() - (logits.argmax(1) == labels).double().mean())
    head = _head_after(model, layer)
    lip = None if head is None else head_lipschitz(head)
    e_abs = float((target_eval.double() - stitched).square().sum(1).mean())
    return d_ce, d_acc, (math.nan if lip is None else math.sqrt(2.0) * lip * math.sqrt(e_abs))


def _natives(models, labels, ids, loaders: dict, how) -> dict:
    """Each model's logits on the evaluation rows (``loaders[key]``), when labels exist and both models
    output class logits.
    """
    if labels is None:
        return {}
    out = {}
    for key, model, forward in zip("ab", models, how["forward"]):
        logits = _swap_logits(model, None, None, ids, loaders[key], dict(how, forward=forward))
        if logits is None or logits.shape[1] <= int(labels.max()):
            return {}
        out[key] = logits
    return out


@renamed_kwargs(lam="ridge")
def compare_models(
    model_a: nn.Module,
    model_b: nn.Module,
    loader: Iterable | tuple,
    layers_a: Sequence[str] | None = None,
    layers_b: Sequence[str] | None = None,
    metrics: Sequence[str] | Mapping[str, dict] = ("cka", "mutual_knn"),
    *,
    reduce: str = "flatten",
    pool: str | None = "mean",
    forward=None,
    sample_ids=None,
    stitch: bool = True,
    eval_loader: Iterable | None = None,
    pairs: Sequence[tuple] | None = None,
    ridge: float | str = "gcv",
    permutations: int = 0,
    seed: int = 0,
    device=None,
    progress=None,
) -> CompareResult:
    """Layer x layer comparison of two models (see the module doc).

    Parameters
    ----------
    model_a, model_b : torch.nn.Module
        The two models (our encoders with ``layer_names``, or ``transformers`` models).
    loader : iterable of batches, or tuple of two
        Batches ``(x, y, idx)`` or ``transformers`` dicts; a pair ``(loader_a, loader_b)``
        gives each model its own pass over the same sample ids.
    layers_a, layers_b : sequence of str, optional
        Layer names (default: every layer of the model's ``layer_names``; for a
        ``transformers`` model, ``"hidden_states"``: every block).
    metrics : sequence of str or mapping, default ("cka", "mutual_knn")
        Registry names, or ``{name: options}`` (e.g. ``{"mutual_knn": {"k": 10}}``).
    reduce : {"flatten", "mean"}, default "flatten"
        How conv feature maps become rows (see the module doc).
    pool : str or None, default "mean"
        How token sequences become rows (:class:`~latentalign.models.LayerRecorder`);
        ``None`` compares token by token (both models' attention masks must then match).
    forward : callable or tuple of two, optional
        ``forward(model, inputs)`` for an unusual call (one for both, or a pair).
    sample_ids : array-like, optional
        Ids of ``loader``'s rows in order, for batches without ids.
    stitch : bool, default True
        Fit and evaluate the stitchers of every pair, both ways.
    eval_loader : iterable, optional
        Held-out batches the metrics, ``e_test`` and the task penalties are computed on.
    pairs : sequence of tuple, optional
        Restrict the work to these ``(layer_a, layer_b)`` pairs (names or indices); other entries are NaN.
    ridge : float or "gcv", default "gcv"
        The stitchers' relative ridge (see :func:`~latentalign.align.stitch`).
    permutations : int, default 0
        Shuffled pairings for a permutation p-value of every entry (``result.p_values``).
    seed : int, default 0
        Seed of the permutations.
    device : str or torch.device, optional
        Where the models run (default: their own device).
    progress : callable, optional
        ``progress(done, total)``, called after each unit of work.

    Returns
    -------
    CompareResult
        ``La x Lb`` matrices per metric and per stitching field, the models' accuracies and the undefined entries.

    Examples
    --------
    >>> import torch
    >>> from latentalign.models import MLP
    >>> from latentalign.train import make_loader
    >>> X = torch.randn(64, 5); y = (X[:, 0] > 0).long()
    >>> res = compare_models(MLP(5, 8, 2), MLP(5, 8, 2), make_loader(X, y, batch_size=16), metrics=("cka",), ridge=1e-3)
    >>> res.metrics["cka"].shape, sorted(res.stitching)
    ((3, 3), ['a->b', 'b->a'])
    """
    check_choice(reduce, "reduce", ("flatten", "mean"))
    check_choice(pool, "pool", POOLS)
    permutations = check_int(permutations, "permutations", minimum=0)
    stitch = check_bool(stitch, "stitch")
    seed = check_seed(seed)
    layers_a, layers_b = _check_layers(model_a, layers_a, "model_a"), _check_layers(model_b, layers_b, "model_b")
    specs = _metric_specs(metrics)
    how = {"reduce": reduce, "pool": pool, "forward": _forwards(forward), "sample_ids": sample_ids, "device": device}
    (fit_a, layers_a), (fit_b, layers_b) = _record(model_a, model_b, loader, layers_a, layers_b, how)
    fit_a, fit_b = _token_rows(fit_a, fit_b)
    if eval_loader is None:
        eval_a, eval_b = fit_a, fit_b
    else:
        (eval_a, _), (eval_b, _) = _record(model_a, model_b, eval_loader, layers_a, layers_b,
                                           dict(how, sample_ids=None))
        eval_a, eval_b = _token_rows(eval_a, eval_b)
    La, Lb = len(layers_a), len(layers_b)
    todo = _pairs(pairs, La, Lb, layers_a, layers_b)
    labels = eval_a.labels if eval_a.labels is not None and bool((eval_a.labels >= 0).all()) else None
    total = len(todo) * (len(specs) + (2 if stitch else 0))
    done = 0
    result = CompareResult(layers_a, layers_b, fit_a.n, eval_a.n, {})
    for name, options in specs.items():
        info = registry_metric(name)
        mat, p_mat = np.full((La, Lb), np.nan), np.full((La, Lb), np.nan)
        for i, j in todo:
            xa, xb = eval_a.activations[layers_a[i]], eval_b.activations[layers_b[j]]
            try:
                if permutations:
                    test = permutation_test(xa, xb, info, seed=seed, permutations=permutations, **options)
                    mat[i, j], p_mat[i, j] = test.value, test.p_value
                else:
                    mat[i, j] = float(info.fn(xa, xb, **options))
            except ValueError as err:
                result.undefined.append(f"{name}({layers_a[i]}, {layers_b[j]}): {err}")
            done += 1
            if progress is not None:
                progress(done, total)
        result.metrics[name] = mat
        if permutations:
            result.p_values[name] = p_mat
    if not stitch:
        return result
    target = eval_loader if eval_loader is not None else loader
    targets = dict(zip("ab", target if _is_pair(target) else (target, target)))  # each model's evaluation pass
    eval_how = dict(how, sample_ids=sample_ids if eval_loader is None else None)
    natives = _natives((model_a, model_b), labels, eval_a.ids, targets, eval_how)
    result.accuracy = {k: float((v.argmax(1) == labels).double().mean()) for k, v in natives.items()}
    result.stitching = {d: {f: np.full((La, Lb), np.nan) for f in STITCH_FIELDS} for d in ("a->b", "b->a")}
    for i, j in todo:
        la, lb = layers_a[i], layers_b[j]
        fit = (fit_a.activations[la], fit_b.activations[lb])
        held = (eval_a.activations[la], eval_b.activations[lb])
        try:
            st = stitch_pair(fit, held, ridge)
        except ValueError as err:
            result.undefined.append(f"stitch({la}, {lb}): {err}")
            done += 2
            continue
        for key, d, (model, layer, src, dst, t) in (
            ("a->b", st.forward, (model_b, lb, held[0], held[1], "b")),
            ("b->a", st.backward, (model_a, la, held[1], held[0], "a")),
        ):
            out = result.stitching[key]
            for f in ("e_star", "lower", "upper", "e_train", "e_test"):
                out[f][i, j] = getattr(d, f)
            out["ridge"][i, j] = d.stitcher.ridge
            if natives:
                target_how = dict(eval_how, forward=how["forward"]["ab".index(t)])
                out["delta_ce"][i, j], out["delta_acc"][i, j], out["ce_bound"][i, j] = _penalty(
                    model, layer, d.stitcher, src, dst, eval_a.ids, labels, targets[t], target_how, natives[t])
            done += 1
            if progress is not None:
                progress(done, total)
    return result


def stitch_pair(fit, held, ridge):
    """Both stitchers between two recorded layers, fit on ``fit`` rows, ``e_test`` on ``held`` rows."""
    return stitch_both_ways(fit[0], fit[1], ridge=ridge, X1_test=held[0], X2_test=held[1])
