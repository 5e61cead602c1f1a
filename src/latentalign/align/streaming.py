r"""Exact streaming linear CKA / HSIC as ``torchmetrics`` metrics: any batching, any number of ranks.

Linear HSIC is a function of sample sums (``docs/align.md#eq-hsic-linear``,
``docs/align.md#align-streaming``). The states are those sums, float64, merged with
``dist_reduce_fx="sum"``, so chunked, ``forward``-ed or DDP-sharded data all give the
full-data value:

* biased: ``n``, ``s_x = X^T 1``, ``s_y``, ``X^T X``, ``Y^T Y``, ``X^T Y``
  (``Xc^T Yc = X^T Y - s_x s_y^T / n``);
* unbiased adds ``sum k``, ``sum l``, ``sum k^2``, ``sum l^2``, ``sum k l``, ``X^T k``,
  ``X^T l``, ``Y^T k``, ``Y^T l`` (``k_i = ||x_i||^2``, ``l_i = ||y_i||^2``).

States hold *shifted* rows ``x - shift``: HSIC is translation invariant, and raw sums
of data with ``|mean| >> std`` lose ``~4 log10(|mean|/std)`` digits. The default
``shift="first_batch"`` takes the mean of rank 0's first batch, broadcast to every
rank at the first ``update`` (every rank must call ``update``; the shift then stays
through ``reset``, as it changes no value). A fixed ``(shift_x, shift_y)`` may be given.

:class:`LayerCKA` keeps per-layer self states and one ``X^T Y`` per layer pair, so a
``La x Lb`` CKA matrix streams in one pass; above ``max_state_bytes`` (1 GiB) it
raises, pointing to ``mode="minibatch"`` (the batch-size-dependent mean of per-batch
HSIC_u of Nguyen et al. 2021) or mean-pooled layers.

Examples
--------
>>> import torch
>>> from latentalign.align import cka
>>> X = torch.randn(1000, 8, dtype=torch.float64); Y = X @ torch.randn(8, 4, dtype=torch.float64) + torch.randn(1000, 4)
>>> m = LinearCKA()
>>> for chunk in range(0, 1000, 128):
...     m.update(X[chunk:chunk + 128], Y[chunk:chunk + 128])
>>> bool(torch.isclose(m.compute(), cka(X, Y), rtol=0, atol=1e-12))
True
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.distributed as dist

from .._deprecate import renamed_kwargs
from .._extras import require
from .._validate import as_matrix, check_bool, check_choice, check_ints, check_nonnegative, check_scale
from ..moments import centered, cross_moments, hsic_from_moments, linear_hsic, self_hsic, self_moments
from ..train.distributed import is_distributed
from .stitching import Stitcher, ridge_map

Metric = require("torchmetrics", "streaming alignment (LinearCKA, LayerCKA)").Metric

__all__ = ["LinearCKA", "LayerCKA"]

GIB = 2**30


def _batch(Z, name: str, dim: int | None = None) -> torch.Tensor:
    Z = check_scale(as_matrix(Z, name).detach(), name)  # the moments square every entry
    if dim is not None and Z.shape[1] != dim:
        raise ValueError(f"{name}: expected {dim} features, got {Z.shape[1]}")
    return Z


def _first_batch_shift(blocks: list[torch.Tensor]) -> list[torch.Tensor]:
    """Column means of each block, rank 0's broadcast to every rank under torch.distributed."""
    means = torch.cat([b.mean(0) for b in blocks])
    if is_distributed():
        dist.broadcast(means, src=0)
    return list(torch.split(means, [b.shape[1] for b in blocks]))


def _check_shift(shift, count: int):
    if isinstance(shift, str):
        check_choice(shift, "shift", ("first_batch",))
        return None
    if not isinstance(shift, (tuple, list)) or len(shift) != count:
        raise ValueError(f"shift: expected 'first_batch' or a sequence of {count} vectors, got {type(shift).__name__}")
    return [as_matrix(torch.as_tensor(v).reshape(1, -1), "shift").reshape(-1) for v in shift]


