"""The atomic writer: umask modes, no temporary file left behind, stale temporaries cleaned."""

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from latentalign import _io
from latentalign._io import TMP_SUFFIX, atomic_path, remove_stale_temps, save_array, save_torch, write_text


@pytest.fixture()
def umask():
    """Set the process umask for one test, then put the old one back."""
    saved = []

    def set_(mask):
        saved.append(os.umask(mask))

    yield set_
    if saved:
        os.umask(saved[0])


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_umask_mode_like_an_ordinary_write(tmp_path, umask, mask, mode):
    umask(mask)
    write_text(tmp_path / "a.txt", "x")
    save_array(tmp_path / "b.npz", z=np.zeros(3))
    save_torch(tmp_path / "c.pt", {"w": 1})
    with open(tmp_path / "plain.txt", "w") as fh:  # the reference: what open() gives
        fh.write("x")
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == mode
    for name in ("a.txt", "b.npz", "c.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_a_writer_that_replaces_the_temporary_file_still_gets_the_umask_mode(tmp_path, umask):
    umask(0o022)
    with atomic_path(tmp_path / "out.bin") as tmp:
        other = tmp_path / "private"
        other.write_bytes(b"data")
        os.chmod(other, 0o600)
        os.replace(other, tmp)  # as fsspec's transaction does
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o644


def test_an_exception_removes_the_temporary_file_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_temporary_names_say_whose_they_are(tmp_path):
    with atomic_path(tmp_path / "out.txt") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(f".out.txt.{os.getpid()}.") and tmp.name.endswith(TMP_SUFFIX)


def test_stale_temporaries_of_dead_processes_are_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / f".model.pt.{dead.stdout.strip()}.0badc0de{TMP_SUFFIX}"
    live = tmp_path / f".other.{os.getpid()}.12345678{TMP_SUFFIX}"  # a writer still running: kept
    foreign = tmp_path / ".notes.tmp"  # not ours: kept
    for p in (stale, live, foreign):
        p.write_bytes(b"x")
    write_text(tmp_path / "new.txt", "x")
    assert not stale.exists() and live.exists() and foreign.exists()
    assert remove_stale_temps(tmp_path / "missing") == []


def test_the_fault_hook_is_off_unless_its_variable_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv(_io.FAULT_ENV, raising=False)
    write_text(tmp_path / "a.txt", "x")  # would not return if the hook fired
    code = ("import sys; from latentalign._io import write_text\n"
            "write_text(sys.argv[1] + '/a.txt', 'a'); write_text(sys.argv[1] + '/b.txt', 'b')")
    env = {**os.environ, _io.FAULT_ENV: "2"}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env)
    assert proc.returncode == -9  # SIGKILL before the second rename
    assert (tmp_path / "a.txt").read_text() == "a" and not (tmp_path / "b.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(TMP_SUFFIX)]  # a kill leaves its temp...
    write_text(tmp_path / "c.txt", "c")
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(TMP_SUFFIX)]  # ...the next write removes it
