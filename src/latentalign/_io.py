r"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or Ctrl-C mid-write leaves the previous file intact, never a half file.
The file gets the mode an ordinary ``open(path, "w")`` would give it (``0o666``
minus the umask), so a group-readable umask gives group-readable outputs. The
temporary file is ``.<name>.<pid>.<random>.latentalign-tmp``: it is removed on any
exception, and one left by a killed process (its pid no longer alive) is removed
by the next write into the same folder.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "out.json"
>>> write_json(p, {"cka": 0.5})
>>> p.read_text()
'{\n  "cka": 0.5\n}\n'
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ._extras import require

TMP_SUFFIX = ".latentalign-tmp"
FAULT_ENV = "LATENTALIGN_FAULT_AT"  # tests only: SIGKILL this process before its n-th rename
_renames = 0


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    Whatever writes to the yielded path may truncate it or replace it; the result gets
    the umask's mode (fixed from a file created with ``0o666``) before the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    tmp, mode = _create_temp(path)
    try:
        yield tmp
        os.chmod(tmp, mode)
        _fault_point()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _create_temp(path: Path) -> tuple[Path, int]:
    """A new empty file beside ``path``, created ``O_EXCL`` with mode ``0o666`` (the kernel applies
    the umask, which is read from the file: no process-wide ``os.umask`` call, safe in threads).
    """
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        try:
            return tmp, os.fstat(fd).st_mode & 0o777
        finally:
            os.close(fd)


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove this writer's temporary files in ``folder`` whose writing process is gone; return them."""
    removed = []
    try:
        candidates = [p for p in Path(folder).iterdir() if p.name.endswith(TMP_SUFFIX)]
    except FileNotFoundError:
        return removed
    for p in candidates:
        pid = p.name[: -len(TMP_SUFFIX)].split(".")[-2]
        if pid.isdigit() and not _alive(int(pid)):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _fault_point() -> None:
    """Fault injection for the crash tests: with ``LATENTALIGN_FAULT_AT=n`` in the environment,
    the process kills itself (SIGKILL, no clean-up) just before its n-th rename.
    """
    global _renames
    at = os.environ.get(FAULT_ENV)
    if at:
        _renames += 1
        if _renames == int(at):
            os.kill(os.getpid(), signal.SIGKILL)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically; numpy/torch scalars and arrays become lists."""
    write_text(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def save_array(path: str | os.PathLike, array=None, /, **arrays) -> None:
    """Write one array as ``.npy`` (``save_array(p, a)``) or named arrays as compressed ``.npz``
    (``save_array(p, Z=a, y=b)``) atomically.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        if array is not None:
            np.save(fh, np.asarray(array), allow_pickle=False)
        else:
            np.savez_compressed(fh, **arrays)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save(obj)`` to ``path`` atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG atomically and close it."""
    plt = require("matplotlib.pyplot", "figures")
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
            f"{name}: unsupported file type {path.suffix or '(none)'!r} for {path}; "
            f"expected one of {', '.join(ARRAY_SUFFIXES)}"
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
    except Exception as err:  # noqa: BLE001 - zip, pickle, torch and numpy errors of a truncated or garbage file
        if str(err).startswith(f"{name}:"):
            raise
        raise ValueError(f"{name}: cannot read {path} as {path.suffix}: {type(err).__name__}: {err}".splitlines()[0]
                         ) from err


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


def check_output(path: str | os.PathLike, name: str, *, folder: bool = False, suffix: str | None = None) -> Path:
    """Check, before any work, that ``path`` can be written: a file path that is not a folder (or with
    ``folder=True`` a folder path that is not a file), with ``suffix`` if given, whose nearest existing
    parent is a folder this process can create files in. A ``ValueError`` starting with ``name`` says
    which check failed. Returns ``path`` as a ``Path``.

    >>> d = Path(tempfile.mkdtemp())
    >>> check_output(d / "new" / "run", "out", folder=True) == d / "new" / "run"
    True
    >>> check_output(d, "out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: out: ... is a folder; give a file path
    """
    path = Path(path)
    if suffix is not None and path.suffix != suffix:
        raise ValueError(f"{name}: expected a {suffix} path, got {path}")
    if folder and path.exists() and not path.is_dir():
        raise ValueError(f"{name}: {path} exists and is not a folder")
    if not folder and path.is_dir():
        raise ValueError(f"{name}: {path} is a folder; give a file path")
    parent = path if folder else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{name}: cannot create {path}: {parent} is a file, not a folder")
    try:  # os.access says yes to root on a read-only file system: create a file to know
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".latentalign-probe-")
    except OSError as err:
        raise ValueError(f"{name}: cannot write in {parent}: {err.strerror or err}") from None
    os.close(fd)
    os.unlink(probe)
    return path
