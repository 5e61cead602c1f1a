"""Datasets that carry sample ids, and loaders whose shuffling is reproducible per epoch.

``IndexedDataset`` returns ``(x, y, idx)``: ``idx`` is the sample's position in
the dataset, the id every recorder and LCC joins on. ``make_loader(shuffle=True)``
uses :class:`EpochSampler`, whose permutation depends only on ``(seed, epoch)``;
Lightning calls its ``set_epoch`` at every epoch start, so a run resumed from a
checkpoint sees exactly the batches of an uninterrupted run.

Examples
--------
>>> import numpy as np
>>> loader = make_loader(np.arange(12.0).reshape(6, 2), np.array([0, 1, 0, 1, 0, 1]), batch_size=4)
>>> x, y, idx = next(iter(loader))
>>> x.dtype, y.tolist(), idx.tolist()
(torch.float32, [0, 1, 0, 1], [0, 1, 2, 3])
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from .._validate import _to_tensor, as_labels, as_matrix, check_bool, check_int, check_seed
from ..models.batches import unpack_batch
from .seed import epoch_seed, torch_generator

__all__ = ["IndexedDataset", "EpochSampler", "make_loader", "NO_LABEL"]

NO_LABEL = -1
"""Label returned when a dataset has none (LCC treats negative labels as ignored)."""


def _as_inputs(X, name: str = "X") -> torch.Tensor:
    """``(n, ...)`` finite float32 inputs (2-D via ``as_matrix``; images/sequences kept shaped)."""
    t = _to_tensor(X, name)
    if t.ndim == 2:
        return as_matrix(t, name, dtype=torch.float32).detach()
    if t.ndim < 2:
        raise ValueError(f"{name}: expected an array (n_samples, n_features, ...), got shape {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {tuple(t.shape)}")
    t = t.detach().to(torch.float32)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}: contains non-finite values (NaN or Inf); clean or impute them first")
    return t


class IndexedDataset(Dataset):
    """A dataset whose items are ``(x, y, idx)``, ``idx`` being the sample's position.

    ``X`` is an array/tensor ``(n, ...)`` (stored as float32) with labels ``y``
    ``(n,)`` (int64; ``None`` gives :data:`NO_LABEL` = -1 for every sample), or any
    map-style torch ``Dataset`` whose items are ``(x, y)``, ``(x, y, ...)`` or ``x``
    (then ``y`` must be None and the wrapped labels are used).

    Parameters
    ----------
    X : array-like of shape (n, ...) or torch.utils.data.Dataset
        The inputs (stored as float32), or a map-style dataset.
    y : array-like of shape (n,), optional
        int64 labels; ``None`` gives :data:`NO_LABEL` for every sample (or the wrapped dataset's labels).

    Examples
    --------
    >>> ds = IndexedDataset([[0.0], [1.0]], [5, 6])
    >>> [int(t) for t in ds[1][1:]]
    [6, 1]
    """

    def __init__(self, X, y=None):
        if isinstance(X, Dataset) and not isinstance(X, torch.Tensor):
            if y is not None:
                raise ValueError("y: must be None when X is a Dataset (its items carry the labels)")
            try:
                n = len(X)
            except TypeError as exc:
                raise TypeError("X: a wrapped Dataset must be map-style (have __len__)") from exc
            self.dataset, self.X, self.y, self._n = X, None, None, n
            return
        self.dataset = None
        self.X = _as_inputs(X)
        self._n = int(self.X.shape[0])
        self.y = None if y is None else as_labels(y, "y", n_samples=self._n)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, torch.Tensor):
            i = int(i)
        if self.dataset is not None:
            item = self.dataset[i]
            if isinstance(item, (tuple, list)):
                x = item[0]
                y = item[1] if len(item) > 1 else NO_LABEL
            else:
                x, y = item, NO_LABEL
            y = torch.as_tensor(y, dtype=torch.long) if not isinstance(y, torch.Tensor) else y
            return x, y, torch.tensor(i, dtype=torch.long)
        y = self.y[i] if self.y is not None else torch.tensor(NO_LABEL, dtype=torch.long)
        return self.X[i], y, torch.tensor(i, dtype=torch.long)


class _WholeBatches(IndexedDataset):
    """:func:`make_loader`'s view of an array-backed :class:`IndexedDataset`: the loader takes
    each batch with one indexing (``__getitems__``) instead of ``batch_size`` item calls and a
    stack (about 50x less loading time; the batches are identical). Any other loader over it
    still gets correct batches: its collate sees a sequence of ``(x, y, idx)`` samples.
    """

    def __init__(self, base: IndexedDataset):
        self.dataset, self.X, self.y, self._n = None, base.X, base.y, base._n

    def __getitems__(self, indices) -> _BatchRows:
        idx = torch.as_tensor(indices, dtype=torch.long)
        y = self.y[idx] if self.y is not None else torch.full((idx.shape[0],), NO_LABEL, dtype=torch.long)
        return _BatchRows((self.X[idx], y, idx))


class _BatchRows(Sequence):
    """One batch fetched whole: :func:`_as_batch` returns ``.batch`` as is, and for any other
    collate it is the sequence of its ``(x, y, idx)`` rows.
    """

    def __init__(self, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor]):
        self.batch = batch

    def __len__(self) -> int:
        return int(self.batch[2].shape[0])

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return tuple(t[i] for t in self.batch)


def _as_batch(rows):
    """``collate_fn`` of :func:`make_loader`'s array-backed loaders: a fetched batch is already one."""
    return rows.batch if isinstance(rows, _BatchRows) else default_collate(rows)


class EpochSampler(Sampler[int]):
    """Indices ``0..n-1``, in order or shuffled by a permutation seeded with ``(seed, epoch)``.

    ``set_epoch(e)`` (called by Lightning at every epoch start, like
    ``DistributedSampler``) picks the permutation, so epoch ``e`` always gets the
    same order, whether or not training was interrupted and resumed. If
    ``set_epoch`` is never called, each new iteration advances the epoch by one.
    """

    def __init__(self, n: int, *, shuffle: bool = True, seed: int = 0):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n: expected a positive integer, got {n!r}")
        self.n, self.shuffle, self.seed = int(n), bool(shuffle), check_seed(seed)
        self.epoch = 0
        self._explicit = False
        self._iterated = False

    def set_epoch(self, epoch: int) -> None:
        """Fix the epoch whose permutation the next iteration uses."""
        self.epoch = int(epoch)
        self._explicit = True

    def permutation(self, epoch: int) -> torch.Tensor:
        """The sample order of ``epoch``: ``arange(n)``, or a permutation seeded by ``(seed, epoch)``."""
        if not self.shuffle:
            return torch.arange(self.n)
        return torch.randperm(self.n, generator=torch_generator(epoch_seed(self.seed, epoch)))

    def __iter__(self) -> Iterator[int]:
        if not self._explicit and self._iterated:
            self.epoch += 1
        self._explicit = False
        self._iterated = True
        return iter(self.permutation(self.epoch).tolist())

    def __len__(self) -> int:
        return self.n


def make_loader(
    X,
    y=None,
    *,
    batch_size: int = 128,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A ``DataLoader`` over ``IndexedDataset(X, y)`` yielding ``(x, y, idx)`` batches.

    Shuffling uses :class:`EpochSampler` (permutation of epoch ``e`` depends only on
    ``(seed, e)``); the loader also gets a seeded ``torch.Generator``, so iterating it
    never draws from the global torch RNG.
    """
    batch_size, num_workers = check_int(batch_size, "batch_size"), check_int(num_workers, "num_workers", minimum=0)
    shuffle, drop_last = check_bool(shuffle, "shuffle"), check_bool(drop_last, "drop_last")
    seed = check_seed(seed)
    ds = X if isinstance(X, IndexedDataset) and y is None else IndexedDataset(X, y)
    sampler = EpochSampler(len(ds), shuffle=shuffle, seed=seed)
    batched = ds.dataset is None  # array-backed: fetch whole batches
    return DataLoader(
        _WholeBatches(ds) if batched else ds,
        batch_size=int(batch_size),
        sampler=sampler,
        num_workers=int(num_workers),
        drop_last=bool(drop_last),
        generator=torch_generator(seed),
        persistent_workers=False,
        **({"collate_fn": _as_batch} if batched else {}),
    )


def split_batch(batch, *, require_ids: bool = False):
    """``(x, y or None, idx or None)`` from a batch: :func:`latentalign.models.batches.unpack_batch`
    without the mask (the training loops' view).

    >>> split_batch((torch.zeros(2, 3), torch.tensor([0, 1]), torch.tensor([4, 7])))[2].tolist()
    [4, 7]
    """
    x, y, idx, _ = unpack_batch(batch, require_ids=require_ids)
    return x, y, idx
