"""Output sets: several files that belong together, completed by a manifest written last.

A command that writes more than one file (a training run, a report) first calls
:func:`begin_set`, which deletes the folder's old manifest ``run.json`` (and the
set's old files it names), then writes its files atomically, then
:func:`write_manifest`: ``run.json`` lists every file with its size and SHA-256.
A folder without ``run.json`` is an incomplete set (a killed run, or a rerun
killed midway), and :func:`read_manifest` refuses it.

Examples
--------
>>> import tempfile, pathlib
>>> from latentalign._io import write_text
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> begin_set(out)
>>> write_text(out / "a.txt", "hello")
>>> write_manifest(out, ["a.txt"], {"seed": 0})["files"]["a.txt"]["sha256"][:12]
'2cf24dba5fb0'
>>> read_manifest(out, "run")["meta"]
{'seed': 0}
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._io import remove_stale_temps, write_json

MANIFEST = "run.json"
FORMAT, VERSION = "latentalign.output-set", 1


def begin_set(folder: str | os.PathLike, stale: Iterable[str] = ()) -> None:
    """Start (re)writing the set in ``folder``: delete its manifest first, then the old files
    named in ``stale`` and temporary files left by killed writers.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    for name in stale:
        (folder / name).unlink(missing_ok=True)
    remove_stale_temps(folder)


def write_manifest(folder: str | os.PathLike, files: Iterable[str], meta: dict[str, Any] | None = None) -> dict:
    """Write ``folder/run.json`` listing ``files`` (paths relative to ``folder``) with their sizes and
    SHA-256; call it after every file of the set is written. Returns the manifest.
    """
    folder = Path(folder)
    manifest = {"format": FORMAT, "version": VERSION,
                "files": {name: _describe(folder / name) for name in sorted(set(files))}, "meta": meta or {}}
    write_json(folder / MANIFEST, manifest)
    return manifest


def read_manifest(folder: str | os.PathLike, name: str) -> dict:
    """The manifest of the complete set in ``folder``; a ``ValueError`` starting with ``name`` when
    the manifest is missing or unreadable, or a listed file is missing or changed.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ValueError(f"{name}: {folder} is an incomplete output set (no {MANIFEST}): the run that wrote it "
                         "was interrupted or is still running; rerun it")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{name}: cannot read {path}: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{name}: {path} is not a latentalign output-set manifest")
    for rel, expected in manifest["files"].items():
        file = folder / rel
        if not file.is_file():
            raise ValueError(f"{name}: {file} is listed in {path} but missing")
        if _describe(file) != expected:
            raise ValueError(f"{name}: {file} changed after {path} was written (size or SHA-256 differ)")
    return manifest


def _describe(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}
