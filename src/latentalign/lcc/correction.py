"""``ClusterCorrection``: LCC for any torch classifier, in a plain training loop.

At each scheduled epoch start, ``update(model, loader, epoch)`` collects the
latents of ``layers`` (eval mode, clean inputs), clusters each layer and
freezes the targets; every batch then adds
``corr.loss(latents, labels, idx) = weight * mean_layers L`` to the task loss.
Clustering happens at epoch ``e`` iff ``e >= warmup`` and
``(e - warmup) % interval == 0``; at any other epoch the state is dropped
(unless ``persist=True``), as in the reference code.

The example is :class:`ClusterCorrection`'s.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from .._deprecate import renamed_kwargs
from .._threads import thread_policy
from .._validate import as_matrix, check_bool, check_choice, check_int, check_k, check_nonnegative, check_seed
from ..models import POOLS, LayerRecorder
from ..train.distributed import is_distributed
from .collect import MAX_BYTES, check_labels, collect_latents
from .distributed import gather_collected, share_clustering
from .losses import ExactLCCLoss, PackedBanks, RandomizedLCCLoss, pack_banks
from .state import ClusterState, cluster_latents, cluster_options

__all__ = ["ClusterCorrection", "LOSSES"]

LOSSES = ("exact", "randomized")

_NO_IDS = (
    "idx: the batch carries no sample ids; LCC joins clusters and samples only by id. "
    "Wrap your dataset in latentalign.lcc.SampleIdDataset (= latentalign.train.IndexedDataset) "
    "so batches are (x, y, idx)"
)


class ClusterCorrection:
    """Latent Cluster Correction of the sub-modules ``layers`` of a classifier.

    Parameters
    ----------
    layers : str or list of str
        Sub-module names, as in ``model.named_modules()``.
    n_classes : int
        Number of classes.
    weight : float
        ``w_lcc`` (default ``1e-2``; small latents may need 0.1-1).
    k : int
        Neighbours of the kNN graph.
    loss : {"exact", "randomized"}
        :class:`~latentalign.lcc.ExactLCCLoss` or :class:`~latentalign.lcc.RandomizedLCCLoss`.
    k_target : int, optional
        CC latents averaged per target of the exact loss (default ``k``).
    n_per_cluster : int, default 100
        Draws per cluster of the randomized loss.
    method, resolution, knn_backend, pca_dim, preset, matching
        The clustering step's options (see :func:`~latentalign.lcc.cluster_latents`).
    warmup, interval, persist
        The schedule (defaults 1, 1, False).
    reduce : {"flatten", "mean"}, default "flatten"
        How a conv layer's spatial dimensions become one row.
    pool : {"mean", "cls", "last", "max"}
        How a layer's token sequence ``(B, T, D)`` becomes one latent row per sample, over the
        attention mask (a transformer's layer; see :func:`~latentalign.models.pool_tokens`):
        ``update`` reads the mask from each batch, :meth:`capture` takes the batch's mask.
    seed : int
        Seeds community detection, the ablation's permutation and the random draws.
    max_bytes : int, default 2 GiB
        Limit on the collected latents (float32).

    ``state[layer]`` is the current :class:`ClusterState`, ``targets[layer]`` its banks,
    ``stats`` the last batch's unweighted loss, ``|S|`` and targetless count,
    ``history`` the metrics and timings of every clustering.

    Examples
    --------
    >>> import torch, torch.nn.functional as F
    >>> from latentalign.models import MLP
    >>> from latentalign.train import make_loader
    >>> X, y = torch.randn(60, 4), torch.arange(3).repeat(20)
    >>> model, loader = MLP(4, (16, 8), 3), make_loader(X, y, batch_size=20, shuffle=True)
    >>> corr = ClusterCorrection(["penultimate"], n_classes=3, weight=0.1, k=5, warmup=0)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> corr.update(model, make_loader(X, y, batch_size=60), epoch=0)
    True
    >>> for x, yb, idx in loader:
    ...     with corr.capture(model) as lat:
    ...         logits = model(x)
    ...     loss = F.cross_entropy(logits, yb) + corr.loss(lat, yb, idx)
    ...     opt.zero_grad(); loss.backward(); opt.step()
    >>> sorted(corr.stats)
    ['loss', 'n_mc', 'n_targetless', 'per_layer']
    """

    @renamed_kwargs(knn="knn_backend")
    def __init__(
        self,
        layers: str | Sequence[str],
        n_classes: int,
        weight: float = 1e-2,
        k: int = 10,
        *,
        loss: str = "exact",
        k_target: int | None = None,
        n_per_cluster: int = 100,
        method: str = "louvain",
        resolution: float = 1.0,
        knn_backend: str = "auto",
        pca_dim: int | None = None,
        preset: str | None = None,
        matching: str = "aligned",
        warmup: int = 1,
        interval: int = 1,
        persist: bool = False,
        seed: int = 0,
        reduce: str = "flatten",
        pool: str = "mean",
        max_bytes: int = MAX_BYTES,
    ):
        self.layers = [layers] if isinstance(layers, str) else list(layers)
        if not self.layers or not all(isinstance(n, str) for n in self.layers):
            raise ValueError(f"layers: expected one or more sub-module names, got {layers!r}")
        self.n_classes = check_int(n_classes, "n_classes")
        self.weight = check_nonnegative(weight, "weight")
        self.k = check_int(k, "k")
        check_choice(loss, "loss", LOSSES)
        self.warmup = check_int(warmup, "warmup", minimum=0)
        self.interval = check_int(interval, "interval")
        self.seed = check_seed(seed)
        self.loss_fn = (ExactLCCLoss(self.k if k_target is None else k_target) if loss == "exact"
                        else RandomizedLCCLoss(n_per_cluster, seed=self.seed))
        self.cluster_options = cluster_options(method=method, resolution=resolution, knn_backend=knn_backend,
                                               pca_dim=pca_dim, preset=preset, matching=matching)
        self.persist = check_bool(persist, "persist")
        self.reduce, self.max_bytes = reduce, max_bytes
        self.pool = check_choice(pool, "pool", POOLS[:-1])
        self.state: dict[str, ClusterState] = {}
        self.targets: dict[str, dict[int, list[torch.Tensor]]] = {}
        self._packed: dict[str, tuple[dict, PackedBanks]] = {}
        self.stats: dict = {}
        self.history: list[dict] = []
        self._next_epoch = 0

    # -- schedule ------------------------------------------------------------------
    def scheduled(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (0-based) starts with a clustering."""
        epoch = check_int(epoch, "epoch", minimum=0)
        return epoch >= self.warmup and (epoch - self.warmup) % self.interval == 0

    def update(self, model: nn.Module, loader: Iterable, epoch: int | None = None) -> bool:
        """Cluster the layers' latents over ``loader`` if ``epoch`` is scheduled; return whether it did.

        ``epoch`` defaults to one more than the previous call's. ``loader`` yields
        ``(x, y, idx)`` over the training set, ideally without augmentation.
        Under ``torch.distributed`` every rank passes its shard: the latents are
        gathered (deduplicated by id), rank 0 clusters, and every rank gets the same state.

        Parameters
        ----------
        model : torch.nn.Module
            The classifier whose layers are clustered.
        loader : iterable of batches
            ``(x, y, idx)`` over the training set, ideally without augmentation.
        epoch : int, optional
            The epoch (default: one more than the previous call's).

        Returns
        -------
        bool
            Whether a clustering ran (``epoch`` was scheduled).
        """
        epoch = self._next_epoch if epoch is None else check_int(epoch, "epoch", minimum=0)
        self._next_epoch = epoch + 1
        if not self.scheduled(epoch):
            if not self.persist:
                self.end_epoch()
            return False
        t0 = time.perf_counter()
        col = gather_collected(collect_latents(
            model, loader, self.layers, reduce=self.reduce, pool=self.pool, max_bytes=self.max_bytes,
            allow_missing=is_distributed(),
        ))
        collect_s = time.perf_counter() - t0
        # validate on every rank before rank 0 clusters alone (an error there would leave the others waiting)
        check_labels(col.labels, self.n_classes)
        check_k(self.k, col.n, "k")
        for name in self.layers:
            as_matrix(col.latents[name], "latents", dtype=None)
        record = {"epoch": epoch, "collect_s": collect_s, "layers": {}}
        for name in self.layers:
            t0 = time.perf_counter()
            state = share_clustering(lambda name=name: self._cluster(col.latents[name], col.labels))
            state = state.completed(col.latents[name], col.labels) if state.latents is None else state
            self.state[name] = state
            self.targets[name] = self.loss_fn.targets(state, epoch)
            record["layers"][name] = {"metrics": state.metrics, "timings": state.timings,
                                      "cluster_s": time.perf_counter() - t0}
        self.history.append(record)
        return True

    def _cluster(self, latents: torch.Tensor, labels: torch.Tensor) -> ClusterState:
        """One layer's clustering under the thread policy, its work being the kNN graph's ``2 n^2 d``."""
        n, d = latents.shape[0], int(latents[0].numel())
        with thread_policy(2.0 * n * n * d):
            return cluster_latents(latents, labels, self.n_classes, k=self.k, seed=self.seed, **self.cluster_options)

    def end_epoch(self) -> None:
        """Drop the state (the callback calls this at every epoch end unless ``persist``)."""
        self.state, self.targets, self._packed = {}, {}, {}

    @property
    def active(self) -> bool:
        """Whether a clustering is in force (between :meth:`update` and :meth:`end_epoch`)."""
        return bool(self.state)

    # -- per batch -------------------------------------------------------------------
    def _packed_on(self, name: str, u: torch.Tensor) -> PackedBanks | dict:
        """``targets[name]`` packed, on ``u``'s device and dtype: once per clustering, not once per batch;
        ``{}`` when no class received a cluster.
        """
        targets = self.targets[name]
        if not targets:
            return {}
        source, packed = self._packed.get(name, (None, None))
        if source is not targets:
            packed = pack_banks(targets)
        if packed.members.device != u.device or packed.members.dtype != u.dtype:
            packed = packed.to(device=u.device, dtype=u.dtype)
        self._packed[name] = (targets, packed)
        return packed

    @contextmanager
    def capture(self, model: nn.Module, mask=None) -> Iterator[dict[str, torch.Tensor]]:
        """Record the layers' outputs (with grad) of the forward passes inside the block; with the
        batch's ``(B, T)`` attention ``mask``, token sequences are pooled over it (``pool``).
        """
        rec = LayerRecorder(model, self.layers, reduce=self.reduce, pool=self.pool)
        rec.mask = mask
        outputs = rec.attach().outputs
        try:
            yield outputs
        finally:
            rec.remove()

    def loss(self, latents: Mapping[str, torch.Tensor], labels, idx) -> torch.Tensor:
        """``weight * mean_layers L`` for a batch (a zero that keeps the graph when no state)."""
        if not isinstance(latents, Mapping):
            raise TypeError(f"latents: expected a mapping layer -> tensor (from capture), got {type(latents).__name__}")
        missing = [n for n in self.layers if n not in latents]
        if missing:
            raise ValueError(f"latents: no output captured for {missing}; run the forward pass inside capture()")
        us = [latents[n] for n in self.layers]
        zero = sum(u.sum() * 0.0 for u in us)
        if not self.state:
            self.stats = {}
            return zero
        if idx is None:
            raise ValueError(_NO_IDS)
        idx = torch.as_tensor(idx)
        if idx.is_floating_point() or idx.ndim != 1:
            raise ValueError(f"idx: expected a 1-D integer tensor of sample ids, got {idx.dtype} {tuple(idx.shape)}")
        n = int(next(iter(self.state.values())).labels.shape[0])
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise ValueError(f"idx: sample ids must lie in [0, {n}) (the clustered set), got "
                             f"[{int(idx.min())}, {int(idx.max())}]")
        labels = check_labels(labels, self.n_classes)
        if labels.shape[0] != idx.shape[0]:
            raise ValueError(f"labels: expected {idx.shape[0]} labels like idx, got {labels.shape[0]}")
        per_layer, n_mc, n_targetless = {}, {}, {}
        total = zero
        for name, u in zip(self.layers, us):
            state = self.state[name]
            if u.shape[0] != idx.shape[0]:
                raise ValueError(f"latents: {name!r} has {u.shape[0]} rows for {idx.shape[0]} ids")
            c = state.communities[idx.cpu()]
            y = labels.cpu()
            mc = (y >= 0) & (state.matching[c] != y)
            value = self.loss_fn(u, labels.to(u.device), mc.to(u.device), self._packed_on(name, u))
            matched = torch.zeros(self.n_classes, dtype=torch.bool)
            matched[list(self.targets[name])] = True
            has_target = matched[y.clamp_min(0)]
            per_layer[name] = float(value.detach())
            n_mc[name] = int((mc & has_target).sum())
            n_targetless[name] = int((mc & ~has_target).sum())
            total = total + value
        mean = total / len(self.layers)
        self.stats = {"loss": float(mean.detach()), "per_layer": per_layer,
                      "n_mc": sum(n_mc.values()), "n_targetless": sum(n_targetless.values())}
        return self.weight * mean
