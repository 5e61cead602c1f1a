"""Output sets: the manifest is written last, a set without it (or with a changed file) is refused."""

import json

import pytest

from latentalign._io import write_text
from latentalign._manifest import MANIFEST, begin_set, read_manifest, write_manifest


def _complete_set(folder):
    begin_set(folder)
    write_text(folder / "a.txt", "alpha")
    write_text(folder / "sub" / "b.txt", "beta")
    return write_manifest(folder, ["a.txt", "sub/b.txt"], {"seed": 3})


def test_manifest_lists_sizes_and_sha256(tmp_path):
    manifest = _complete_set(tmp_path)
    # sha256("alpha"), by hand: hashlib is the reference implementation
    assert manifest["files"]["a.txt"] == {
        "bytes": 5, "sha256": "8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8"}
    assert json.loads((tmp_path / MANIFEST).read_text()) == manifest
    assert read_manifest(tmp_path, "run")["meta"] == {"seed": 3}


def test_a_set_without_manifest_is_refused_naming_the_argument(tmp_path):
    write_text(tmp_path / "a.txt", "alpha")
    with pytest.raises(ValueError, match=r"^model: .* is an incomplete output set \(no run.json\)"):
        read_manifest(tmp_path, "model")


def test_a_rerun_deletes_the_old_manifest_and_stale_files_first(tmp_path):
    _complete_set(tmp_path)
    begin_set(tmp_path, stale=["a.txt"])
    assert not (tmp_path / MANIFEST).exists() and not (tmp_path / "a.txt").exists()
    assert (tmp_path / "sub" / "b.txt").exists()
    with pytest.raises(ValueError, match="incomplete output set"):
        read_manifest(tmp_path, "run")


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "a.txt").unlink(), "a.txt is listed in .* but missing"),
    (lambda f: (f / "a.txt").write_text("alphA"), "a.txt changed after"),
    (lambda f: (f / MANIFEST).write_text("{not json"), "cannot read"),
    (lambda f: (f / MANIFEST).write_text("{}"), "not a latentalign output-set manifest"),
])
def test_a_damaged_set_is_refused(tmp_path, damage, message):
    _complete_set(tmp_path)
    damage(tmp_path)
    with pytest.raises(ValueError, match=f"^run: .*{message}"):
        read_manifest(tmp_path, "run")
