"""Save a fitted :class:`KernelSimilarityMatching` to ``.pt`` and load it back safely.

The file holds only tensors and plain values (``{"format", "version", "params",
"state"}``), written atomically with ``torch.save`` and read with
``torch.load(weights_only=True)``: loading never unpickles arbitrary objects.
The online network's in-progress state (for further ``partial_fit`` calls) is
not saved; everything ``transform`` / ``inverse_transform`` / ``sample`` need is.

The example is :func:`load_model`'s.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .._io import check_output, save_torch
from .estimator import KernelSimilarityMatching
from .objective import OLD_KERNELS

FORMAT, VERSION = "latentalign.ksm", 1
OLD_PARAMS = {"l2_penalty": "latent_l2"}  # parameter names of files saved before the glossary


def save_model(estimator: KernelSimilarityMatching, path: str | os.PathLike) -> None:
    """Write a fitted estimator's parameters and fitted attributes to ``path`` (``.pt``) atomically.

    Parameters
    ----------
    estimator : KernelSimilarityMatching
        A fitted estimator.
    path : str or os.PathLike
        The ``.pt`` file to write (tensors and plain values only).

    Returns
    -------
    None

    Examples
    --------
    :func:`load_model`'s example writes a model and reads it back.
    """
    if not isinstance(estimator, KernelSimilarityMatching):
        raise TypeError(f"estimator: expected a KernelSimilarityMatching, got {type(estimator).__name__}")
    check_is_fitted(estimator)
    path = check_output(_pt_path(path, "path"), "path")
    params = {k: _pack(v) for k, v in estimator.get_params().items()}
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None  # a RandomState instance has no plain-value form
    state = {k: _pack(v) for k, v in vars(estimator).items() if k.endswith("_") and not k.startswith("_")}
    save_torch(path, {"format": FORMAT, "version": VERSION, "params": params, "state": state})


def load_model(path: str | os.PathLike) -> KernelSimilarityMatching:
    """Read an estimator written by :func:`save_model` (``weights_only`` loading).

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save_model` (this version or an earlier one).

    Returns
    -------
    KernelSimilarityMatching
        The fitted estimator, ready for ``transform`` / ``inverse_transform`` / ``sample``.

    Examples
    --------
    >>> import tempfile, pathlib, warnings
    >>> from latentalign.data.synthetic import ring
    >>> X = ring(n=50, seed=0).X
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     est = KernelSimilarityMatching(max_iter=50, random_state=0).fit(X)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.pt"
    >>> save_model(est, path)
    >>> bool((load_model(path).transform(X[:3]) == est.transform(X[:3])).all())
    True
    """
    path = _pt_path(path, "model")
    if not path.is_file():
        raise ValueError(f"model: file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise ValueError(f"model: cannot read {path} as a saved KSM model: {err}".splitlines()[0]) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"model: {path} is not a latentalign KSM model")
    if payload.get("version") != VERSION:
        raise ValueError(f"model: {path} has format version {payload.get('version')}, expected {VERSION}")
    params = {OLD_PARAMS.get(k, k): _unpack(v) for k, v in payload["params"].items()}
    params["kernel"] = OLD_KERNELS.get(params.get("kernel"), params.get("kernel"))  # files saved before the glossary
    estimator = KernelSimilarityMatching(**params)
    for key, value in payload["state"].items():
        setattr(estimator, key, _unpack(value))
    return estimator


def _pt_path(path, name: str) -> Path:
    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"{name}: expected a .pt file, got {path}")
    return path


def _pack(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _unpack(value):
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, dict):
        return {k: _unpack(v) for k, v in value.items()}
    return value
