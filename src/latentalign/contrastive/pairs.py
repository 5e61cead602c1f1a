r"""Paired data sets for training and the study, by name (spec §7, §10b).

* ``mfeat:<view>,<view>``: two UCI Multiple Features views of the same digit,
  z-scored with train statistics; a seeded permutation gives 1600 train / 400 test.
* ``digits:captions``: digits images (pixels / 16) vs **templated** captions (not
  human-written) embedded by the bundled MiniLM; stratified 80/20 split
  (``random_state=seed``: 1437 / 360). Training pairs carry the six
  ``TRAIN_TEMPLATES`` as alternatives ``(n, 6, 384)`` (one drawn per step); test pairs
  and the zero-shot class prompts use the two ``HELDOUT_TEMPLATES``.
* ``gaussian:g43``: pairs from the reference Gaussian example (10000 train / 2000 test).

Examples
--------
>>> data = load_pair("mfeat:pix,zer")
>>> data.u_train.shape, data.v_train.shape, data.u_test.shape
((1600, 240), (1600, 47), (400, 240))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_seed
from ..data import (
    HELDOUT_TEMPLATES,
    MFEAT_VIEWS,
    TRAIN_TEMPLATES,
    class_captions,
    digits,
    mfeat,
)
from . import gaussian

__all__ = ["PairData", "load_pair", "PAIR_NAMES"]

PAIR_NAMES = ("mfeat:<view>,<view>", "digits:captions", "gaussian:g43")
MFEAT_TRAIN = 1600


@dataclass(frozen=True, eq=False)
class PairData:
    """Train/test pairs ``(u, v)`` with labels; ``class_prompts (C, T, d_v)`` for zero-shot, if any."""

    name: str
    u_train: np.ndarray
    v_train: np.ndarray
    y_train: np.ndarray
    u_test: np.ndarray
    v_test: np.ndarray
    y_test: np.ndarray
    description: str
    class_prompts: np.ndarray | None = None

    @property
    def dims(self) -> tuple[int, int]:
        """Input widths ``(d_u, d_v)``."""
        return self.u_train.shape[-1], self.v_train.shape[-1]


def load_pair(name: str, *, seed: int = 0) -> PairData:
    """Load a paired data set by name (see the module docstring); ``seed`` fixes the split."""
    if not isinstance(name, str):
        raise TypeError(f"pair: expected a name such as 'mfeat:pix,fou', got {type(name).__name__}")
    seed = check_seed(seed)
    kind, _, arg = name.partition(":")
    if kind == "mfeat":
        views = arg.split(",")
        if len(views) != 2 or any(v not in MFEAT_VIEWS for v in views) or views[0] == views[1]:
            raise ValueError(f"pair: expected mfeat:<view>,<view> with two different views of {list(MFEAT_VIEWS)}, "
                             f"got {name!r}")
        return _mfeat(views, seed)
    if name == "digits:captions":
        return _digits_captions(seed)
    if kind == "gaussian" and arg in gaussian.EXAMPLES:
        return _gaussian(arg, seed)
    raise ValueError(f"pair: unknown pair {name!r}; expected one of {', '.join(PAIR_NAMES)}")


def _zscore(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)


def _mfeat(views: list[str], seed: int) -> PairData:
    ds = mfeat(views)
    perm = np.random.default_rng(seed).permutation(ds.n_samples)
    tr, te = perm[:MFEAT_TRAIN], perm[MFEAT_TRAIN:]
    u_tr, u_te = _zscore(ds.views[views[0]][tr], ds.views[views[0]][te])
    v_tr, v_te = _zscore(ds.views[views[1]][tr], ds.views[views[1]][te])
    desc = (f"UCI Multiple Features, view {views[0]} vs view {views[1]}, z-scored on train; "
            f"permutation (seed {seed}) into {len(tr)} train / {len(te)} test. {ds.description}")
    return PairData(f"mfeat:{views[0]},{views[1]}", u_tr, v_tr, ds.y[tr], u_te, v_te, ds.y[te], desc)


def _digits_captions(seed: int) -> PairData:
    from sklearn.model_selection import train_test_split

    ds = digits()
    X_tr, X_te, y_tr, y_te = train_test_split(ds.X, ds.y, test_size=0.2, stratify=ds.y, random_state=seed)
    train_table, _ = class_captions(TRAIN_TEMPLATES)  # (10, 6, 384)
    heldout_table, _ = class_captions(HELDOUT_TEMPLATES)  # (10, 2, 384)
    desc = ("scikit-learn digits (pixels / 16) paired with TEMPLATED captions (not human-written), "
            f"embedded by the bundled all-MiniLM-L6-v2; {len(TRAIN_TEMPLATES)} training templates drawn per "
            f"step, {len(HELDOUT_TEMPLATES)} held-out templates for test pairs and zero-shot prompts; "
            f"stratified 80/20 split (random_state {seed}).")
    return PairData("digits:captions", X_tr, train_table[y_tr], y_tr, X_te, heldout_table[y_te], y_te, desc,
                    class_prompts=heldout_table)


def _gaussian(example: str, seed: int) -> PairData:
    cov = gaussian.make_example(example)
    u_tr, v_tr = gaussian.sample(cov, 10000, seed)
    u_te, v_te = gaussian.sample(cov, 2000, seed + 1 if seed < 2**32 - 1 else 0)
    f32 = lambda a: a.astype(np.float32)
    desc = f"Gaussian pairs of the reference example {example} (spec §5): 10000 train / 2000 test, seed {seed}."
    return PairData(f"gaussian:{example}", f32(u_tr), f32(v_tr), np.zeros(10000, np.int64), f32(u_te), f32(v_te),
                    np.zeros(2000, np.int64), desc)
