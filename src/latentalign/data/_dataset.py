"""The :class:`Dataset` container every loader and generator returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled data set: ``X`` float32 ``(n, d)``, ``y`` int64 ``(n,)``.

    Attributes
    ----------
    name : str
        Short identifier (``"digits"``, ``"mfeat"``, ``"ring"``...).
    X : numpy.ndarray of shape (n_samples, n_features)
        float32 inputs.
    y : numpy.ndarray of shape (n_samples,)
        int64 class labels, or zeros/bins where documented.
    description : str
        One paragraph: source, licence, preprocessing.
    views : dict of numpy.ndarray, optional
        Arrays with ``n_samples`` rows each: paired views (mfeat, Gaussian pairs) or
        per-sample side information (true latent coordinates of a manifold, clean
        labels of a noisy mixture).
    image_shape : tuple of int, optional
        The shape each row of ``X`` reshapes to (``(8, 8)`` for digits).
    split : dict of numpy.ndarray, optional
        int64 index arrays (``"train"``, ``"test"``) where the source defines a split.

    The constructor converts ``X`` and ``y`` to float32/int64 and checks that
    every array agrees on ``n_samples``; a mismatch raises ``ValueError`` naming
    the field. ``eq`` is off (arrays do not compare to a single bool).

    Examples
    --------
    >>> import numpy as np
    >>> ds = Dataset("toy", np.zeros((4, 2)), np.array([0, 1, 0, 1]), "four points",
    ...              split={"train": np.array([0, 1, 2]), "test": np.array([3])})
    >>> ds.X.dtype, ds.y.dtype, ds.n_samples, ds.n_features, ds.n_classes
    (dtype('float32'), dtype('int64'), 4, 2, 2)
    >>> ds.subset(ds.split["test"]).X.shape
    (1, 2)
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    description: str
    views: dict[str, np.ndarray] | None = None
    image_shape: tuple | None = None
    split: dict[str, np.ndarray] | None = field(default=None)

    def __post_init__(self) -> None:
        X = np.ascontiguousarray(np.asarray(self.X, dtype=np.float32))
        if X.ndim != 2:
            raise ValueError(f"X: expected a 2-D array (n_samples, n_features), got shape {X.shape}")
        n = X.shape[0]
        y = np.asarray(self.y)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"y: expected shape ({n},), got {y.shape}")
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                raise ValueError("y: expected integer labels")
        y = np.ascontiguousarray(y.astype(np.int64))
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        if self.views is not None:
            views = {}
            for key, arr in self.views.items():
                arr = np.asarray(arr)
                if arr.ndim == 0 or arr.shape[0] != n:
                    raise ValueError(f"views: view {key!r} has shape {arr.shape}, expected {n} rows")
                views[str(key)] = arr
            object.__setattr__(self, "views", views)
        if self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if int(np.prod(shape)) != X.shape[1]:
                raise ValueError(
                    f"image_shape: {shape} has {int(np.prod(shape))} pixels, X has {X.shape[1]} features"
                )
            object.__setattr__(self, "image_shape", shape)
        if self.split is not None:
            split = {}
            for key, idx in self.split.items():
                idx = np.asarray(idx)
                if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
                    raise ValueError(f"split: {key!r} must be a 1-D integer index array")
                idx = idx.astype(np.int64)
                if idx.size and (idx.min() < 0 or idx.max() >= n):
                    raise ValueError(f"split: {key!r} has indices outside [0, {n})")
                split[str(key)] = idx
            object.__setattr__(self, "split", split)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of distinct labels in ``y``."""
        return int(np.unique(self.y).size)

    def __len__(self) -> int:
        return self.n_samples

    def subset(self, indices, name: str | None = None) -> Dataset:
        """Rows ``indices`` (a 1-D integer array) of every array; ``split`` is dropped."""
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise ValueError("indices: expected a 1-D integer index array")
        if idx.size and (idx.min() < -self.n_samples or idx.max() >= self.n_samples):
            raise ValueError(f"indices: out of range for {self.n_samples} samples")
        views = None if self.views is None else {k: v[idx] for k, v in self.views.items()}
        return Dataset(
            name=self.name if name is None else name,
            X=self.X[idx],
            y=self.y[idx],
            description=self.description,
            views=views,
            image_shape=self.image_shape,
            split=None,
        )

    def __repr__(self) -> str:
        extra = ""
        if self.views:
            extra += ", views=" + "{" + ", ".join(f"{k}: {v.shape}" for k, v in self.views.items()) + "}"
        if self.image_shape is not None:
            extra += f", image_shape={self.image_shape}"
        if self.split:
            extra += ", split=" + "{" + ", ".join(f"{k}: {len(v)}" for k, v in self.split.items()) + "}"
        return f"Dataset(name={self.name!r}, X={self.X.shape}, y={self.y.shape}{extra})"


def stratified_indices(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of ``k`` rows of ``y`` drawn without replacement, class
    proportions kept (largest-remainder rounding).
    """
    y = np.asarray(y)
    if k >= y.size:
        return np.arange(y.size, dtype=np.int64)
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * k / y.size
    take = np.floor(quota).astype(np.int64)
    short = k - int(take.sum())
    if short:
        order = np.lexsort((rng.random(classes.size), -(quota - take)))
        take[order[:short]] += 1
    chosen = []
    for c, t in zip(classes, take):
        members = np.flatnonzero(y == c)
        chosen.append(rng.choice(members, size=int(t), replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)
