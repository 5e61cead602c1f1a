"""scikit-learn's bundled 8x8 handwritten digits (offline, no download)."""

from __future__ import annotations

import functools

import numpy as np

from ._dataset import Dataset

_DESCRIPTION = (
    "scikit-learn's bundled optical recognition of handwritten digits (UCI, 1797 8x8 "
    "images, classes 0-9, Alpaydin & Kaynak); pixel counts 0..16 scaled by /16 to [0, 1]."
)


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def digits() -> Dataset:
    """The 1797 8x8 digits of ``sklearn.datasets.load_digits``, ``X`` in [0, 1].

    ``X`` is float32 ``(1797, 64)`` (pixel counts /16), ``y`` int64 in 0..9,
    ``image_shape=(8, 8)``. The source defines no split (``split=None``).
    Each call returns fresh arrays.

    Examples
    --------
    >>> ds = digits()
    >>> ds.X.shape, ds.image_shape, float(ds.X.max())
    ((1797, 64), (8, 8), 1.0)
    """
    X, y = _load()
    return Dataset("digits", X.copy(), y.copy(), _DESCRIPTION, image_shape=(8, 8))
