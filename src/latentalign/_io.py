"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or Ctrl-C mid-write leaves the previous file intact, never a half file.

Example
-------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "out.json"
>>> write_json(p, {"cka": 0.5})
>>> p.read_text()
'{\\n  "cka": 0.5\\n}\\n'
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically; numpy/torch scalars and arrays become lists."""
    write_text(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _jsonable(obj: Any):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    try:
        import torch

        if isinstance(obj, torch.Tensor):
            return obj.detach().cpu().tolist()
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


ARRAY_SUFFIXES = (".npy", ".npz", ".pt")


def load_array(path: str | os.PathLike, name: str, *, key: str | None = None) -> np.ndarray:
    """Load one array from ``.npy``, ``.npz`` (``key`` or its only array) or ``.pt`` (a tensor,
    or ``key`` / the only tensor of a dict), without unpickling arbitrary objects.

    ``path`` may name the key itself, as ``"views.npz:pix"`` or ``"feats.pt:layer3"``.
    """
    path, key = _split_key(str(path), key)
    path = Path(path)
    if path.suffix not in ARRAY_SUFFIXES:
        raise ValueError(
            f"{name}: unsupported file type {path.suffix or '(none)'!r} for {path}; expected one of {', '.join(ARRAY_SUFFIXES)}"
        )
    if not path.is_file():
        raise ValueError(f"{name}: file not found: {path}")
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return _pick(dict(archive), key, name, path)
        import torch

        obj = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(obj, dict):
            obj = _pick(obj, key, name, path)
        if not isinstance(obj, torch.Tensor):
            raise ValueError(f"{name}: {path} holds a {type(obj).__name__}, expected a tensor")
        return obj.detach().numpy()
    except (OSError, EOFError, RuntimeError, ValueError) as err:
        if str(err).startswith(f"{name}:"):
            raise
        raise ValueError(f"{name}: cannot read {path} as {path.suffix}: {err}".splitlines()[0]) from err


def _split_key(spec: str, key: str | None) -> tuple[str, str | None]:
    for suffix in (".npz", ".pt"):
        if key is None and suffix + ":" in spec:
            head, key = spec.rsplit(suffix + ":", 1)
            return head + suffix, key
    return spec, key


def _pick(arrays: dict, key: str | None, name: str, path: Path):
    if key is not None:
        if key not in arrays:
            raise ValueError(f"{name}: no array {key!r} in {path}; it has {', '.join(arrays)}")
        return arrays[key]
    if len(arrays) != 1:
        raise ValueError(f"{name}: {path} holds {len(arrays)} arrays ({', '.join(arrays)}); choose one with a key")
    return next(iter(arrays.values()))
