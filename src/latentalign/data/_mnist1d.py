"""MNIST-1D (Greydanus, 2020), generated offline by ``mnist1d.data.make_dataset``."""

from __future__ import annotations

import functools
import random

import numpy as np
import torch

from .._extras import require
from .._validate import check_int, check_seed
from ._dataset import Dataset, stratified_indices


@functools.lru_cache(maxsize=4)
def _generate(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Run the package's maker with its defaults (and ``seed``); restore global RNGs."""
    maker = require("mnist1d.data", "MNIST-1D")
    args = maker.get_dataset_args()
    args.seed = seed
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.random.get_rng_state()
    try:
        data = maker.make_dataset(args)  # calls random.seed / np.random.seed(args.seed)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.random.set_rng_state(torch_state)
    X = np.concatenate([data["x"], data["x_test"]]).astype(np.float32)
    y = np.concatenate([data["y"], data["y_test"]]).astype(np.int64)
    return X, y, int(len(data["y"]))


def mnist1d(n: int | None = None, seed: int = 42) -> Dataset:
    """MNIST-1D: 5000 length-40 sequences of 10 classes, 4000/1000 train/test.

    Generated (not downloaded) by ``mnist1d.data.make_dataset`` with the
    package defaults; ``seed`` is its ``args.seed`` (42 is the published
    data set). Rows are the maker's train rows then its test rows, and
    ``split`` holds their indices. ``n`` optionally keeps a stratified random
    subset of ``n`` rows (seeded by ``seed``): ``round(0.8 n)`` from train and
    the rest from test, so ``split`` stays a train/test split of the subset.

    The maker reseeds Python's and numpy's global RNGs; this function saves
    and restores them (and torch's), so calling it leaves the caller's
    randomness untouched. The generated set is cached in-process and each
    call returns fresh arrays.

    Examples
    --------
    >>> ds = mnist1d()
    >>> ds.X.shape, len(ds.split["train"]), len(ds.split["test"])
    ((5000, 40), 4000, 1000)
    """
    seed = check_seed(seed)
    X, y, n_train = _generate(seed)
    total = X.shape[0]
    train = np.arange(n_train, dtype=np.int64)
    test = np.arange(n_train, total, dtype=np.int64)
    description = (
        f"MNIST-1D (Greydanus 2020) from mnist1d.make_dataset defaults, seed {seed}: "
        "length-40 1-D signals of 10 digit templates with padding, shear, translation and noise; "
        "standardised by the maker."
    )
    if n is None:
        return Dataset("mnist1d", X.copy(), y.copy(), description, split={"train": train, "test": test})
    n = check_int(n, "n", minimum=2)
    if n > total:
        raise ValueError(f"n: must be <= {total} (the data set size), got {n}")
    k_train = min(max(int(round(n * n_train / total)), 1), n - 1)
    rng = np.random.default_rng(seed)
    pick_train = train[stratified_indices(y[train], k_train, rng)]
    pick_test = test[stratified_indices(y[test], n - k_train, rng)]
    rows = np.concatenate([pick_train, pick_test])
    return Dataset(
        "mnist1d",
        X[rows],
        y[rows],
        description + f" Stratified subset of {n} rows (seed {seed}).",
        split={"train": np.arange(k_train), "test": np.arange(k_train, n)},
    )