class LinearCKA(Metric):
    """Exact streaming linear CKA (biased or unbiased) of paired batches ``update(X, Y)``.

    ``compute()`` equals ``align.cka(X_all, Y_all, unbiased=...)`` to ~1e-12 whatever the
    batching or the number of DDP ranks; ``hsic()`` gives the HSIC itself and
    ``stitcher(ridge)`` the ridge stitcher of :func:`latentalign.align.stitch` from the same states.

    Parameters
    ----------
    unbiased : bool, default False
        Stream the unbiased CKA (``n >= 4`` in total).
    shift : "first_batch" or sequence of two vectors, default "first_batch"
        Subtracted from every row before the sums: the first batch's column means (rank 0's
        under DDP), or given vectors ``(d1,)`` and ``(d2,)``. CKA does not depend on it;
        the float64 sums keep their digits when ``|mean| >> std``.
    **kwargs
        Passed to ``torchmetrics.Metric`` (e.g. ``sync_on_compute``).

    Examples
    --------
    >>> import torch
    >>> from latentalign.align import cka
    >>> X = torch.randn(100, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)); Y = X @ X.T[:4]
    >>> m = LinearCKA()
    >>> for i in range(0, 100, 25):
    ...     m.update(X[i:i + 25], Y[i:i + 25])
    >>> bool(torch.isclose(m.compute(), cka(X, Y)))
    True
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, unbiased: bool = False, shift="first_batch", **kwargs):
        super().__init__(**kwargs)
        self.unbiased = check_bool(unbiased, "unbiased")
        self._shift = _check_shift(shift, 2)
        names = ["n", "s_x", "s_y", "xtx", "yty", "xty"]
        if self.unbiased:
            names += ["k", "l", "k2", "l2", "kl", "xtk", "xtl", "ytk", "ytl"]
        for name in names:  # 0-d defaults broadcast to the right shape at the first update
            self.add_state(name, default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, X, Y) -> None:
        """Add a batch of paired rows to the streamed moments.

        Parameters
        ----------
        X : array-like of shape (b, d1)
            A batch of the first representation.
        Y : array-like of shape (b, d2)
            The same samples in the second representation.

        Returns
        -------
        None
        """
        dx = self.s_x.shape[0] if self.s_x.ndim else None
        dy = self.s_y.shape[0] if self.s_y.ndim else None
        X, Y = _batch(X, "X", dx), _batch(Y, "Y", dy)
        if X.shape[0] != Y.shape[0]:
            raise ValueError(f"Y: expected the same number of samples as X ({X.shape[0]}), got {Y.shape[0]}")
        if self._shift is None:
            self._shift = _first_batch_shift([X, Y])
        X, Y = X - self._shift[0].to(X), Y - self._shift[1].to(Y)
        mx, my = self_moments(X, self.unbiased), self_moments(Y, self.unbiased)
        mxy = cross_moments(X, Y, self.unbiased)
        self.n = self.n + X.shape[0]
        self.s_x, self.s_y = self.s_x + mx["s"], self.s_y + my["s"]
        self.xtx, self.yty, self.xty = self.xtx + mx["gram"], self.yty + my["gram"], self.xty + mxy["xty"]
        if self.unbiased:
            self.k, self.l = self.k + mx["k"], self.l + my["k"]
            self.k2, self.l2, self.kl = self.k2 + mx["k2"], self.l2 + my["k2"], self.kl + mxy["kl"]
            self.xtk, self.ytl = self.xtk + mx["zk"], self.ytl + my["zk"]
            self.xtl, self.ytk = self.xtl + mxy["xtl"], self.ytk + mxy["ytk"]

    def _hsic_terms(self):
        n = float(self.n)
        floor = 4 if self.unbiased else 2
        if n < floor:
            raise ValueError(f"X: needs at least {floor} samples in total before compute(), got {int(n)}")
        mx, my = {"s": self.s_x, "gram": self.xtx}, {"s": self.s_y, "gram": self.yty}
        extra = ()
        if self.unbiased:
            extra = (self.k, self.l, self.kl, self.xtl, self.ytk)
            mx.update(k=self.k, k2=self.k2, zk=self.xtk)
            my.update(k=self.l, k2=self.l2, zk=self.ytl)
        return (hsic_from_moments(n, self.s_x, self.s_y, self.xty, self.unbiased, *extra),
                self_hsic(n, mx, self.unbiased), self_hsic(n, my, self.unbiased))

    def compute(self) -> torch.Tensor:
        """Linear CKA of every row streamed so far (all ranks under DDP).

        Returns
        -------
        torch.Tensor
            0-d float64: ``align.cka`` of the concatenated batches (biased or unbiased).
        """
        xy, xx, yy = self._hsic_terms()
        for value, name in ((xx, "X"), (yy, "Y")):
            if not float(value) > 0:
                raise ValueError(f"{name}: self-HSIC is {float(value):.3g} <= 0 over the streamed data; CKA undefined")
        return xy / torch.sqrt(xx * yy)

    def hsic(self) -> torch.Tensor:
        """HSIC of the data streamed so far (synchronised across ranks like ``compute``)."""
        with self.sync_context(should_sync=self.sync_on_compute):
            return self._hsic_terms()[0]

    @renamed_kwargs(lam="ridge")
    def stitcher(self, ridge: float = 1e-3, direction: str = "1->2") -> Stitcher:
        """The ridge stitcher ``X -> Y`` (``"1->2"``) or ``Y -> X`` from the streamed moments."""
        ridge = check_nonnegative(ridge, "ridge")
        check_choice(direction, "direction", ("1->2", "2->1"))
        with self.sync_context(should_sync=self.sync_on_compute):
            n = float(self.n)
            if n < 2:
                raise ValueError(f"X: needs at least 2 samples before stitcher(), got {int(n)}")
            forward = direction == "1->2"
            s_in, s_out, g_in = (self.s_x, self.s_y, self.xtx) if forward else (self.s_y, self.s_x, self.yty)
            xty = self.xty if forward else self.xty.T
            C11 = (g_in - torch.outer(s_in, s_in) / n) / n
            C12 = (xty - torch.outer(s_in, s_out) / n) / n
            T, ridge_eff = ridge_map(C11, C12, ridge)
            sh_in, sh_out = (self._shift[0], self._shift[1]) if forward else (self._shift[1], self._shift[0])
            return Stitcher(T, sh_in + s_in / n, sh_out + s_out / n, ridge, ridge_eff)


class LayerCKA(Metric):
    """Streaming ``La x Lb`` linear CKA matrix between the layers of two models.

    ``update(acts_a, acts_b)`` takes one ``(batch, d)`` tensor per layer, in the order of
    ``dims_a`` / ``dims_b``. ``mode="exact"`` keeps the moment states of :class:`LinearCKA`
    per layer and per pair; ``mode="minibatch"`` keeps per-batch HSIC sums (every batch
    needs ``>= 4`` rows with ``unbiased``) and returns
    ``mean_b HSIC(a, b) / sqrt(mean_b HSIC(a, a) mean_b HSIC(b, b))``.
    ``unbiased=None`` means biased for ``exact`` and unbiased for ``minibatch``.

    Parameters
    ----------
    dims_a : sequence of int
        Feature widths of A's layers, in the order ``update`` receives them.
    dims_b : sequence of int
        Those of B's layers.
    unbiased : bool, optional
        Unbiased HSIC; ``None``: biased for ``exact``, unbiased for ``minibatch``.
    mode : {"exact", "minibatch"}, default "exact"
        Exact moment states, or the batch-averaged HSIC estimate.
    shift : "first_batch" or sequence of vectors, default "first_batch"
        Subtracted from every row first (see :class:`LinearCKA`); one vector per layer, A's then B's.
    max_state_bytes : int, default 1 GiB
        The exact states' memory limit (a ``ValueError`` above it).
    **kwargs
        Passed to ``torchmetrics.Metric``.

    Examples
    --------
    >>> import torch
    >>> A = [torch.randn(32, 3, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    >>> m = LayerCKA([3, 3], [3])
    >>> m.update(A, [A[0]])
    >>> m.compute().shape
    torch.Size([2, 1])
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, dims_a: Sequence[int], dims_b: Sequence[int], *, unbiased: bool | None = None,
                 mode: str = "exact", shift="first_batch", max_state_bytes: int = GIB, **kwargs):
        super().__init__(**kwargs)
        self.dims_a, self.dims_b = check_ints(dims_a, "dims_a"), check_ints(dims_b, "dims_b")
        self.mode = check_choice(mode, "mode", ("exact", "minibatch"))
        self.unbiased = (mode == "minibatch") if unbiased is None else check_bool(unbiased, "unbiased")
        La, Lb = len(self.dims_a), len(self.dims_b)
        self._shift = _check_shift(shift, La + Lb)
        f64 = {"dtype": torch.float64}
        if mode == "minibatch":
            for name, shape in (("hsic_ab", (La, Lb)), ("hsic_a", (La,)), ("hsic_b", (Lb,)), ("batches", ())):
                self.add_state(name, default=torch.zeros(shape, **f64), dist_reduce_fx="sum")
            return
        extra = 1 if self.unbiased else 0
        per_self = sum(d * d + d + extra * (d + 2) for d in self.dims_a + self.dims_b)
        per_pair = sum(a * b + extra * (a + b + 1) for a in self.dims_a for b in self.dims_b)
        need = 8 * (per_self + per_pair + 1)
        if need > max_state_bytes:
            raise ValueError(
                f"dims_a: exact layer x layer states need {need / GIB:.2f} GiB (> {max_state_bytes / GIB:.2f} GiB); "
                "record conv layers with reduce='mean', or use mode='minibatch' (batch-size-dependent estimate)"
            )
        self.add_state("n", default=torch.zeros((), **f64), dist_reduce_fx="sum")
        for side, dims in (("a", self.dims_a), ("b", self.dims_b)):
            for i, d in enumerate(dims):
                self.add_state(f"{side}{i}_s", default=torch.zeros(d, **f64), dist_reduce_fx="sum")
                self.add_state(f"{side}{i}_gram", default=torch.zeros(d, d, **f64), dist_reduce_fx="sum")
                if self.unbiased:
                    for name, shape in (("k", ()), ("k2", ()), ("zk", (d,))):
                        self.add_state(f"{side}{i}_{name}", default=torch.zeros(shape, **f64), dist_reduce_fx="sum")
        for i, a in enumerate(self.dims_a):
            for j, b in enumerate(self.dims_b):
                self.add_state(f"ab{i}_{j}_xty", default=torch.zeros(a, b, **f64), dist_reduce_fx="sum")
                if self.unbiased:
                    for name, shape in (("kl", ()), ("xtl", (a,)), ("ytk", (b,))):
                        self.add_state(f"ab{i}_{j}_{name}", default=torch.zeros(shape, **f64), dist_reduce_fx="sum")

    def _wrap_compute(self, compute):
        wrapped = super()._wrap_compute(compute)

        @functools.wraps(wrapped)
        def matrix(*args, **kwargs):  # torchmetrics squeezes a 1 x 1 result to 0-d; keep (La, Lb)
            return wrapped(*args, **kwargs).reshape(len(self.dims_a), len(self.dims_b))

        return matrix

    def _batches(self, acts_a, acts_b):
        out = []
        for acts, dims, side in ((acts_a, self.dims_a, "acts_a"), (acts_b, self.dims_b, "acts_b")):
            if isinstance(acts, torch.Tensor) or len(acts) != len(dims):
                raise ValueError(f"{side}: expected a sequence of {len(dims)} tensors (one per layer)")
            out.append([_batch(Z, f"{side}[{i}]", d) for i, (Z, d) in enumerate(zip(acts, dims))])
        rows = {Z.shape[0] for Z in out[0] + out[1]}
        if len(rows) != 1:
            raise ValueError(f"acts_b: every layer must hold the same batch of samples, got row counts {sorted(rows)}")
        return out

    def update(self, acts_a: Sequence, acts_b: Sequence) -> None:
        """Add one batch of every layer of A and B to the streamed moments.

        Parameters
        ----------
        acts_a : sequence of tensors, each of shape (b, d_i)
            The batch's activations of A's layers (``len(dims_a)`` tensors, same ``b`` rows).
        acts_b : sequence of tensors, each of shape (b, e_j)
            The same samples' activations of B's layers (``len(dims_b)`` tensors).

        Returns
        -------
        None
        """
        A, B = self._batches(acts_a, acts_b)
        if self.mode == "minibatch":
            self._update_minibatch(A, B)
            return
        if self._shift is None:
            self._shift = _first_batch_shift(A + B)
        A = [Z - s.to(Z) for Z, s in zip(A, self._shift[: len(A)])]
        B = [Z - s.to(Z) for Z, s in zip(B, self._shift[len(A):])]
        self.n = self.n + A[0].shape[0]
        for side, blocks in (("a", A), ("b", B)):
            for i, Z in enumerate(blocks):
                for key, value in self_moments(Z, self.unbiased).items():
                    name = f"{side}{i}_{key}"
                    setattr(self, name, getattr(self, name) + value)
        for i, X in enumerate(A):
            for j, Y in enumerate(B):
                for key, value in cross_moments(X, Y, self.unbiased).items():
                    name = f"ab{i}_{j}_{key}"
                    setattr(self, name, getattr(self, name) + value)

    def _update_minibatch(self, A, B) -> None:
        m, least = A[0].shape[0], 4 if self.unbiased else 2
        if m < least:
            raise ValueError(f"acts_a: mode='minibatch' needs batches of at least {least} rows, got {m}")
        A, B = [centered(Z) for Z in A], [centered(Z) for Z in B]
        h = lambda X, Y: linear_hsic(X, Y, self.unbiased)
        self.hsic_ab = self.hsic_ab + torch.stack([torch.stack([h(X, Y) for Y in B]) for X in A])
        self.hsic_a = self.hsic_a + torch.stack([h(X, X) for X in A])
        self.hsic_b = self.hsic_b + torch.stack([h(Y, Y) for Y in B])
        self.batches = self.batches + 1

    def _self_hsic(self, side: str, i: int, n: float) -> torch.Tensor:
        keys = ("s", "gram", "k", "k2", "zk") if self.unbiased else ("s", "gram")
        return self_hsic(n, {key: getattr(self, f"{side}{i}_{key}") for key in keys}, self.unbiased)

    def _cross_hsic(self, i: int, j: int, n: float) -> torch.Tensor:
        pair = lambda key: getattr(self, f"ab{i}_{j}_{key}")
        extra = (getattr(self, f"a{i}_k"), getattr(self, f"b{j}_k"), pair("kl"), pair("xtl"), pair("ytk")) \
            if self.unbiased else ()
        return hsic_from_moments(n, getattr(self, f"a{i}_s"), getattr(self, f"b{j}_s"), pair("xty"), self.unbiased,
                                 *extra)

    def compute(self) -> torch.Tensor:
        """Linear CKA of every layer pair over the streamed rows.

        Returns
        -------
        torch.Tensor of shape (len(dims_a), len(dims_b))
            Exact CKA of the concatenated batches, or with ``mode="minibatch"`` the batch-averaged estimate.
        """
        if self.mode == "minibatch":
            if float(self.batches) == 0:
                raise ValueError("acts_a: no batches were seen before compute()")
            xy, xx, yy = self.hsic_ab, self.hsic_a, self.hsic_b
        else:
            n = float(self.n)
            least = 4 if self.unbiased else 2
            if n < least:
                raise ValueError(f"acts_a: needs at least {least} samples before compute(), got {int(n)}")
            xx = torch.stack([self._self_hsic("a", i, n) for i in range(len(self.dims_a))])
            yy = torch.stack([self._self_hsic("b", j, n) for j in range(len(self.dims_b))])
            xy = torch.stack([torch.stack([self._cross_hsic(i, j, n) for j in range(len(self.dims_b))])
                              for i in range(len(self.dims_a))])
        for values, side in ((xx, "acts_a"), (yy, "acts_b")):
            if not bool((values > 0).all()):
                raise ValueError(f"{side}: a layer has self-HSIC <= 0 (constant activations?); CKA undefined")
        return xy / torch.sqrt(torch.outer(xx, yy))
